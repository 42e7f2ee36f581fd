"""Each backpropagation step of ``fastprop._kernels`` (forward, output delta, hidden
delta, weight gradient, updates) against a one-line NumPy reference and the
plain-Python ``fastprop.reference``, in float32 and float64, on random shapes
(hypothesis) including width-1 layers and a batch of one, with every product in
the plain loops, the vector kernels and BLAS, and on shapes either side of the
default thresholds.

Tolerances (see ``fastprop._testing``): ``|got - expected| <= rtol * (|expected| +
scale)``, rtol 1e-12 (float64) or 1e-5 (float32), ``scale`` the sum of the
magnitudes of the terms that were added up, which keeps the test honest where
terms cancel.
"""
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastprop import _kernels, reference
from fastprop._testing import (
    RTOL,
    arrays,
    assert_close,
    check_hidden_delta_against_numpy,
    default_thresholds,
    f64,
    learning_rates,
    nan_filled,
    np_sigmoid,
    random_arrays,
    widths,
)

# --- dense_sigmoid_forward -----------------------------------------------------

def check_dense_forward(A_in, W, b, dtype):
    A_out = nan_filled((A_in.shape[0], W.shape[0]), dtype)
    inputs = [A_in.copy(), W.copy(), b.copy()]
    _kernels.dense_sigmoid_forward(A_in, W, b, A_out)
    for before, after in zip(inputs, [A_in, W, b]):
        np.testing.assert_array_equal(before, after)
    scale = np.abs(f64(A_in)) @ np.abs(f64(W)).T + np.abs(f64(b))
    assert_close(A_out, np_sigmoid(f64(A_in) @ f64(W).T + f64(b)), dtype, scale)
    assert_close(A_out, reference.dense_sigmoid_forward(A_in.tolist(), W.tolist(), b.tolist()),
                 dtype, scale)


@given(data=st.data())
def test_dense_sigmoid_forward(dtype, matmul_path, data):
    rows, n_in, n_out = data.draw(widths), data.draw(widths), data.draw(widths)
    A_in = data.draw(arrays(dtype, (rows, n_in)))
    W = data.draw(arrays(dtype, (n_out, n_in)))
    b = data.draw(arrays(dtype, (n_out,)))
    check_dense_forward(A_in, W, b, dtype)


def _shapes_around(threshold):
    """(rows, n_in, n_out) with rows * n_in * n_out just below and at the threshold."""
    side = 1
    while side ** 3 < threshold:
        side += 1
    below = max(1, (threshold - 1) // (side * side))
    cubes = [(side, side, side), (side, side, below), (side, below, side)]
    if threshold > SKINNY_LIMIT:  # a (1, threshold, 1) layer would be hundreds of MB
        return cubes
    return [(1, threshold - 1, 1), (1, threshold, 1), (threshold, 1, 1), (1, 1, threshold - 1)] + cubes


SKINNY_LIMIT = 1 << 20


# (rows, n_in, n_out): width-1 layers, a batch of one, and, at the default
# thresholds, shapes on both sides of each of them.
DEFAULT_THRESHOLDS = default_thresholds()
EDGE_SHAPES = sorted({(1, 1, 1), (1, 7, 1), (7, 1, 1), (1, 1, 7), (3, 1, 5), (33, 40, 20),
                      *(shape for threshold in DEFAULT_THRESHOLDS
                        for shape in _shapes_around(threshold))})


def test_edge_shapes_straddle_the_default_thresholds():
    products = [r * i * o for r, i, o in EDGE_SHAPES]
    for threshold in DEFAULT_THRESHOLDS:
        assert any(p < threshold for p in products) and any(p >= threshold for p in products)
        if threshold <= SKINNY_LIMIT:
            assert any(p == threshold - 1 for p in products)
            assert any(p == threshold for p in products)
    assert sum(p < min(DEFAULT_THRESHOLDS) for p in products) >= 5
    assert sum(p >= max(DEFAULT_THRESHOLDS) for p in products) >= 1


@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=str)
def test_dense_sigmoid_forward_edge_shapes(dtype, shape, any_path):
    rows, n_in, n_out = shape
    rng = np.random.default_rng(sum(shape))
    A_in, W, b = random_arrays(rng, dtype, (rows, n_in), (n_out, n_in), (n_out,))
    W /= np.sqrt(n_in)
    A_out = nan_filled((rows, n_out), dtype)
    _kernels.dense_sigmoid_forward(A_in, W, b, A_out)
    scale = np.abs(f64(A_in)) @ np.abs(f64(W)).T + np.abs(f64(b))
    assert_close(A_out, np_sigmoid(f64(A_in) @ f64(W).T + f64(b)), dtype, scale)
    if rows * n_in * n_out <= 5000:
        assert_close(A_out, reference.dense_sigmoid_forward(A_in.tolist(), W.tolist(), b.tolist()),
                     dtype, scale)


# --- output_delta --------------------------------------------------------------

def check_output_delta(A, Y, dtype):
    delta = nan_filled(A.shape, dtype)
    loss = _kernels.output_delta(A, Y, delta)
    assert isinstance(loss, float)
    error = f64(A) - f64(Y)
    assert loss == pytest.approx(0.5 * np.sum(error ** 2), rel=RTOL[dtype], abs=0)
    assert loss == pytest.approx(reference.sse(A.tolist(), Y.tolist()), rel=RTOL[dtype], abs=0)
    expected = error * f64(A) * (1 - f64(A))
    assert_close(delta, expected, dtype)
    assert_close(delta, reference.output_delta(A.tolist(), Y.tolist()), dtype)


@given(data=st.data())
def test_output_delta(dtype, data):
    rows, width = data.draw(widths), data.draw(widths)
    A = data.draw(arrays(dtype, (rows, width), 0.0, 1.0))  # activations are in [0, 1]
    Y = data.draw(arrays(dtype, (rows, width), -2.0, 2.0))
    check_output_delta(A, Y, dtype)


def test_output_delta_loss_is_accumulated_in_double(dtype):
    # 10^6 equal errors of 2^-12: in float32 a running sum of 2^-25 would stall at
    # 2^-1 (adding 2^-25 to 2^-1 is below half an ulp), giving 0.5 instead of 0.5*2^-4.
    # Whatever the dtype, the sum is exact in double.
    n = 1_000_000
    A = np.full((n, 1), 0.5, dtype=dtype)
    Y = A + dtype.type(2.0 ** -12)
    delta = np.empty_like(A)
    loss = _kernels.output_delta(A, Y, delta)
    assert loss == 0.5 * n * 2.0 ** -24


# --- hidden_delta --------------------------------------------------------------

@given(data=st.data())
def test_hidden_delta(dtype, matmul_path, data):
    rows, n_next, n_this = data.draw(widths), data.draw(widths), data.draw(widths)
    delta_next = data.draw(arrays(dtype, (rows, n_next), -1.0, 1.0))
    W_next = data.draw(arrays(dtype, (n_next, n_this)))
    A = data.draw(arrays(dtype, (rows, n_this), 0.0, 1.0))
    delta = nan_filled((rows, n_this), dtype)
    _kernels.hidden_delta(delta_next, W_next, A, delta)
    derivative = f64(A) * (1 - f64(A))
    scale = (np.abs(f64(delta_next)) @ np.abs(f64(W_next))) * derivative
    assert_close(delta, (f64(delta_next) @ f64(W_next)) * derivative, dtype, scale)
    assert_close(delta, reference.hidden_delta(delta_next.tolist(), W_next.tolist(), A.tolist()),
                 dtype, scale)


@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=str)
def test_hidden_delta_edge_shapes(dtype, any_path, shape):
    rows, n_this, n_next = shape
    rng = np.random.default_rng(sum(shape) + 1)
    delta_next, W_next = random_arrays(rng, dtype, (rows, n_next), (n_next, n_this))
    (A,) = random_arrays(rng, dtype, (rows, n_this), low=0.0, high=1.0)
    check_hidden_delta_against_numpy(delta_next, W_next, A, dtype)





# --- weight_gradient -----------------------------------------------------------

@given(data=st.data())
def test_weight_gradient(dtype, matmul_path, data):
    rows, n_in, n_out = data.draw(widths), data.draw(widths), data.draw(widths)
    delta = data.draw(arrays(dtype, (rows, n_out), -1.0, 1.0))
    A_prev = data.draw(arrays(dtype, (rows, n_in), -1.0, 1.0))
    grad_W, grad_b = nan_filled((n_out, n_in), dtype), nan_filled(n_out, dtype)
    _kernels.weight_gradient(delta, A_prev, grad_W, grad_b)
    scale_W = np.abs(f64(delta)).T @ np.abs(f64(A_prev))
    scale_b = np.abs(f64(delta)).sum(0)
    assert_close(grad_W, f64(delta).T @ f64(A_prev), dtype, scale_W)
    assert_close(grad_b, f64(delta).sum(0), dtype, scale_b)
    ref_W, ref_b = reference.weight_gradient(delta.tolist(), A_prev.tolist())
    assert_close(grad_W, ref_W, dtype, scale_W)
    assert_close(grad_b, ref_b, dtype, scale_b)


@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=str)
def test_weight_gradient_edge_shapes(dtype, any_path, shape):
    rows, n_in, n_out = shape
    rng = np.random.default_rng(sum(shape) + 2)
    delta, A_prev = random_arrays(rng, dtype, (rows, n_out), (rows, n_in))
    grad_W, grad_b = nan_filled((n_out, n_in), dtype), nan_filled(n_out, dtype)
    _kernels.weight_gradient(delta, A_prev, grad_W, grad_b)
    assert_close(grad_W, f64(delta).T @ f64(A_prev), dtype, np.abs(f64(delta)).T @ np.abs(f64(A_prev)))
    assert_close(grad_b, f64(delta).sum(0), dtype, np.abs(f64(delta)).sum(0))


# --- sgd_update ----------------------------------------------------------------

@given(data=st.data())
def test_sgd_update_any_shape(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=5))
    param = data.draw(arrays(dtype, shape))
    grad = data.draw(arrays(dtype, shape))
    lr = data.draw(learning_rates)
    expected = f64(param) - f64(dtype.type(lr)) * f64(grad)
    scale = np.abs(f64(param)) + lr * np.abs(f64(grad))
    grad_before = grad.copy()
    _kernels.sgd_update(param, grad, lr)
    np.testing.assert_array_equal(grad, grad_before)
    assert param.shape == shape and param.dtype == dtype
    # Two roundings: rtol is far above them, but honest either way.
    assert_close(param, expected, dtype, scale)


@given(data=st.data())
def test_sgd_update_matches_reference(dtype, data):
    rows, cols = data.draw(widths), data.draw(widths)
    param = data.draw(arrays(dtype, (rows, cols)))
    grad = data.draw(arrays(dtype, (rows, cols)))
    lr = float(dtype.type(data.draw(learning_rates)))  # representable in dtype
    expected = reference.sgd_update(param.tolist(), grad.tolist(), lr)
    expected_vector = reference.sgd_update(param[0].tolist(), grad[0].tolist(), lr)
    scale = np.abs(f64(param)) + lr * np.abs(f64(grad))
    vector, vector_grad = param[0].copy(), grad[0].copy()
    _kernels.sgd_update(param, grad, lr)
    _kernels.sgd_update(vector, vector_grad, lr)
    assert_close(param, expected, dtype, scale)
    assert_close(vector, expected_vector, dtype, scale[0])


def test_sgd_update_of_empty_arrays_is_a_no_op(dtype):
    param, grad = np.empty((0, 3), dtype=dtype), np.empty((0, 3), dtype=dtype)
    _kernels.sgd_update(param, grad, 0.5)
    assert param.shape == (0, 3)


# --- fused_gradient_step -------------------------------------------------------

@given(data=st.data())
def test_fused_gradient_step(dtype, matmul_path, data):
    rows, n_in, n_out = data.draw(widths), data.draw(widths), data.draw(widths)
    delta = data.draw(arrays(dtype, (rows, n_out), -1.0, 1.0))
    A_prev = data.draw(arrays(dtype, (rows, n_in), -1.0, 1.0))
    W = data.draw(arrays(dtype, (n_out, n_in)))
    b = data.draw(arrays(dtype, (n_out,)))
    lr = float(dtype.type(data.draw(learning_rates)))
    W0, b0 = W.copy(), b.copy()
    _kernels.fused_gradient_step(delta, A_prev, W, b, lr)
    grad_W, grad_b = f64(delta).T @ f64(A_prev), f64(delta).sum(0)
    scale_W = np.abs(f64(W0)) + lr * (np.abs(f64(delta)).T @ np.abs(f64(A_prev)))
    scale_b = np.abs(f64(b0)) + lr * np.abs(f64(delta)).sum(0)
    assert_close(W, f64(W0) - lr * grad_W, dtype, scale_W)
    assert_close(b, f64(b0) - lr * grad_b, dtype, scale_b)
    ref_W, ref_b = reference.weight_gradient(delta.tolist(), A_prev.tolist())
    assert_close(W, reference.sgd_update(W0.tolist(), ref_W, lr), dtype, scale_W)
    assert_close(b, reference.sgd_update(b0.tolist(), ref_b, lr), dtype, scale_b)


@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=str)
def test_fused_gradient_step_edge_shapes(dtype, any_path, shape):
    rows, n_in, n_out = shape
    rng = np.random.default_rng(sum(shape) + 3)
    delta, A_prev, W, b = random_arrays(rng, dtype, (rows, n_out), (rows, n_in), (n_out, n_in), (n_out,))
    lr = 0.25
    W0, b0 = W.copy(), b.copy()
    _kernels.fused_gradient_step(delta, A_prev, W, b, lr)
    scale_W = np.abs(f64(W0)) + lr * (np.abs(f64(delta)).T @ np.abs(f64(A_prev)))
    assert_close(W, f64(W0) - lr * (f64(delta).T @ f64(A_prev)), dtype, scale_W)
    assert_close(b, f64(b0) - lr * f64(delta).sum(0), dtype, np.abs(f64(b0)) + lr * np.abs(f64(delta)).sum(0))


def test_fused_gradient_step_equals_weight_gradient_then_sgd_update(dtype, matmul_path):
    rng = np.random.default_rng(7)
    delta, A_prev, W, b = random_arrays(rng, dtype, (9, 4), (9, 6), (4, 6), (4,))
    lr = 0.5
    W_fused, b_fused = W.copy(), b.copy()
    _kernels.fused_gradient_step(delta, A_prev, W_fused, b_fused, lr)
    grad_W, grad_b = np.empty_like(W), np.empty_like(b)
    _kernels.weight_gradient(delta, A_prev, grad_W, grad_b)
    _kernels.sgd_update(W, grad_W, lr)
    _kernels.sgd_update(b, grad_b, lr)
    scale = np.abs(f64(W)) + lr * (np.abs(f64(delta)).T @ np.abs(f64(A_prev)))
    assert_close(W_fused, W, dtype, scale)
    assert_close(b_fused, b, dtype, np.abs(f64(b)) + lr * np.abs(f64(delta)).sum(0))
