"""The four benchmark cases (A–D): sizes, data, initial weights, FLOP counts, goals.

Everything here is deterministic: the same case gives the same data and the
same initial weights in every process, so fastprop and its peers train on
identical inputs from identical starting points.

Notation as in CONTRIBUTING.md: weights of a layer are ``(n_out, n_in)``,
biases ``(n_out,)``, samples are rows.

Quick mode (``FASTPROP_BENCH_QUICK=1``) keeps every layer size but shrinks the
number of samples or epochs, so the whole suite runs in seconds (for CI, which
only checks that the benchmarks still run and still agree).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace

import numpy as np

QUICK_MODE_VARIABLE = "FASTPROP_BENCH_QUICK"


def quick_mode_requested() -> bool:
    return os.environ.get(QUICK_MODE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Goal:
    """One target from the issue: ``measured >= minimum`` for the named metric."""

    metric: str  # "speedup_vs_numpy", "speedup_vs_torch", "speedup_vs_jax" or "fraction_of_gemm_floor"
    minimum: float

    @property
    def peer(self) -> str | None:
        """The implementation a speedup goal is against ("numpy", "torch", "jax"); None for the floor."""
        return self.metric.removeprefix("speedup_vs_") if self.metric.startswith("speedup_vs_") else None

    def describe(self) -> str:
        if self.metric == "fraction_of_gemm_floor":
            return f"≥ {self.minimum:.0%} of the GEMM floor"
        peer = {"numpy": "NumPy", "torch": "PyTorch", "jax": "JAX"}[self.peer]
        return f"≥ {self.minimum:g}x faster than {peer}"


@dataclass(frozen=True)
class BenchmarkCase:
    name: str
    layer_sizes: tuple[int, ...]  # (n_in, hidden..., n_out)
    dtype: type
    n_samples: int
    batch_size: int
    epochs: int
    learning_rate: float
    loss: str  # "sse", "mse" or "cross_entropy", as in fastprop
    data_seed: int
    goals: tuple[Goal, ...]
    quick_n_samples: int | None = None  # quick mode: fewer samples ...
    quick_epochs: int | None = None  # ... or fewer epochs
    repeats: int = 5  # timed runs per implementation (pytest-benchmark rounds, run_all repeats)
    # "The default never loses" times fastprop's routes on this many samples (None: all); plain
    # loops take ~40x longer than the other routes on the large cases.
    route_comparison_n_samples: int | None = None
    # The network and its training: the hidden layers' and the output's functions, and the
    # optimizer ("sgd": plain gradient descent; "adam": Adam with torch's defaults but lr).
    activation: str = "sigmoid"
    output: str = "sigmoid"
    optimizer: str = "sgd"
    # Whether "the default never loses" compares fastprop's routes on this case (the speed
    # issue's cases A-D; the training issue's cases are about the peers).
    compare_routes: bool = True

    @property
    def is_classification(self) -> bool:
        """Softmax and cross-entropy, trained on integer class labels."""
        return self.output == "softmax"

    @property
    def description(self) -> str:
        """E.g. "784-256-10 float32, 60 000 samples, batch 128, 1 epoch, mse", from the fields."""
        sizes = "-".join(str(size) for size in self.layer_sizes)
        samples = f"{self.n_samples:,} samples".replace(",", " ")
        batch = "full batch" if self.batch_size >= self.n_samples else f"batch {self.batch_size}"
        epochs = f"{self.epochs:,} epoch{'s' if self.epochs > 1 else ''}".replace(",", " ")
        functions = ("" if self.activation == self.output == "sigmoid"
                     else f" {self.activation}/{self.output}")
        optimizer = "" if self.optimizer == "sgd" else f", {self.optimizer.capitalize()}"
        return (f"{'XOR ' if self.is_xor else ''}{sizes}{functions} {self.dtype_name}, {samples}, "
                f"{batch}, {epochs}, lr {self.learning_rate:g}, {self.loss}{optimizer}")

    @property
    def label(self) -> str:
        return f"{self.name}: {self.description}"

    @property
    def dtype_name(self) -> str:
        return np.dtype(self.dtype).name

    @property
    def is_xor(self) -> bool:
        return self.name == "A"

    def quick(self) -> "BenchmarkCase":
        return replace(
            self,
            n_samples=self.quick_n_samples or self.n_samples,
            epochs=self.quick_epochs or self.epochs,
            batch_size=min(self.batch_size, self.quick_n_samples or self.n_samples),
            repeats=1,
            # the short last batch alone: plain loops are slow on the large cases
            route_comparison_n_samples=self.route_comparison_n_samples and (
                self.route_comparison_n_samples % self.batch_size or self.batch_size),
        )

    def steps(self) -> int:
        """Number of SGD steps (minibatches) in the whole training run."""
        return self.epochs * -(-self.n_samples // self.batch_size)

    def training_flops(self) -> int:
        """Floating-point operations of the matrix products of the whole training run.

        Per sample and layer of shape ``(out, in)``: forward ``A @ W.T``
        (2·in·out), weight gradient ``delta.T @ A_prev`` (2·in·out), and for
        every layer but the first the backward product ``delta @ W``
        (2·in·out). Element-wise work (sigmoid, deltas, updates) is not
        counted: this is the GEMM floor's numerator.
        """
        products = [n_in * n_out for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])]
        per_sample = 2 * (3 * sum(products) - products[0])
        return per_sample * self.n_samples * self.epochs


XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float64)

# The NumPy XOR tutorial's XOR set-up. Its standard-normal start only converges
# for some draws (docs/worked-examples.md, NumPy XOR); seed 3 is one whose four
# predictions end within 0.1.
XOR_WEIGHT_SEED = 3

FULL_CASES = (
    BenchmarkCase(
        name="A",
        layer_sizes=(2, 2, 1),
        dtype=np.float64,
        n_samples=4,
        batch_size=4,
        epochs=10_000,
        learning_rate=0.1,
        loss="sse",
        data_seed=XOR_WEIGHT_SEED,
        goals=(Goal("speedup_vs_numpy", 100), Goal("speedup_vs_torch", 1000), Goal("speedup_vs_jax", 3)),
        quick_epochs=200,
    ),
    BenchmarkCase(
        name="B",
        layer_sizes=(32, 64, 64, 1),
        dtype=np.float32,
        n_samples=60_000,
        batch_size=32,
        epochs=1,
        learning_rate=0.1,
        loss="mse",
        data_seed=11,
        goals=(Goal("speedup_vs_numpy", 5), Goal("speedup_vs_torch", 20), Goal("speedup_vs_jax", 1.5)),
        quick_n_samples=2_048,
    ),
    BenchmarkCase(
        name="C",
        layer_sizes=(784, 256, 10),
        dtype=np.float32,
        n_samples=60_000,
        batch_size=128,
        epochs=1,
        learning_rate=0.1,
        loss="mse",
        data_seed=12,
        goals=(Goal("speedup_vs_torch", 2), Goal("speedup_vs_jax", 1.2), Goal("fraction_of_gemm_floor", 0.70)),
        quick_n_samples=1_000,  # not a multiple of 128: the short last batch is exercised
        route_comparison_n_samples=60 * 128 + 96,  # the same short last batch as 60 000 samples
    ),
    BenchmarkCase(
        name="D",
        layer_sizes=(784, 1024, 1024, 10),
        dtype=np.float32,
        n_samples=60_000,
        batch_size=128,
        epochs=1,
        learning_rate=0.1,
        loss="mse",
        data_seed=13,
        goals=(Goal("speedup_vs_torch", 1.2), Goal("speedup_vs_jax", 1.1), Goal("fraction_of_gemm_floor", 0.80)),
        quick_n_samples=300,
        repeats=5,
        route_comparison_n_samples=20 * 128 + 96,
    ),
    # The training issue's: classification with relu, softmax, cross-entropy and Adam.
    BenchmarkCase(
        name="E",
        layer_sizes=(64, 128, 10),
        dtype=np.float32,
        n_samples=60_000,
        batch_size=32,
        epochs=1,
        learning_rate=1e-3,
        loss="cross_entropy",
        data_seed=14,
        goals=(Goal("speedup_vs_torch", 10), Goal("speedup_vs_jax", 1.5)),
        quick_n_samples=2_048,
        activation="relu",
        output="softmax",
        optimizer="adam",
        compare_routes=False,
    ),
    BenchmarkCase(
        name="F",
        layer_sizes=(784, 256, 10),
        dtype=np.float32,
        n_samples=60_000,
        batch_size=128,
        epochs=1,
        learning_rate=1e-3,
        loss="cross_entropy",
        data_seed=15,
        goals=(Goal("speedup_vs_torch", 2),),
        quick_n_samples=1_000,
        activation="relu",
        output="softmax",
        optimizer="adam",
        compare_routes=False,
    ),
)

# "The default never loses": in every case, dtype and CPU path, fastprop's default
# configuration takes at most this many times the fastest forced route's time ...
DEFAULT_MAX_RATIO_TO_FASTEST_FORCED = 1.03
# ... and at most this many times its own time on one thread.
DEFAULT_MAX_RATIO_TO_ONE_THREAD = 1.0

# Memory goal: for this case, fit's peak allocation above the training data
# stays under this fraction of the data's size.
MEMORY_GOAL_CASE = "C"
MEMORY_GOAL_MAX_FRACTION_OF_DATA = 0.10


def benchmark_cases(quick: bool | None = None) -> tuple[BenchmarkCase, ...]:
    if quick is None:
        quick = quick_mode_requested()
    return tuple(case.quick() for case in FULL_CASES) if quick else FULL_CASES


def make_training_data(case: BenchmarkCase) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X`` (n_samples, n_in) and targets ``Y`` (n_samples, n_out) in [0, 1), C-contiguous;
    for a classification case, ``Y`` holds class labels (n_samples,), int64."""
    if case.is_xor:
        return XOR_INPUTS.astype(case.dtype), XOR_TARGETS.astype(case.dtype)
    rng = np.random.default_rng(case.data_seed)
    X = rng.random((case.n_samples, case.layer_sizes[0]), dtype=case.dtype)
    if case.is_classification:
        return X, rng.integers(0, case.layer_sizes[-1], case.n_samples)
    Y = rng.random((case.n_samples, case.layer_sizes[-1]), dtype=case.dtype)
    return X, Y


def make_initial_parameters(case: BenchmarkCase) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Initial ``(weights, biases)`` of the case, in its dtype (fresh copies: the caller may write to them).

    XOR: the NumPy XOR tutorial's standard-normal draws. Larger nets: normal with standard
    deviation 1/sqrt(n_in), so the sigmoids start unsaturated.
    """
    weights, biases = _initial_parameters(case.layer_sizes, np.dtype(case.dtype).name, case.data_seed, case.is_xor)
    return [W.copy() for W in weights], [b.copy() for b in biases]


@functools.lru_cache(maxsize=16)
def _initial_parameters(layer_sizes, dtype_name, data_seed, is_xor):
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(data_seed + 1_000)
    weights, biases = [], []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        scale = 1.0 if is_xor else 1.0 / np.sqrt(n_in)
        weights.append((rng.standard_normal((n_out, n_in)) * scale).astype(dtype))
        biases.append((rng.standard_normal(n_out) * scale).astype(dtype))
    return weights, biases
