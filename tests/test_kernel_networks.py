"""Whole networks in the compiled kernels: network_forward and train_epochs (the
loop of fit) against NumPy and ``fastprop.reference``, in both dtypes, every
product route, in order and shuffled, in one call or in pieces.

Tolerances (see ``fastprop._testing``): ``|got - expected| <= rtol * (|expected| +
scale)``, rtol 1e-12 (float64) or 1e-5 (float32), ``scale`` the sum of the
magnitudes of the terms that were added up, which keeps the test honest where
terms cancel.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastprop import _kernels, reference
from fastprop._testing import (
    arrays,
    assert_close,
    f64,
    make_training_problem,
    nan_filled,
    np_sigmoid,
    train_buffers,
    widths,
)

# --- network_forward -----------------------------------------------------------

@st.composite
def architectures(draw, max_depth=4, max_width=6):
    depth = draw(st.integers(1, max_depth))
    return tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))


def draw_parameters(data, dtype, sizes):
    weights = [data.draw(arrays(dtype, (n_out, n_in), -2.0, 2.0)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [data.draw(arrays(dtype, (n_out,), -1.0, 1.0)) for n_out in sizes[1:]]
    return weights, biases


def np_forward(weights, biases, X):
    activations = [f64(X)]
    for W, b in zip(weights, biases):
        activations.append(np_sigmoid(activations[-1] @ f64(W).T + f64(b)))
    return activations


@given(data=st.data())
def test_network_forward(dtype, matmul_path, data):
    sizes = data.draw(architectures())
    rows = data.draw(widths)
    extra_rows = data.draw(st.integers(0, 2))  # buffers may be taller than the batch
    weights, biases = draw_parameters(data, dtype, sizes)
    X = data.draw(arrays(dtype, (rows, sizes[0]), -2.0, 2.0))
    activations = [nan_filled((rows + extra_rows, width), dtype) for width in sizes[1:]]
    _kernels.network_forward(sizes, weights, biases, X, activations)
    expected = np_forward(weights, biases, X)
    ref = reference.forward([w.tolist() for w in weights], [b.tolist() for b in biases], X.tolist())
    for layer, got in enumerate(activations):
        # The error of a layer's input propagates through the next with a factor
        # of at most |W|/4, and the inputs here keep that below a few units.
        scale = np.abs(expected[layer]) @ np.abs(f64(weights[layer])).T + np.abs(f64(biases[layer]))
        assert_close(got[:rows], expected[layer + 1], dtype, 4 * scale)
        assert_close(got[:rows], ref[layer + 1], dtype, 4 * scale)
        assert np.all(np.isnan(got[rows:]))  # rows beyond the batch are not touched


# --- train_epochs --------------------------------------------------------------

def np_train_epochs(weights, biases, X, Y, orders, n_epochs, start, stop, batch_size, lr, mean_loss):
    """The compiled loop in NumPy float64: returns (weights, biases, epoch losses)."""
    weights = [f64(w).copy() for w in weights]
    biases = [f64(b).copy() for b in biases]
    losses = np.zeros(n_epochs)
    n = X.shape[0]
    for epoch in range(n_epochs):
        order = np.arange(n) if orders is None else orders[epoch]
        for position in range(start, stop, batch_size):
            rows = order[position:min(position + batch_size, stop)]
            A = np_forward(weights, biases, X[rows])
            error = A[-1] - f64(Y[rows])
            losses[epoch] += 0.5 * np.sum(error ** 2)
            delta = error * A[-1] * (1 - A[-1])
            step = lr / len(rows) if mean_loss else lr
            for layer in range(len(weights) - 1, -1, -1):
                grad_W, grad_b = delta.T @ A[layer], delta.sum(0)
                if layer > 0:
                    delta = (delta @ weights[layer]) * A[layer] * (1 - A[layer])
                weights[layer] -= step * grad_W
                biases[layer] -= step * grad_b
    return weights, biases, losses


def reference_train_epochs(weights, biases, X, Y, orders, n_epochs, batch_size, lr, mean_loss):
    """The same with fastprop.reference.step (whole epochs only)."""
    weights = [w.tolist() for w in weights]
    biases = [b.tolist() for b in biases]
    losses = np.zeros(n_epochs)
    n = X.shape[0]
    for epoch in range(n_epochs):
        order = np.arange(n) if orders is None else orders[epoch]
        for position in range(0, n, batch_size):
            rows = order[position:position + batch_size]
            weights, biases, loss = reference.step(weights, biases, X[rows].tolist(), Y[rows].tolist(),
                                                   lr, loss="mse" if mean_loss else "sse")
            losses[epoch] += loss * (len(rows) if mean_loss else 1)
    return weights, biases, losses





@given(data=st.data())
def test_train_epochs(dtype, matmul_path, data):
    sizes = data.draw(architectures(max_depth=3, max_width=5))
    n = data.draw(st.integers(1, 7))
    n_epochs = data.draw(st.integers(1, 3))
    batch_size = data.draw(st.integers(1, n + 2))
    shuffled = data.draw(st.booleans())
    mean_loss = data.draw(st.booleans())
    lr = float(dtype.type(data.draw(st.floats(0.01, 1.0))))
    weights, biases = draw_parameters(data, dtype, sizes)
    X = data.draw(arrays(dtype, (n, sizes[0]), -2.0, 2.0))
    Y = data.draw(arrays(dtype, (n, sizes[-1]), 0.0, 1.0))
    orders = (np.array([data.draw(st.permutations(range(n))) for _ in range(n_epochs)], dtype=np.int64)
              if shuffled else None)
    expected_W, expected_b, expected_losses = np_train_epochs(
        weights, biases, X, Y, orders, n_epochs, 0, n, batch_size, lr, mean_loss)
    ref_W, ref_b, ref_losses = reference_train_epochs(
        weights, biases, X, Y, orders, n_epochs, batch_size, lr, mean_loss)
    X_before, Y_before = X.copy(), Y.copy()
    activations, deltas, batch_X, batch_Y = train_buffers(sizes, dtype, min(batch_size, n), shuffled,
                                                          data.draw(st.integers(0, 2)))
    epoch_losses = np.zeros(n_epochs)
    _kernels.train_epochs(sizes, weights, biases, X, Y, orders, 0, n, batch_size, lr, mean_loss,
                          activations, deltas, batch_X, batch_Y, epoch_losses)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Y, Y_before)
    # A few steps compound the per-step rounding; the parameters stay O(1), so
    # the scale of every comparison is 1.
    for got, expected, ref in zip(weights + biases, expected_W + expected_b, ref_W + ref_b):
        assert got.dtype == dtype
        assert_close(got, expected, dtype, 1.0)
        assert_close(got, ref, dtype, 1.0)
    assert_close(epoch_losses, expected_losses, dtype, 1.0)
    assert_close(epoch_losses, ref_losses, dtype, 1.0)





@pytest.mark.parametrize("shuffled", [False, True])
def test_train_epochs_in_pieces_equals_one_call(dtype, matmul_path, shuffled):
    sizes, weights, biases, X, Y = make_training_problem(dtype)
    n, batch_size = X.shape[0], 3
    orders = np.array([np.random.default_rng(e).permutation(n) for e in range(1)]) if shuffled else None
    buffers = train_buffers(sizes, dtype, batch_size, shuffled)
    whole_W, whole_b = [w.copy() for w in weights], [b.copy() for b in biases]
    whole_losses = np.zeros(1)
    _kernels.train_epochs(sizes, whole_W, whole_b, X, Y, orders, 0, n, batch_size, 0.5, False,
                          *buffers, whole_losses)
    losses = np.full(1, 0.0)
    for start, stop in [(0, 3), (3, 3), (3, 9), (9, 10)]:  # whole batches, then the short last one
        _kernels.train_epochs(sizes, weights, biases, X, Y, orders, start, stop, batch_size, 0.5, False,
                              *buffers, losses)
    for got, expected in zip(weights + biases, whole_W + whole_b):
        np.testing.assert_array_equal(got, expected)
    assert losses[0] == whole_losses[0]


def test_train_epochs_adds_to_epoch_losses_and_does_nothing_for_no_work(dtype):
    sizes, weights, biases, X, Y = make_training_problem(dtype)
    n = X.shape[0]
    buffers = train_buffers(sizes, dtype, n, False)
    W0, b0 = [w.copy() for w in weights], [b.copy() for b in biases]
    _kernels.train_epochs(sizes, weights, biases, X, Y, None, 4, 4, n, 0.5, False, *buffers, np.zeros(1))
    _kernels.train_epochs(sizes, weights, biases, X, Y, None, 0, n, n, 0.5, False, *buffers, np.zeros(0))
    for got, expected in zip(weights + biases, W0 + b0):
        np.testing.assert_array_equal(got, expected)
    fresh = np.zeros(1)
    _kernels.train_epochs(sizes, [w.copy() for w in W0], [b.copy() for b in b0], X, Y, None, 0, n, n, 0.5,
                          False, *buffers, fresh)
    offset = np.array([10.0])
    _kernels.train_epochs(sizes, weights, biases, X, Y, None, 0, n, n, 0.5, False, *buffers, offset)
    assert offset[0] == 10.0 + fresh[0]
