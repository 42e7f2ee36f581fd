"""Every wrapper of ``fastprop._kernels`` against a one-line NumPy reference and
against the plain-Python ``fastprop.reference``, in float32 and float64, on
random shapes (hypothesis) including width-1 layers and a batch of one, with the
products both in the plain loops and in BLAS GEMM; then the wrappers' own checks.

Tolerances. The references are evaluated in float64 from the very same inputs
(float32 inputs are exactly representable in float64), so what is measured is
the kernel's own rounding. A sum of k products carries an error of at most about
k·ε·Σ|terms| (ε = 2⁻⁵³ or 2⁻²⁴); with k ≤ 64 that is below 1e-14 (float64) and
4e-6 (float32) of Σ|terms|. So every comparison is
``|got − expected| ≤ rtol·(|expected| + scale)`` with rtol = 1e-12 (float64) or
1e-5 (float32) and ``scale`` the sum of the magnitudes of the terms that were
added up (|A|·|W|ᵀ + |b| and the like), which keeps the test honest where
terms cancel.
"""
import decimal
import math
import os
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastprop import _kernels, reference

RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# Below the smallest normal number only absolute precision is left (products of
# tiny inputs underflow to zero): a floor far below any value that matters.
UNDERFLOW = {dtype: 16 * float(np.finfo(dtype).tiny) for dtype in RTOL}
OTHER = {np.dtype(np.float32): np.dtype(np.float64), np.dtype(np.float64): np.dtype(np.float32)}


# --- helpers -------------------------------------------------------------------

def assert_close(actual, expected, dtype, scale=0.0):
    """|actual − expected| ≤ rtol·(|expected| + scale) + underflow floor, elementwise."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    rtol = RTOL[np.dtype(dtype)]
    bound = rtol * (np.abs(expected) + scale) + UNDERFLOW[np.dtype(dtype)]
    error = np.abs(actual - expected)
    worst = np.argmax(error - bound) if error.size else 0
    assert np.all(error <= bound), (
        f"max violation at flat index {worst}: got {actual.flat[worst]!r}, "
        f"expected {expected.flat[worst]!r}, bound {bound.flat[worst]!r}")


def f64(array):
    return np.asarray(array, dtype=np.float64)


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))  # only ever given moderate z here


def element_floats(dtype, low=-4.0, high=4.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False,
                     width=8 * np.dtype(dtype).itemsize)


def arrays(dtype, shape, low=-4.0, high=4.0):
    return hnp.arrays(dtype, shape, elements=element_floats(dtype, low, high))


widths = st.integers(1, 8)
learning_rates = st.floats(1e-3, 2.0)


def nan_filled(shape, dtype):
    """An output buffer full of NaN, so that any element a kernel forgets to write shows."""
    return np.full(shape, np.nan, dtype=dtype)


def random_arrays(rng, dtype, *shapes, low=-2.0, high=2.0):
    return [rng.uniform(low, high, size=shape).astype(dtype) for shape in shapes]


def ulp_distance_ok(got, exact, n_ulps):
    return abs(got - exact) <= n_ulps * np.spacing(type(got)(abs(exact)))


# --- the loop/BLAS threshold ---------------------------------------------------

def test_blas_thresholds_default_and_setter():
    defaults = {dtype: _kernels.blas_min_multiply_adds(dtype) for dtype in (np.float32, np.float64)}
    assert _kernels.blas_min_multiply_adds() == defaults[np.float64]
    for dtype, default in defaults.items():
        assert isinstance(default, int) and default > 0
        assert default == _kernels.default_product_thresholds(dtype)[1]
    try:
        _kernels.set_blas_min_multiply_adds(0)
        assert [_kernels.blas_min_multiply_adds(d) for d in defaults] == [0, 0]
        _kernels.set_blas_min_multiply_adds(12345, np.float32)
        assert [_kernels.blas_min_multiply_adds(d) for d in defaults] == [12345, 0]
        _kernels.set_blas_min_multiply_adds(777, "float64")
        assert [_kernels.blas_min_multiply_adds(d) for d in defaults] == [12345, 777]
        with pytest.raises(ValueError, match=r"value must be >= 0, got -1"):
            _kernels.set_blas_min_multiply_adds(-1)
        with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got int32"):
            _kernels.set_blas_min_multiply_adds(5, np.int32)
        with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got float16"):
            _kernels.blas_min_multiply_adds(np.float16)
        assert [_kernels.blas_min_multiply_adds(d) for d in defaults] == [12345, 777]
        with pytest.raises(TypeError):
            _kernels.set_blas_min_multiply_adds("100")
    finally:
        for dtype, default in defaults.items():
            _kernels.set_blas_min_multiply_adds(default, dtype)


def test_alone_blas_threshold_setter():
    default = _kernels.alone_blas_min_multiply_adds()
    assert 0 < default <= _kernels.blas_min_multiply_adds(np.float64)
    try:
        _kernels.set_alone_blas_min_multiply_adds(99)
        assert _kernels.alone_blas_min_multiply_adds() == 99
        with pytest.raises(ValueError, match=r"value must be >= 0, got -2"):
            _kernels.set_alone_blas_min_multiply_adds(-2)
        assert _kernels.alone_blas_min_multiply_adds() == 99
    finally:
        _kernels.set_alone_blas_min_multiply_adds(default)


def test_matmul_path_fixture_sets_the_thresholds(matmul_path):
    vector_min, blas_min = _kernels.vector_min_multiply_adds(), _kernels.blas_min_multiply_adds()
    assert _kernels.blas_min_multiply_adds(np.float32) == blas_min
    assert (blas_min == 0) == (matmul_path == "blas")
    assert (vector_min == 0) == (matmul_path == "vector")
    if matmul_path == "loops":
        assert vector_min >= 2 ** 62 and blas_min >= 2 ** 62


def test_vector_threshold_default_and_setter():
    vector_min, blas_min = _kernels.default_product_thresholds()
    assert (_kernels.vector_min_multiply_adds(), _kernels.blas_min_multiply_adds()) == (
        vector_min, blas_min)
    if not _kernels.vector_products_available():
        assert vector_min >= 2 ** 62
        with pytest.raises(ValueError, match="AVX2/FMA product kernels are not available"):
            _kernels.set_vector_min_multiply_adds(0)
        assert _kernels.vector_min_multiply_adds() == vector_min
        return
    assert 0 < vector_min < blas_min
    try:
        _kernels.set_vector_min_multiply_adds(7)
        assert _kernels.vector_min_multiply_adds() == 7
        with pytest.raises(ValueError, match=r"value must be >= 0, got -3"):
            _kernels.set_vector_min_multiply_adds(-3)
        assert _kernels.vector_min_multiply_adds() == 7
        with pytest.raises(TypeError):
            _kernels.set_vector_min_multiply_adds(1.5)
    finally:
        _kernels.set_vector_min_multiply_adds(vector_min)


# --- sigmoid -------------------------------------------------------------------

@given(data=st.data())
def test_sigmoid_matches_references_on_any_finite_input(dtype, data):
    z = data.draw(hnp.arrays(dtype, st.integers(1, 40),
                             elements=st.floats(allow_nan=False, allow_infinity=False,
                                                width=8 * dtype.itemsize)))
    out = nan_filled(z.shape, dtype)
    z_before = z.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _kernels.sigmoid(z, out)
    np.testing.assert_array_equal(z, z_before)
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    expected = np.array([reference.sigmoid(float(v)) for v in z])
    # The kernel's exp is its own (vectorisable) approximation, within 2 ulps of
    # the exact sigmoid; the reference's math.exp and two roundings add about 2
    # more. Ulps are counted in the kernel's dtype, subnormal results included.
    np.testing.assert_array_max_ulp(out, expected.astype(dtype), maxulp=6)


@given(data=st.data())
def test_sigmoid_matches_numpy_one_liner_for_moderate_z(dtype, data):
    z = data.draw(arrays(dtype, st.integers(1, 40), -30.0, 30.0))
    out = nan_filled(z.shape, dtype)
    _kernels.sigmoid(z, out)
    # 1/(1 + exp(-z)) is accurate to a few ulps for |z| <= 30 (no cancellation).
    np.testing.assert_allclose(out, np_sigmoid(f64(z)), rtol=1e-15 if dtype == np.float64 else 1e-6)


EXTREMES = {
    np.dtype(np.float64): [1e308, -1e308, np.finfo(np.float64).max, -np.finfo(np.float64).max,
                           1e4, -1e4, 745.0, -745.0, 746.0, -746.0, 710.0, -710.0],
    np.dtype(np.float32): [3e38, -3e38, np.finfo(np.float32).max, -np.finfo(np.float32).max,
                           1e4, -1e4, 88.0, -88.0, 89.0, -89.0, 104.0, -104.0, 110.0, -110.0],
}


def test_sigmoid_is_finite_in_unit_interval_without_warnings_at_extremes(dtype):
    z = np.array(EXTREMES[dtype], dtype=dtype)
    out = nan_filled(z.shape, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _kernels.sigmoid(z, out)
    assert np.all(np.isfinite(out))
    assert np.all((out >= 0) & (out <= 1))
    huge = np.abs(z) >= 1e4
    np.testing.assert_array_equal(out[huge & (z > 0)], 1.0)
    np.testing.assert_array_equal(out[huge & (z < 0)], 0.0)
    # In the negative tail, sigma(z) = e^z / (1 + e^z) > 0 while e^z is representable.
    tail = {np.dtype(np.float64): -745.0, np.dtype(np.float32): -103.0}[dtype]
    assert np.all(out[(z < 0) & (z >= tail)] > 0)


def test_sigmoid_of_zero_is_one_half(dtype):
    z = np.array([0.0, -0.0], dtype=dtype)
    out = nan_filled(2, dtype)
    _kernels.sigmoid(z, out)
    assert out[0] == 0.5 and out[1] == 0.5


@given(data=st.data())
def test_sigmoid_symmetry(dtype, data):
    z = data.draw(hnp.arrays(dtype, st.integers(1, 30),
                             elements=st.floats(0, 1e4, width=8 * dtype.itemsize)))
    positive, negative = nan_filled(z.shape, dtype), nan_filled(z.shape, dtype)
    _kernels.sigmoid(z, positive)
    _kernels.sigmoid(-z, negative)
    # sigma(-z) = 1 - sigma(z): each side is within a couple of ulps of 1.
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(f64(negative), 1.0 - f64(positive), rtol=0, atol=2 * eps)
    assert np.all(positive >= 0.5) and np.all(negative <= 0.5)


SMALL_AND_TAIL_Z = [1e-30, -1e-30, 2.0 ** -30, -(2.0 ** -30), 1e-8, -1e-8, 0.1, -0.1, 0.5,
                    -0.5, 1.0, -1.0, 2.0, -2.0, 10.0, -10.0, 20.0, -20.0, -40.0, -80.0]


def exact_sigmoid(z):
    """sigma(z) of the binary value z, to 50 significant digits."""
    with decimal.localcontext() as context:
        context.prec = 50
        return float(1 / (1 + (-decimal.Decimal(float(z))).exp()))


@pytest.mark.parametrize("z", SMALL_AND_TAIL_Z + [-300.0, -700.0])
def test_sigmoid_is_accurate_to_a_few_ulps(dtype, z):
    if dtype == np.float32 and abs(z) > 80:
        pytest.skip("beyond float32's normal range")
    value = dtype.type(z)
    out = nan_filled(1, dtype)
    _kernels.sigmoid(np.array([value]), out)
    exact = exact_sigmoid(value)
    # Tiny z: sigma(z) = 1/2 + z/4 + ..., so sigma(±1e-30) rounds to exactly 1/2.
    if abs(z) < 1e-20:
        assert out[0] == 0.5
    assert ulp_distance_ok(out[0], exact, 4), (out[0], exact)
    if z <= -20:
        # The negative tail keeps full relative precision: sigma(z) ≈ e^z.
        assert out[0] == pytest.approx(math.exp(float(value)) / (1 + math.exp(float(value))),
                                       rel=4 * float(np.finfo(dtype).eps))


@pytest.mark.parametrize("low, high, case_dtype", [
    (-746.0, -700.0, np.dtype(np.float64)),   # e^z goes subnormal near -708, to 0 near -745
    (-104.5, -80.0, np.dtype(np.float32)),    # the same for float32: -87 and -103
    (-40.0, 40.0, np.dtype(np.float64)),
    (-20.0, 20.0, np.dtype(np.float32)),
])
def test_sigmoid_in_ulps_of_the_exact_value_across_ranges(low, high, case_dtype):
    z = np.linspace(low, high, 1001).astype(case_dtype)
    out = nan_filled(z.shape, case_dtype)
    _kernels.sigmoid(z, out)
    exact = np.array([exact_sigmoid(v) for v in z]).astype(case_dtype)
    # Subnormal results are counted in subnormal ulps: "exact into subnormals".
    np.testing.assert_array_max_ulp(out, exact, maxulp=4)


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
DEFAULT_THRESHOLDS = sorted({t for dtype in (np.float32, np.float64)
                             for t in _kernels.default_product_thresholds(dtype) if t < 2 ** 62})
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


def check_hidden_delta_against_numpy(delta_next, W_next, A, dtype):
    delta = nan_filled(A.shape, dtype)
    _kernels.hidden_delta(delta_next, W_next, A, delta)
    derivative = f64(A) * (1 - f64(A))
    scale = (np.abs(f64(delta_next)) @ np.abs(f64(W_next))) * derivative
    assert_close(delta, (f64(delta_next) @ f64(W_next)) * derivative, dtype, scale)


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


# --- all_finite ----------------------------------------------------------------

@given(data=st.data())
def test_all_finite(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=6))
    values = data.draw(hnp.arrays(dtype, shape, elements=st.floats(
        allow_nan=False, allow_infinity=False, width=8 * dtype.itemsize)))
    assert _kernels.all_finite(values) is True
    bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    position = data.draw(st.integers(0, values.size - 1))
    values.reshape(-1)[position] = bad
    assert _kernels.all_finite(values) is False
    assert _kernels.all_finite(values) == bool(np.isfinite(values).all())


def test_all_finite_edge_values(dtype):
    info = np.finfo(dtype)
    assert _kernels.all_finite(np.array([info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0],
                                        dtype=dtype))
    assert _kernels.all_finite(np.empty((0, 4), dtype=dtype))
    assert not _kernels.all_finite(np.array([[0.0, 0.0], [0.0, np.nan]], dtype=dtype))


@pytest.mark.parametrize("position", [0, 4095, 4096, 4097, 12287, 20000 - 1])
@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_value_in_any_block(dtype, position, bad):
    # The check runs in blocks of 4096 values: a bad value at either end of a
    # block, or in the last, partial block, is found.
    values = np.random.default_rng(position).uniform(-1e30, 1e30, 20000).astype(dtype)
    assert _kernels.all_finite(values)
    values[position] = bad
    assert not _kernels.all_finite(values)


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


def train_buffers(sizes, dtype, batch_rows, shuffled, extra_rows=0):
    rows = batch_rows + extra_rows
    activations = [nan_filled((rows, width), dtype) for width in sizes[1:]]
    deltas = [nan_filled((rows, width), dtype) for width in sizes[1:]]
    if shuffled:
        return activations, deltas, nan_filled((rows, sizes[0]), dtype), nan_filled((rows, sizes[-1]), dtype)
    return activations, deltas, None, None


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


def make_training_problem(dtype, sizes=(3, 4, 2), n=10, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 1, (n_out, n_in)).astype(dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-0.5, 0.5, n_out).astype(dtype) for n_out in sizes[1:]]
    X = rng.uniform(-1, 1, (n, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (n, sizes[-1])).astype(dtype)
    return list(sizes), weights, biases, X, Y


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


# --- the wrappers' own checks --------------------------------------------------

def valid_arguments(name, dtype, rows=3, n_in=4, n_out=2):
    """Valid arguments (names, values, names of outputs) of a wrapper; every side >= 2."""
    rng = np.random.default_rng(0)

    def r(*shape, low=-1.0, high=1.0):
        return rng.uniform(low, high, size=shape).astype(dtype)

    if name == "sigmoid":
        return {"z": r(5), "out": r(5)}, {"out"}
    if name == "dense_sigmoid_forward":
        return {"A_in": r(rows, n_in), "W": r(n_out, n_in), "b": r(n_out), "A_out": r(rows, n_out)}, {"A_out"}
    if name == "output_delta":
        return {"A": r(rows, n_out, low=0), "Y": r(rows, n_out), "delta": r(rows, n_out)}, {"delta"}
    if name == "hidden_delta":
        return {"delta_next": r(rows, n_out), "W_next": r(n_out, n_in), "A": r(rows, n_in, low=0),
                "delta": r(rows, n_in)}, {"delta"}
    if name == "weight_gradient":
        return {"delta": r(rows, n_out), "A_prev": r(rows, n_in), "grad_W": r(n_out, n_in),
                "grad_b": r(n_out)}, {"grad_W", "grad_b"}
    if name == "sgd_update":
        return {"param": r(rows, n_in), "grad": r(rows, n_in), "lr": 0.5}, {"param"}
    if name == "fused_gradient_step":
        return {"delta": r(rows, n_out), "A_prev": r(rows, n_in), "W": r(n_out, n_in), "b": r(n_out),
                "lr": 0.5}, {"W", "b"}
    raise AssertionError(name)


ELEMENTWISE_WRAPPERS = ["sigmoid", "dense_sigmoid_forward", "output_delta", "hidden_delta",
                        "weight_gradient", "sgd_update", "fused_gradient_step"]


def call(name, arguments):
    return getattr(_kernels, name)(*arguments.values())


def non_contiguous_copy(array):
    """The same values and shape, as a strided (not C-contiguous) view."""
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
    view = wide[..., ::2]
    view[...] = array
    assert not view.flags.c_contiguous
    return view


def bad_variants(name, dtype):
    """(description, arguments, exception, match) for one wrong argument at a time."""
    arguments, outputs = valid_arguments(name, dtype)
    array_names = [key for key, value in arguments.items() if isinstance(value, np.ndarray)]
    for key in array_names:
        value = arguments[key]

        def replaced(new, key=key):
            changed = dict(arguments)
            changed[key] = new
            return changed

        yield f"{key} int64", replaced(value.astype(np.int64)), TypeError, r"dtype"
        yield f"{key} mixed dtype", replaced(value.astype(OTHER[dtype])), TypeError, r"dtype"
        if key == array_names[0] or key in outputs:
            yield f"{key} list", replaced(value.tolist()), TypeError, r"numpy\.ndarray"
            yield f"{key} float16", replaced(value.astype(np.float16)), TypeError, r"dtype"
        yield f"{key} non-contiguous", replaced(non_contiguous_copy(value)), ValueError, r"C-contiguous"
        if value.ndim == 2:
            yield (f"{key} Fortran", replaced(np.asfortranarray(value)), ValueError, r"C-contiguous")
        if key in outputs:
            read_only = value.copy()
            read_only.setflags(write=False)
            yield f"{key} read-only", replaced(read_only), ValueError, r"writable"
        if not (name == "sgd_update" and key == "param") and key != array_names[0]:
            yield (f"{key} extra column", replaced(np.zeros(value.shape[:-1] + (value.shape[-1] + 1,), dtype)),
                   ValueError, r"must have shape")
            yield (f"{key} wrong rank", replaced(value[..., None].copy()), ValueError, r"must be \d-D|must have shape")
        if key == array_names[0] and name != "sgd_update":
            yield (f"{key} wrong rank", replaced(value.reshape(-1)[None, None].copy() if value.ndim == 1
                                                 else value.reshape(-1).copy()),
                   ValueError, r"must be \d-D")
    if name == "sgd_update":
        yield "grad wrong shape", dict(arguments, grad=arguments["grad"].T.copy()), ValueError, r"must have shape"
    if name in ("dense_sigmoid_forward", "output_delta", "hidden_delta", "weight_gradient",
                "fused_gradient_step"):
        # Empty batches are refused (there is no first element to point at).
        empty = {key: (np.zeros((0,) + value.shape[1:], dtype)
                       if isinstance(value, np.ndarray) and value.ndim == 2
                       and key not in ("W", "W_next", "grad_W") else value)
                 for key, value in arguments.items()}
        yield "empty batch", empty, ValueError, r"must not be empty"


ALL_BAD_CASES = [(name, description, dtype)
                 for name in ELEMENTWISE_WRAPPERS
                 for dtype in (np.dtype(np.float32), np.dtype(np.float64))
                 for description, *_ in bad_variants(name, np.dtype(dtype))]


@pytest.mark.parametrize("name, description, case_dtype", ALL_BAD_CASES,
                         ids=[f"{n}-{d}-{t.name}" for n, d, t in ALL_BAD_CASES])
def test_wrapper_rejects_bad_argument(name, description, case_dtype):
    (arguments, exception, match), = [(a, e, m) for d, a, e, m in bad_variants(name, case_dtype)
                                      if d == description]
    snapshots = {key: value.copy() for key, value in arguments.items() if isinstance(value, np.ndarray)}
    with pytest.raises(exception, match=match):
        call(name, arguments)
    for key, before in snapshots.items():  # nothing was written
        np.testing.assert_array_equal(arguments[key], before)


@pytest.mark.parametrize("name", ["dense_sigmoid_forward", "hidden_delta", "weight_gradient",
                                  "fused_gradient_step", "output_delta"])
def test_wrapper_rejects_mismatched_inner_sizes(dtype, name):
    arguments, _ = valid_arguments(name, dtype)
    first, second = list(arguments)[:2]
    # Same first array, second array one row or column too many: never read out of bounds.
    bigger = np.zeros((arguments[second].shape[0] + 1, arguments[second].shape[1] + 1), dtype)
    with pytest.raises(ValueError, match=r"must have shape"):
        call(name, dict(arguments, **{second: bigger}))


def test_wrappers_reject_non_arrays_and_none(dtype):
    with pytest.raises(TypeError, match=r"z must be a numpy\.ndarray, got NoneType"):
        _kernels.sigmoid(None, np.zeros(3, dtype))
    with pytest.raises(TypeError, match=r"out must be a numpy\.ndarray, got list"):
        _kernels.sigmoid(np.zeros(3, dtype), [0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match=r"values must be a numpy\.ndarray"):
        _kernels.all_finite([1.0, 2.0])
    with pytest.raises(TypeError, match=r"values must have dtype float32 or float64, got int64"):
        _kernels.all_finite(np.arange(3))
    with pytest.raises(ValueError, match=r"values must be C-contiguous"):
        _kernels.all_finite(np.zeros((4, 4), dtype)[:, ::2])
    with pytest.raises(TypeError):
        _kernels.sgd_update(np.zeros(3, dtype), np.zeros(3, dtype), "0.5")


# --- network_forward and train_epochs: their own checks -------------------------

def valid_network_arguments(dtype, shuffled=True):
    sizes, weights, biases, X, Y = make_training_problem(dtype, sizes=(3, 4, 2), n=6)
    activations, deltas, batch_X, batch_Y = train_buffers(sizes, dtype, 4, True)
    orders = np.array([np.random.default_rng(1).permutation(6)], dtype=np.int64) if shuffled else None
    return dict(sizes=sizes, weights=weights, biases=biases, X=X, Y=Y, orders=orders, start=0, stop=6,
                batch_size=4, lr=0.5, mean_loss=False, activations=activations, deltas=deltas,
                batch_X=batch_X, batch_Y=batch_Y, epoch_losses=np.zeros(1))


def _read_only(array):
    array = array.copy()
    array.setflags(write=False)
    return array


def train_epochs_bad_cases(dtype):
    other = OTHER[dtype]
    v = valid_network_arguments(dtype)
    W, b, acts = v["weights"], v["biases"], v["activations"]
    yield "X int", dict(X=v["X"].astype(np.int64)), TypeError, r"X must have dtype float32 or float64"
    yield "X list", dict(X=v["X"].tolist()), TypeError, r"X must be a numpy\.ndarray"
    yield "Y other dtype", dict(Y=v["Y"].astype(other)), TypeError, r"Y must have dtype"
    yield "X non-contiguous", dict(X=non_contiguous_copy(v["X"])), ValueError, r"X must be C-contiguous"
    yield "X wrong width", dict(X=np.zeros((6, 4), dtype)), ValueError, r"X must have 3 columns"
    yield "X empty", dict(X=np.zeros((0, 3), dtype)), ValueError, r"X must not be empty"
    yield "Y wrong shape", dict(Y=np.zeros((6, 3), dtype)), ValueError, r"Y must have shape \(6, 2\)"
    yield "Y too few rows", dict(Y=np.zeros((5, 2), dtype)), ValueError, r"Y must have shape"
    yield "weights other dtype", dict(weights=[W[0].astype(other), W[1]]), TypeError, r"weights\[0\] must have dtype"
    yield "weights read-only", dict(weights=[W[0], _read_only(W[1])]), ValueError, r"weights\[1\] must be writable"
    yield "weights wrong shape", dict(weights=[W[0].T.copy(), W[1]]), ValueError, r"weights\[0\] must have shape"
    yield "one weight too few", dict(weights=W[:1]), ValueError, r"one entry per layer"
    yield "biases wrong shape", dict(biases=[b[0][:3].copy(), b[1]]), ValueError, r"biases\[0\] must have shape"
    yield "sizes disagree", dict(sizes=[3, 5, 2]), ValueError, r"weights\[0\] must have shape"
    yield "sizes zero", dict(sizes=[3, 0, 2]), ValueError, r"layer sizes must be >= 1"
    yield "activations too short", dict(activations=[acts[0][:2].copy(), acts[1]]), ValueError, r"at least 4 rows"
    yield "activations wrong width", dict(activations=[acts[1], acts[1]]), ValueError, r"activations\[0\]"
    yield "activations one too few", dict(activations=acts[:1]), ValueError, r"activations must have one entry"
    yield "deltas read-only", dict(deltas=[_read_only(d) for d in v["deltas"]]), ValueError, r"deltas\[0\] must be writable"
    yield "deltas other dtype", dict(deltas=[d.astype(other) for d in v["deltas"]]), TypeError, r"deltas\[0\]"
    yield "orders float", dict(orders=v["orders"].astype(np.float64)), TypeError, r"orders must have dtype int64"
    yield "orders int32", dict(orders=v["orders"].astype(np.int32)), TypeError, r"orders must have dtype int64"
    yield "orders 1-D", dict(orders=v["orders"][0].copy()), ValueError, r"orders must be 2-D"
    yield "orders too short", dict(orders=v["orders"][:, :5].copy()), ValueError, r"orders must have shape \(1, 6\)"
    yield "orders one epoch too many", dict(orders=np.zeros((2, 6), np.int64)), ValueError, r"orders must have shape"
    yield "orders index too big", dict(orders=np.array([[0, 1, 2, 3, 4, 6]])), ValueError, r"orders must hold sample indices in \[0, 6\)"
    yield "orders negative", dict(orders=np.array([[0, 1, 2, 3, 4, -1]])), ValueError, r"orders must hold sample indices"
    yield "batch_X missing", dict(batch_X=None), TypeError, r"batch_X must be a numpy\.ndarray"
    yield "batch_X too short", dict(batch_X=np.zeros((3, 3), dtype)), ValueError, r"batch_X must have at least 4 rows"
    yield "batch_Y wrong width", dict(batch_Y=np.zeros((4, 3), dtype)), ValueError, r"batch_Y must have at least 4 rows and 2 columns"
    yield "batch_Y read-only", dict(batch_Y=_read_only(v["batch_Y"])), ValueError, r"batch_Y must be writable"
    yield "epoch_losses float32", dict(epoch_losses=np.zeros(1, np.float32)), TypeError, r"epoch_losses must be"
    yield "epoch_losses read-only", dict(epoch_losses=_read_only(np.zeros(1))), TypeError, r"epoch_losses must be"
    yield "epoch_losses 2-D", dict(epoch_losses=np.zeros((1, 1))), TypeError, r"epoch_losses must be"
    yield "epoch_losses list", dict(epoch_losses=[0.0]), TypeError, r"epoch_losses must be"
    yield "batch_size zero", dict(batch_size=0), ValueError, r"batch_size must be >= 1, got 0"
    yield "batch_size negative", dict(batch_size=-3), ValueError, r"batch_size must be >= 1"
    yield "start negative", dict(start=-1), ValueError, r"need 0 <= start <= stop <= 6"
    yield "stop too big", dict(stop=7), ValueError, r"need 0 <= start <= stop <= 6"
    yield "start after stop", dict(start=5, stop=4), ValueError, r"need 0 <= start <= stop"


TRAIN_BAD = [(d, t) for t in (np.dtype(np.float32), np.dtype(np.float64))
             for d, *_ in train_epochs_bad_cases(t)]


@pytest.mark.parametrize("description, case_dtype", TRAIN_BAD, ids=[f"{d}-{t.name}" for d, t in TRAIN_BAD])
def test_train_epochs_rejects_bad_argument(description, case_dtype):
    (changes, exception, match), = [(c, e, m) for d, c, e, m in train_epochs_bad_cases(case_dtype)
                                    if d == description]
    arguments = dict(valid_network_arguments(case_dtype), **changes)
    weights_before = [w.copy() for w in arguments["weights"]]
    biases_before = [b.copy() for b in arguments["biases"]]
    losses = arguments["epoch_losses"]
    losses_before = np.array(losses, dtype=np.float64, copy=True)
    with pytest.raises(exception, match=match):
        _kernels.train_epochs(**arguments)
    for got, before in zip(arguments["weights"] + arguments["biases"], weights_before + biases_before):
        np.testing.assert_array_equal(got, before)
    np.testing.assert_array_equal(np.asarray(losses, dtype=np.float64), losses_before)


def test_train_epochs_valid_arguments_are_valid(dtype):
    # The base of the bad cases above runs, and with orders=None needs no batch buffers.
    _kernels.train_epochs(**valid_network_arguments(dtype))
    _kernels.train_epochs(**dict(valid_network_arguments(dtype, shuffled=False), batch_X=None, batch_Y=None))


def network_forward_bad_cases(dtype):
    other = OTHER[dtype]
    v = valid_network_arguments(dtype)
    acts = [np.zeros((6, 4), dtype), np.zeros((6, 2), dtype)]
    yield "X other dtype", dict(X=v["X"].astype(np.int32)), TypeError, r"X must have dtype float32 or float64"
    yield "X 1-D", dict(X=v["X"][0].copy()), ValueError, r"X must be 2-D"
    yield "X non-contiguous", dict(X=non_contiguous_copy(v["X"])), ValueError, r"X must be C-contiguous"
    yield "X wrong width", dict(X=np.zeros((6, 2), dtype)), ValueError, r"X must have 3 columns, got 2"
    yield "X empty", dict(X=np.zeros((0, 3), dtype)), ValueError, r"X must not be empty"
    yield "activations too short", dict(activations=[acts[0][:5].copy(), acts[1]]), ValueError, r"at least 6 rows"
    yield "activations wrong width", dict(activations=[acts[0], np.zeros((6, 3), dtype)]), ValueError, r"activations\[1\]"
    yield "activations read-only", dict(activations=[acts[0], _read_only(acts[1])]), ValueError, r"activations\[1\] must be writable"
    yield "activations other dtype", dict(activations=[acts[0].astype(other), acts[1]]), TypeError, r"activations\[0\] must have dtype"
    yield "activations one too few", dict(activations=acts[:1]), ValueError, r"activations must have one entry per layer"
    yield "weights other dtype", dict(weights=[v["weights"][0], v["weights"][1].astype(other)]), TypeError, r"weights\[1\]"
    yield "weights don't chain", dict(weights=[v["weights"][0], np.zeros((2, 3), dtype)]), ValueError, r"weights\[1\] must have shape \(2, 4\)"
    yield "biases missing", dict(biases=v["biases"][:1]), ValueError, r"one entry per layer"


FORWARD_BAD = [(d, t) for t in (np.dtype(np.float32), np.dtype(np.float64))
               for d, *_ in network_forward_bad_cases(t)]


@pytest.mark.parametrize("description, case_dtype", FORWARD_BAD, ids=[f"{d}-{t.name}" for d, t in FORWARD_BAD])
def test_network_forward_rejects_bad_argument(description, case_dtype):
    (changes, exception, match), = [(c, e, m) for d, c, e, m in network_forward_bad_cases(case_dtype)
                                    if d == description]
    v = valid_network_arguments(case_dtype)
    arguments = dict(sizes=v["sizes"], weights=v["weights"], biases=v["biases"], X=v["X"],
                     activations=[np.zeros((6, 4), case_dtype), np.zeros((6, 2), case_dtype)])
    arguments.update(changes)
    activations_before = [np.array(a, copy=True) for a in arguments["activations"]]
    with pytest.raises(exception, match=match):
        _kernels.network_forward(**arguments)
    for got, before in zip(arguments["activations"], activations_before):
        np.testing.assert_array_equal(got, before)


# Calls that must raise rather than crash the interpreter: each runs in a forked
# child process, so that a segmentation fault fails this test instead of the run.
CRASH_CANDIDATES = {
    "network_forward without activations":
        lambda: _kernels.network_forward([2, 1], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)), None),
    "train_epochs without activations or deltas":
        lambda: _kernels.train_epochs([2, 1], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)),
                                      np.ones((3, 1)), None, 0, 3, 3, 0.1, False, None, None, None, None,
                                      np.zeros(1)),
    "train_epochs without deltas":
        lambda: _kernels.train_epochs([2, 1], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)),
                                      np.ones((3, 1)), None, 0, 3, 3, 0.1, False, [np.ones((3, 1))], None,
                                      None, None, np.zeros(1)),
    "network_forward with no layers":
        lambda: _kernels.network_forward([2], [], [], np.ones((3, 2)), []),
    "train_epochs with no layers":
        lambda: _kernels.train_epochs([2], [], [], np.ones((3, 2)), np.ones((3, 2)), None,
                                      0, 3, 3, 0.1, False, [], [], None, None, np.zeros(1)),
    "train_epochs with a huge entry in sizes":
        lambda: _kernels.train_epochs([2, 2 ** 62], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)),
                                      np.ones((3, 1)), None, 0, 3, 3, 0.1, False, [np.ones((3, 1))],
                                      [np.ones((3, 1))], None, None, np.zeros(1)),
}

RAISED, RETURNED, OTHER_EXCEPTION = 17, 18, 19


def _run_in_child(call):
    """Exit code of a forked child that makes the call: RAISED, RETURNED, ... or -signal."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = OTHER_EXCEPTION
        try:
            call()
            code = RETURNED
        except (TypeError, ValueError):
            code = RAISED
        except BaseException:
            pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("description", list(CRASH_CANDIDATES))
def test_wrapper_raises_instead_of_crashing(description):
    outcome = _run_in_child(CRASH_CANDIDATES[description])
    assert outcome >= 0, f"the call killed the interpreter with signal {-outcome}"
    assert outcome == RAISED, {RETURNED: "returned without raising",
                               OTHER_EXCEPTION: "raised something other than TypeError/ValueError"}[outcome]


def test_trainer_keeps_alive_every_array_it_points_to(dtype):
    # _kernels.Trainer (what train_epochs and Network.fit use) keeps raw pointers
    # to the per-layer arrays between construction and run(). Whatever the caller
    # later does with its lists, those arrays must stay alive, or run() would
    # write into freed memory.
    import gc
    import weakref

    sizes, weights, biases, X, Y = make_training_problem(dtype, sizes=(3, 4, 2), n=6)
    activations, deltas, _, _ = train_buffers(sizes, dtype, 6, False)
    trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 6, False, activations, deltas)
    held = {name: weakref.ref(arrays[0]) for name, arrays in
            (("weights", weights), ("biases", biases), ("activations", activations), ("deltas", deltas))}
    for arrays in (weights, biases, activations, deltas):
        arrays[0] = arrays[0].copy()  # the caller's list now points elsewhere
    gc.collect()
    dead = [name for name, ref in held.items() if ref() is None]
    assert not dead, f"the trainer holds pointers into freed arrays: {dead}"
    trainer.run(None, 0, 6, 0.5, np.zeros(1))
