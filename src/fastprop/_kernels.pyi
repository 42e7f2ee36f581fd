"""Type stub of the compiled extension fastprop._kernels (_kernels.pyx and _trainer.pxi).

Only what Python code calls is declared. The kernels take float32 or float64
ndarrays of one dtype per call (checked at run time); the stub says ``_FloatArray``.
"""
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict

import numpy as np
from numpy.typing import NDArray

_FloatArray = NDArray[np.float32] | NDArray[np.float64]
_IntArray = NDArray[np.int64]
_Decision = tuple[str, bool]

MAX_THREADS: Final[int]
NEVER: Final[int]
CPU_PATHS: Final[tuple[str, str, str]]
PLANS: Final[tuple[str, str, str]]
ROUTES: Final[tuple[str, str, str]]
PRODUCT_KINDS: Final[tuple[str, str, str]]
ACTIVATIONS: Final[tuple[str, ...]]
LOSS_KINDS: Final[tuple[str, str, str]]
OPTIMIZER_KINDS: Final[tuple[str, str]]
SMALL_STEP_MAX_WIDTH: Final[int]
BUILD_FLAGS: Final[str]
THRESHOLD_FIELDS: Final[tuple[str, ...]]

class _Capabilities(TypedDict):
    avx2_fma: bool
    avx512: bool
    vector_kernels_compiled: bool
    threads_compiled: bool
    best_path: str

class _PathAndThreads(TypedDict):
    cpu: str
    threads: int

def cpu_capabilities() -> _Capabilities: ...
def default_config() -> dict[str, Any]: ...
def read_config() -> dict[str, Any]: ...
def plan_in_use() -> str: ...
def path_and_threads() -> _PathAndThreads: ...
def write_config(values: Mapping[str, Any]) -> None: ...
def helper_task_count() -> int: ...
def activate(z: _FloatArray, out: _FloatArray, activation: str) -> None: ...
def softmax_rows(Z: _FloatArray) -> None: ...
def sigmoid(z: _FloatArray, out: _FloatArray) -> None: ...
def all_finite(values: _FloatArray) -> bool: ...
def dense_forward(
    A_in: _FloatArray, W: _FloatArray, b: _FloatArray, A_out: _FloatArray, activation: str = ...
) -> None: ...

dense_sigmoid_forward = dense_forward

def output_delta(
    A: _FloatArray,
    Y: _FloatArray | None,
    delta: _FloatArray,
    loss: str = ...,
    output: str = ...,
    labels: _IntArray | None = ...,
) -> float: ...
def hidden_delta(
    delta_next: _FloatArray, W_next: _FloatArray, A: _FloatArray, delta: _FloatArray, activation: str = ...
) -> None: ...
def weight_gradient(delta: _FloatArray, A_prev: _FloatArray, grad_W: _FloatArray, grad_b: _FloatArray) -> None: ...
def fused_gradient_step(delta: _FloatArray, A_prev: _FloatArray, W: _FloatArray, b: _FloatArray, lr: float) -> None: ...
def sgd_update(param: _FloatArray, grad: _FloatArray, lr: float) -> None: ...
def network_forward(
    sizes: Sequence[int],
    weights: Sequence[_FloatArray],
    biases: Sequence[_FloatArray],
    X: _FloatArray,
    activations: Sequence[_FloatArray],
    functions: Sequence[str] | None = ...,
    output_z: bool = ...,
) -> None: ...
def vector_kernels_fit(n_in: int, n_out: int, kind: str, is_float32: bool) -> bool: ...

class Trainer:
    @property
    def loss(self) -> str: ...
    @property
    def n_samples(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def mean_loss(self) -> bool: ...
    @property
    def shuffled(self) -> bool: ...
    @property
    def small_steps(self) -> int: ...
    small_steps_allowed: bool
    def __init__(
        self,
        sizes: Sequence[int],
        weights: Sequence[_FloatArray],
        biases: Sequence[_FloatArray],
        X: _FloatArray,
        Y: _FloatArray | None,
        batch_size: int,
        mean_loss: bool,
        activations: Sequence[_FloatArray],
        deltas: Sequence[_FloatArray],
        batch_X: _FloatArray | None = ...,
        batch_Y: _FloatArray | None = ...,
        *,
        functions: Sequence[str] | None = ...,
        loss: str = ...,
        labels: _IntArray | None = ...,
        batch_labels: _IntArray | None = ...,
    ) -> None: ...
    def set_optimizer(
        self,
        settings: Mapping[str, Any] | None,
        gradients: Sequence[_FloatArray] | None = ...,
        first: Sequence[_FloatArray] | None = ...,
        second: Sequence[_FloatArray] | None = ...,
        steps: _IntArray | None = ...,
    ) -> None: ...
    def set_interruption(
        self,
        arrays: Sequence[NDArray[Any]] | None,
        piece_multiply_adds: int = ...,
        min_batch_rows: int = ...,
        min_weight_rows: int = ...,
    ) -> None: ...
    def set_plan(self, decisions: Sequence[_Decision] | None) -> None: ...
    def set_split(self, parts: int, partials: _FloatArray | None = ...) -> None: ...
    @property
    def split_parts(self) -> int: ...
    @property
    def piece_multiply_adds(self) -> int: ...
    def time_product(
        self, layer: int, kind: str, decision: _Decision, lr: float, budget_seconds: float
    ) -> float: ...
    def run(
        self,
        orders: _IntArray | None,
        start: int,
        stop: int,
        lr: float,
        epoch_losses: NDArray[np.float64],
    ) -> None: ...
    def stop_threads(self) -> None: ...

def train_epochs(
    sizes: Sequence[int],
    weights: Sequence[_FloatArray],
    biases: Sequence[_FloatArray],
    X: _FloatArray,
    Y: _FloatArray,
    orders: _IntArray | None,
    start: int,
    stop: int,
    batch_size: int,
    lr: float,
    mean_loss: bool,
    activations: Sequence[_FloatArray],
    deltas: Sequence[_FloatArray],
    batch_X: _FloatArray | None,
    batch_Y: _FloatArray | None,
    epoch_losses: NDArray[np.float64],
) -> None: ...
def threshold_decisions(sizes: Sequence[int], batch_rows: int, is_float32: bool) -> list[_Decision]: ...
