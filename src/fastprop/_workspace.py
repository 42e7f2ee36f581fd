"""The buffers of one fit or step and the compiled trainer that uses them.

``Network.fit`` and ``Network.step`` make a ``Workspace`` once per call: every layer's
activations and deltas for a batch, the batch's inputs and targets (or labels) when the
samples are shuffled, the optimizer's gradient block, and the ``_kernels.Trainer`` that
checked them with the data, with its measured plan. Memory is checked before anything is
allocated.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from . import _kernels
from ._planning import Plan, plan_for
from .optimizers import gradient_buffers
from ._validation import FloatArray, LabelArray, check_fits_in_memory, size_text

if TYPE_CHECKING:
    from .network import Network
    from .optimizers import _Optimizer, _State

# The kernels' name of each loss (_kernels.LOSS_KINDS): sse and mse are one loss, mse's
# divided by the batch's rows.
KERNEL_LOSS = {"sse": "squared", "mse": "squared", "bce": "bce",
               "cross_entropy": "cross_entropy"}
# Ctrl-C inside a step (_kernels.Trainer.set_interruption). Pieces and the copy cost time,
# so only steps that Ctrl-C would otherwise wait for noticeably are watched: a step of more
# multiply-adds than INTERRUPTIBLE_STEP_MULTIPLY_ADDS (0.2 s at 1e10 a second, one core of an
# old x86-64 in BLAS; 15-30 ms on the Intel Xeon with AVX-512 where this was measured) may be
# abandoned. Its products run in pieces of about PIECE_MULTIPLY_ADDS (tens of milliseconds
# at most), each of at least PIECE_MIN_BATCH_ROWS rows of the batch (forward products and
# hidden deltas) or PIECE_MIN_WEIGHT_ROWS rows of W (gradient steps): a piece reads the
# whole of the product's other operand again, so small pieces cost (pieces of 2^24
# multiply-adds and 16 rows made benchmark D's steps 60% slower, a 1000-2000-1 step on 8192
# rows 45%; these values: 1-6%, and 512 rows of W instead of 1024 10%). What the step
# changes (parameters, optimizer state) is copied before it when that costs at most 1/STATE_COPY_RATIO of its multiply-adds: copying
# an element costs about as much as 30-60 multiply-adds of a product (D's 1.9e6 parameters
# on batches of 256, a ratio of 770: 6% slower), so about 1% at most.
INTERRUPTIBLE_STEP_MULTIPLY_ADDS = 2_000_000_000
PIECE_MULTIPLY_ADDS = 1 << 28
PIECE_MIN_BATCH_ROWS = 1024
PIECE_MIN_WEIGHT_ROWS = 1024
STATE_COPY_RATIO = 4096
# A warning when the batch buffers take more than the training data and more than this.
WORKSPACE_WARNING_BYTES = 64 << 20


class Workspace:
    """Buffers for the compiled training loop, allocated once per fit or step,
    and the compiled trainer that checked them (once) together with the data."""

    def __init__(self, network: Network, samples: FloatArray, targets: FloatArray | None,
                 labels: LabelArray | None, batch_size: int, shuffled: bool,
                 optimizer: _Optimizer | None = None, state: _State | None = None) -> None:
        dtype, sizes = network.dtype, network.sizes
        n_samples = samples.shape[0]
        # Activations and deltas of every layer for one batch (and the batch's inputs and
        # targets or labels when shuffled): a full batch over a large set can need far more
        # than the set itself ([100, 1000, 1] on 193 MB of data: 3.9 GB).
        widths = 2 * sum(sizes[1:]) + (sizes[0] if shuffled else 0)
        workspace_bytes = batch_size * widths * dtype.itemsize
        if shuffled:
            workspace_bytes += batch_size * (8 if labels is not None else sizes[-1] * dtype.itemsize)
        # as_targets_or_labels gives targets or labels, never neither
        training_targets = targets if labels is None else labels
        assert training_targets is not None
        data_bytes = samples.nbytes + training_targets.nbytes
        what = (f"training in batches of {batch_size} rows (activations and deltas of every "
                f"layer for a batch)")
        check_fits_in_memory(workspace_bytes, what)
        if workspace_bytes > max(data_bytes, WORKSPACE_WARNING_BYTES):
            warnings.warn(f"{what} needs {size_text(workspace_bytes)} of buffers, more than "
                          f"the training data's {size_text(data_bytes)}; a smaller "
                          "batch_size bounds it", RuntimeWarning, stacklevel=3)
        activations = [np.empty((batch_size, width), dtype=dtype) for width in sizes[1:]]
        deltas = [np.empty((batch_size, width), dtype=dtype) for width in sizes[1:]]
        self.activations = activations
        batch_X = batch_Y = batch_labels = None
        if shuffled:
            batch_X = np.empty((batch_size, sizes[0]), dtype=dtype)
            if labels is None:
                batch_Y = np.empty((batch_size, sizes[-1]), dtype=dtype)
            else:
                batch_labels = np.empty(batch_size, dtype=np.int64)
            self.identity_order = np.arange(n_samples, dtype=np.int64)
            self.orders = np.empty((0, n_samples), dtype=np.int64)
        kernel_loss = KERNEL_LOSS[network.loss]
        mean_loss = network.loss != "sse"
        self.trainer = _kernels.Trainer(sizes, network._weights, network._biases, samples, targets,
                                        batch_size, mean_loss, activations, deltas, batch_X,
                                        batch_Y, functions=network._functions, loss=kernel_loss,
                                        labels=labels, batch_labels=batch_labels)
        # An optimizer's state comes with the optimizer (Network._update_rule).
        settings = optimizer._settings() if state is not None and optimizer is not None else None
        if state is not None:
            self.trainer.set_optimizer(settings, gradient_buffers(sizes, dtype),
                                       state.first,
                                       state.second, state.steps)
        step_multiply_adds = min(batch_size, n_samples) * network._multiply_adds_per_sample()
        changed = network._state_arrays(state)
        changed_bytes = sum(array.nbytes for array in changed)
        if (step_multiply_adds > INTERRUPTIBLE_STEP_MULTIPLY_ADDS
                and sum(array.size for array in changed) * STATE_COPY_RATIO <= step_multiply_adds):
            check_fits_in_memory(changed_bytes, "a copy of what a step changes (so that Ctrl-C "
                                                "can abandon a long step)")
            self.trainer.set_interruption(changed, PIECE_MULTIPLY_ADDS, PIECE_MIN_BATCH_ROWS,
                                          PIECE_MIN_WEIGHT_ROWS)
        self.plan: Plan | None = None
        if _kernels.plan_in_use() == "measured":
            self.plan = plan_for(self.trainer, sizes, dtype, network._weights, network._biases,
                                 samples, targets, batch_size, mean_loss,
                                 functions=network._functions, loss=kernel_loss, labels=labels,
                                 optimizer=settings)

    def draw_orders(self, generator: np.random.Generator, n_epochs: int) -> NDArray[np.int64]:
        """One permutation of the samples per epoch, drawn in sequence from generator."""
        if self.orders.shape[0] != n_epochs:
            self.orders = np.empty((n_epochs, self.identity_order.shape[0]), dtype=np.int64)
        for row in self.orders:
            row[:] = self.identity_order
            generator.shuffle(row)
        return self.orders
