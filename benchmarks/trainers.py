"""One interface over the four implementations being compared.

``make_trainer(name, case)`` builds a fresh network from the case's initial
weights (not timed; JAX compiles here); ``trainer.prepare_data(X, Y)`` puts the
NumPy data into the implementation's own input format (not timed: a copy onto
JAX's device, nothing for the others); ``trainer.train(*data)`` runs the case's
whole training (timed); ``trainer.parameters()`` returns the final
``(weights, biases)`` as NumPy arrays, for checking that all implementations did
the same work.

All four train on the same arrays, with the same batches in the same order
(fastprop with ``shuffle=False``), the same number of steps and the same dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cases import BenchmarkCase, make_initial_parameters, make_training_data
from numpy_baseline import SeedNumpyNetwork
from jax_baseline import JaxScanNetwork, jax_is_available
from torch_baseline import TorchEagerNetwork, torch_is_available

FASTPROP = "fastprop"
NUMPY = "numpy"
TORCH = "torch"
JAX = "jax"
IMPLEMENTATIONS = (FASTPROP, NUMPY, TORCH, JAX)
PEERS = (NUMPY, TORCH, JAX)
OPTIONAL_PACKAGES = {TORCH: "torch", JAX: "jax"}  # implementation -> the package it needs

DISPLAY_NAMES = {FASTPROP: "fastprop", NUMPY: "NumPy (NumPy XOR tutorial)", TORCH: "PyTorch eager",
                 JAX: "JAX (jit, lax.scan)"}
SHORT_NAMES = {FASTPROP: "fastprop", NUMPY: "NumPy", TORCH: "PyTorch", JAX: "JAX"}


class NumpyInput:
    """For what trains on the NumPy arrays themselves: ``prepare_data`` hands them on."""

    def prepare_data(self, X, Y):
        return X, Y


class FastpropTrainer(NumpyInput):
    def __init__(self, case: BenchmarkCase):
        import fastprop

        weights, biases = make_initial_parameters(case)
        self.case = case
        self.network = fastprop.Network.from_weights(weights, biases, loss=case.loss, dtype=case.dtype,
                                                     activation=case.activation, output=case.output)
        self.optimizer = fastprop.Adam(lr=case.learning_rate) if case.optimizer == "adam" else None

    def train(self, X, Y):
        case = self.case
        if self.optimizer is not None:
            self.network.fit(X, Y, case.epochs, batch_size=case.batch_size, shuffle=False,
                             optimizer=self.optimizer)
        else:
            self.network.fit(X, Y, case.epochs, case.learning_rate, batch_size=case.batch_size,
                             shuffle=False)

    def parameters(self):
        return (
            [np.array(W) for W in self.network.weights],
            [np.array(b) for b in self.network.biases],
        )


class NumpyTrainer(NumpyInput):
    def __init__(self, case: BenchmarkCase):
        weights, biases = make_initial_parameters(case)
        self.case = case
        self.network = SeedNumpyNetwork(weights, biases, loss=case.loss, dtype=case.dtype,
                                        activation=case.activation, optimizer=case.optimizer)

    def train(self, X, Y):
        case = self.case
        self.network.train(X, Y, case.epochs, case.learning_rate, batch_size=case.batch_size)

    def parameters(self):
        return [W.copy() for W in self.network.weights], [b.copy() for b in self.network.biases]


class TorchTrainer(NumpyInput):  # torch.from_numpy inside: no copies
    def __init__(self, case: BenchmarkCase):
        weights, biases = make_initial_parameters(case)
        self.case = case
        self.network = TorchEagerNetwork(weights, biases, loss=case.loss, dtype=case.dtype,
                                         activation=case.activation, optimizer=case.optimizer)

    def train(self, X, Y):
        case = self.case
        self.network.train(X, Y, case.epochs, case.learning_rate, batch_size=case.batch_size)

    def parameters(self):
        return self.network.parameters()


class JaxTrainer:
    def __init__(self, case: BenchmarkCase):
        weights, biases = make_initial_parameters(case)
        self.case = case
        self.network = JaxScanNetwork(weights, biases, loss=case.loss, dtype=case.dtype,
                                      n_samples=case.n_samples, batch_size=case.batch_size, epochs=case.epochs,
                                      activation=case.activation, optimizer=case.optimizer)

    @property
    def compile_seconds(self) -> float:
        """How long XLA took to compile this case's training (once per shape; never timed)."""
        return self.network.compile_seconds

    def prepare_data(self, X, Y):
        return self.network.device_data(X, Y)

    def train(self, *device_data):
        self.network.train(*device_data, learning_rate=self.case.learning_rate)

    def parameters(self):
        return self.network.parameters()


_TRAINERS = {FASTPROP: FastpropTrainer, NUMPY: NumpyTrainer, TORCH: TorchTrainer, JAX: JaxTrainer}


def make_trainer(name: str, case: BenchmarkCase):
    return _TRAINERS[name](case)


def fastprop_is_available() -> bool:
    try:
        import fastprop  # noqa: F401
    except ImportError:
        return False
    return True


def available_implementations() -> tuple[str, ...]:
    present = {FASTPROP: fastprop_is_available(), NUMPY: True, TORCH: torch_is_available(),
               JAX: jax_is_available()}
    return tuple(name for name in IMPLEMENTATIONS if present[name])


def train_once(implementation: str, case: BenchmarkCase, X, Y):
    """A fresh trainer of the case, trained once on ``X``, ``Y`` (untimed); returns the trainer."""
    trainer = make_trainer(implementation, case)
    trainer.train(*trainer.prepare_data(X, Y))
    return trainer


def warm_up(implementation: str, case: BenchmarkCase) -> None:
    """One short untimed run: library initialisation, thread pools, first-call costs."""
    small = case.quick()
    train_once(implementation, small, *make_training_data(small))


# --- did they do the same work? -------------------------------------------

# Final weights of two implementations may differ only by rounding (different
# summation orders, fused or separate operations), which a training run
# amplifies a little (seen between NumPy and PyTorch: ~1e-5 of the update in
# float32, ~1e-16 in float64). The bound is relative to how far training moved
# the weights: a skipped, repeated or reordered batch moves them by far more.
RELATIVE_DISAGREEMENT_LIMIT = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-3}
# Adam divides each step by the root of the gradient's second moment, so a rounding
# difference in a gradient near zero becomes a difference of up to lr in that step:
# measured between NumPy, PyTorch, JAX and fastprop on case F in quick mode (8 steps),
# 0.8e-3 to 1.4e-3 of the largest update; one batch skipped or repeated there moves the
# weights by 0.24 to 0.92 of it (case E: 0.034 to 0.70). So 1e-2 in float32.
ADAM_RELATIVE_DISAGREEMENT_LIMIT = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-2}


@dataclass(frozen=True)
class Agreement:
    max_abs_difference: float  # largest |θ_other − θ_reference| over all parameters
    max_abs_update: float  # largest |θ_reference − θ_initial|: how far training moved
    limit: float

    @property
    def relative_difference(self) -> float:
        return self.max_abs_difference / self.max_abs_update if self.max_abs_update else float("inf")

    @property
    def agrees(self) -> bool:
        return self.relative_difference <= self.limit

    def describe(self) -> str:
        return (
            f"max |Δθ| {self.max_abs_difference:.2e} = {self.relative_difference:.1e} of the largest "
            f"training update {self.max_abs_update:.2e} (limit {self.limit:.0e})"
        )


def _flatten(parameters) -> np.ndarray:
    weights, biases = parameters
    return np.concatenate([np.ravel(p).astype(np.float64) for p in [*weights, *biases]])


def compare_parameters(case: BenchmarkCase, reference, other) -> Agreement:
    initial = _flatten(make_initial_parameters(case))
    reference, other = _flatten(reference), _flatten(other)
    return Agreement(
        max_abs_difference=float(np.max(np.abs(other - reference))),
        max_abs_update=float(np.max(np.abs(reference - initial))),
        limit=(ADAM_RELATIVE_DISAGREEMENT_LIMIT if case.optimizer == "adam"
               else RELATIVE_DISAGREEMENT_LIMIT)[np.dtype(case.dtype)],
    )
