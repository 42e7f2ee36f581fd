"""Time the matrix products of a case's training alone, at the case's own shapes.

One training step of a case does, per layer of shape ``(out, in)`` and a batch
of ``n`` rows: the forward product ``A @ W.T`` (n×in by in×out), for every
layer but the first the backward product ``delta @ W`` (n×out by out×in), and
the weight gradient ``delta.T @ A_prev`` (out×n by n×in). This module runs
exactly those products, with the same transposes, through NumPy's BLAS into
preallocated outputs, as many times as the case has steps, and nothing else.

Its time sits between the GEMM floor (which assumes the rate of a large square
product) and a training loop: the gap between it and the floor is what BLAS
loses on these shapes; the gap between it and fastprop's fit is fastprop's own
work (sigmoids, deltas, bias sums, updates, calls).
"""
from __future__ import annotations

import numpy as np

from cases import BenchmarkCase


def _step_products(case: BenchmarkCase, rows: int):
    rng = np.random.default_rng(0)
    sizes, dtype = case.layer_sizes, case.dtype
    weights = [rng.random((n_out, n_in), dtype=dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    activations = [rng.random((rows, width), dtype=dtype) for width in sizes]  # A[0] = X
    deltas = [rng.random((rows, width), dtype=dtype) for width in sizes[1:]]
    forward_out = [np.empty((rows, width), dtype=dtype) for width in sizes[1:]]
    backward_out = [np.empty((rows, width), dtype=dtype) for width in sizes[:-1]]
    gradients = [np.empty_like(W) for W in weights]

    def step():
        for layer, W in enumerate(weights):
            np.matmul(activations[layer], W.T, out=forward_out[layer])
        for layer in range(len(weights) - 1, -1, -1):
            if layer > 0:
                np.matmul(deltas[layer], weights[layer], out=backward_out[layer])
            np.matmul(deltas[layer].T, activations[layer], out=gradients[layer])

    return step


class GemmSequence:
    """All the case's products, batch by batch, short last batch included: ``run()`` once per training."""

    def __init__(self, case: BenchmarkCase):
        self.case = case
        self._full_batch = _step_products(case, case.batch_size)
        last_rows = case.n_samples % case.batch_size
        self._last_batch = _step_products(case, last_rows) if last_rows else None

    def run(self) -> None:
        full_batches_per_epoch = self.case.n_samples // self.case.batch_size
        for _ in range(self.case.epochs):
            for _ in range(full_batches_per_epoch):
                self._full_batch()
            if self._last_batch is not None:
                self._last_batch()

