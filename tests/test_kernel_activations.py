"""The activation functions other than the sigmoid (tanh, relu, identity), the softmax,
and the steps and losses that use them, against one-line NumPy references and the
plain-Python ``fastprop.reference``, in float32 and float64, on every product route
and CPU path.

Tolerances (see ``fastprop._testing``): ``|got - expected| <= rtol * (|expected| +
scale)``, rtol 1e-12 (float64) or 1e-5 (float32), ``scale`` the sum of the
magnitudes of the terms that were added up.
"""
import decimal
import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastprop
from fastprop import _kernels, reference
from fastprop._testing import (
    RTOL,
    arrays,
    assert_close,
    available_cpu_paths,
    f64,
    nan_filled,
    random_arrays,
    widths,
)

HIDDEN = ("sigmoid", "tanh", "relu", "identity")


def np_activation(name, z):
    """f(z) in float64, one line each."""
    return {"sigmoid": lambda: 1.0 / (1.0 + np.exp(-z)), "tanh": lambda: np.tanh(z),
            "relu": lambda: np.maximum(z, 0.0), "identity": lambda: z}[name]()


def np_derivative_from_output(name, a):
    """f'(z) from a = f(z), one line each."""
    return {"sigmoid": lambda: a * (1 - a), "tanh": lambda: 1 - a * a,
            "relu": lambda: (a > 0).astype(np.float64), "identity": lambda: np.ones_like(a)}[name]()


def np_derivative_terms(name, a):
    """The magnitudes of the terms f'(z) is computed from, for the error scale: tanh's
    1 - a**2 cancels near |a| = 1, where the rounding of a * a (about an ulp of a**2) is
    large against the result; the other derivatives have no such cancellation."""
    if name == "tanh":
        return 1 + a * a
    return np.abs(np_derivative_from_output(name, a))


def np_softmax(Z):
    shifted = Z - Z.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


# --- tanh ------------------------------------------------------------------------

@given(data=st.data())
def test_tanh_matches_math_tanh_on_any_finite_input(dtype, data):
    z = data.draw(hnp.arrays(dtype, st.integers(1, 40),
                             elements=st.floats(allow_nan=False, allow_infinity=False,
                                                width=8 * dtype.itemsize)))
    out = nan_filled(z.shape, dtype)
    z_before = z.copy()
    _kernels.activate(z, out, "tanh")
    np.testing.assert_array_equal(z, z_before)
    expected = np.array([math.tanh(float(v)) for v in z])
    # Cephes' tanh is within 2 ulps of the exact value; math.tanh and its rounding to
    # float32 add about 1 more.
    np.testing.assert_array_max_ulp(out, expected.astype(dtype), maxulp=4)


@pytest.mark.parametrize("z", [0.0, -0.0, 1e-300, -1e-30, 1e-8, 0.3, 0.6249, 0.625, 0.6251,
                               -0.625, 1.0, 5.0, 9.0, 19.0, 44.0, 400.0, -1e30, 1e300])
def test_tanh_at_both_sides_of_its_two_forms_and_the_extremes(dtype, z):
    # The polynomial below |z| = 0.625, (1 - e) / (1 + e) from there; tiny z keep their
    # relative precision (tanh(z) = z to working precision), large ones give +-1.
    if abs(z) > float(np.finfo(dtype).max) or (z != 0 and abs(z) < float(np.finfo(dtype).tiny)):
        pytest.skip("beyond this dtype's normal range")
    value = np.array([z], dtype=dtype)
    out = nan_filled(1, dtype)
    _kernels.activate(value, out, "tanh")
    exact = math.tanh(float(value[0]))
    np.testing.assert_array_max_ulp(out, np.array([exact], dtype=dtype), maxulp=3)


def test_tanh_of_infinities_and_nan(dtype):
    z = np.array([np.inf, -np.inf, np.nan], dtype=dtype)
    out = nan_filled(3, dtype)
    _kernels.activate(z, out, "tanh")
    assert out[0] == 1 and out[1] == -1 and np.isnan(out[2])


@pytest.mark.parametrize("name", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("path", ["avx512", "avx2"])
def test_every_cpu_path_gives_the_baseline_bits(dtype, name, path):
    if path not in available_cpu_paths():
        pytest.skip(f"this CPU or build has no {path} path")
    rng = np.random.default_rng(5)
    info = np.finfo(dtype)
    z = np.concatenate([rng.standard_normal(20_000) * 3, rng.standard_normal(5_000) * 100,
                        np.linspace(-1.3, 1.3, 10_001),
                        [np.inf, -np.inf, 0.0, -0.0, float(info.tiny),
                         float(info.smallest_subnormal), float(info.max), -float(info.max)]]
                       ).astype(dtype)
    integer = np.uint32 if dtype == np.float32 else np.uint64
    for size in (z.size, 1, 3, 7, 9, 17, 33, 63, 65, 129):
        outputs = []
        for cpu in (path, "baseline"):
            out = nan_filled(size, dtype)
            with fastprop.config_context(cpu=cpu):
                _kernels.activate(z[:size].copy(), out, name)
            outputs.append(out.view(integer))
        np.testing.assert_array_equal(outputs[0], outputs[1])


def test_relu_and_identity_are_exact(dtype):
    z = np.array([-3.5, -0.0, 0.0, 1e-30, 2.5, np.inf, -np.inf], dtype=dtype)
    out = nan_filled(z.shape, dtype)
    _kernels.activate(z, out, "relu")
    np.testing.assert_array_equal(out, np.maximum(z, 0))
    _kernels.activate(z, out, "identity")
    np.testing.assert_array_equal(out, z)
    nan = np.array([np.nan], dtype=dtype)
    _kernels.activate(nan, out[:1], "relu")
    assert np.isnan(out[0])                   # NaN is not hidden as 0


def test_activate_refuses_unknown_names_and_the_softmax(dtype):
    z = np.zeros(3, dtype)
    with pytest.raises(ValueError, match="activation must be one of sigmoid, tanh"):
        _kernels.activate(z, z.copy(), "swish")
    with pytest.raises(ValueError, match="softmax is taken across rows"):
        _kernels.activate(z, z.copy(), "softmax")


# --- softmax ---------------------------------------------------------------------

@given(data=st.data())
def test_softmax_rows_match_references(dtype, data):
    rows, cols = data.draw(widths), data.draw(st.integers(1, 12))
    Z = data.draw(arrays(dtype, (rows, cols), -30.0, 30.0))
    out = Z.copy()
    _kernels.softmax_rows(out)
    expected = np_softmax(f64(Z))
    assert_close(out, expected, dtype)
    assert_close(out, [reference.softmax(row) for row in Z.tolist()], dtype)
    # Each row sums to 1 up to the rounding of its cols divisions.
    np.testing.assert_allclose(f64(out).sum(axis=1), 1.0, rtol=0, atol=4 * cols * RTOL[dtype])


def test_softmax_of_huge_logits_is_finite_and_exact_where_one_dominates(dtype):
    big = 0.5 * float(np.finfo(dtype).max)
    Z = np.array([[big, 0.0, -big], [1000.0, 1000.0, 1000.0], [-800.0, -801.0, -2000.0]],
                 dtype=dtype)
    _kernels.softmax_rows(Z)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[0], [1.0, 0.0, 0.0])
    assert_close(Z[1], [1 / 3] * 3, dtype)
    assert_close(Z[2], [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1)), 0.0], dtype)


@pytest.mark.parametrize("path", ["avx512", "avx2"])
def test_softmax_gives_the_same_bits_on_every_cpu_path(dtype, path):
    if path not in available_cpu_paths():
        pytest.skip(f"this CPU or build has no {path} path")
    Z = np.random.default_rng(2).standard_normal((97, 10)).astype(dtype) * 5
    outputs = []
    for cpu in (path, "baseline"):
        out = Z.copy()
        with fastprop.config_context(cpu=cpu):
            _kernels.softmax_rows(out)
        outputs.append(out)
    np.testing.assert_array_equal(outputs[0], outputs[1])


# --- the forward step and the hidden delta, every route --------------------------

@pytest.mark.parametrize("name", HIDDEN)
@given(data=st.data())
def test_dense_forward_with_each_activation(dtype, matmul_path, name, data):
    rows, n_in, n_out = data.draw(widths), data.draw(widths), data.draw(widths)
    A_in = data.draw(arrays(dtype, (rows, n_in)))
    W = data.draw(arrays(dtype, (n_out, n_in)))
    b = data.draw(arrays(dtype, (n_out,)))
    A_out = nan_filled((rows, n_out), dtype)
    _kernels.dense_forward(A_in, W, b, A_out, name)
    Z = f64(A_in) @ f64(W).T + f64(b)
    scale = np.abs(f64(A_in)) @ np.abs(f64(W)).T + np.abs(f64(b))
    # f' <= 1 for every function here: an error in z passes through no larger.
    assert_close(A_out, np_activation(name, Z), dtype, scale)
    assert_close(A_out, reference.dense_forward(A_in.tolist(), W.tolist(), b.tolist(), name),
                 dtype, scale)


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 40, 1), (128, 784, 256), (33, 40, 20),
                                   (64, 200, 3), (7, 3, 300)], ids=str)
@pytest.mark.parametrize("name", ["tanh", "relu", "identity"])
def test_dense_forward_on_wide_shapes(dtype, matmul_path, name, shape):
    # Wide enough for the vector kernels' panels, masked tails and narrow dot products.
    rows, n_in, n_out = shape
    rng = np.random.default_rng(sum(shape))
    A_in, W, b = random_arrays(rng, dtype, (rows, n_in), (n_out, n_in), (n_out,))
    W /= np.sqrt(n_in)
    A_out = nan_filled((rows, n_out), dtype)
    _kernels.dense_forward(A_in, W, b, A_out, name)
    Z = f64(A_in) @ f64(W).T + f64(b)
    scale = np.abs(f64(A_in)) @ np.abs(f64(W)).T + np.abs(f64(b))
    assert_close(A_out, np_activation(name, Z), dtype, scale)


@pytest.mark.parametrize("name", HIDDEN)
@given(data=st.data())
def test_hidden_delta_with_each_activation(dtype, matmul_path, name, data):
    rows, n_next, n_this = data.draw(widths), data.draw(widths), data.draw(widths)
    delta_next = data.draw(arrays(dtype, (rows, n_next)))
    W_next = data.draw(arrays(dtype, (n_next, n_this)))
    # Outputs a function can give: the sigmoid's in (0, 1), tanh's in (-1, 1), relu's >= 0.
    low, high = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, 4.0),
                 "identity": (-4.0, 4.0)}[name]
    A = data.draw(arrays(dtype, (rows, n_this), low, high))
    delta = nan_filled((rows, n_this), dtype)
    _kernels.hidden_delta(delta_next, W_next, A, delta, name)
    derivative = np_derivative_from_output(name, f64(A))
    expected = (f64(delta_next) @ f64(W_next)) * derivative
    scale = ((np.abs(f64(delta_next)) @ np.abs(f64(W_next)))
             * np_derivative_terms(name, f64(A)))
    assert_close(delta, expected, dtype, scale)
    assert_close(delta, reference.hidden_delta(delta_next.tolist(), W_next.tolist(), A.tolist(),
                                               name), dtype, scale)


@pytest.mark.parametrize("shape", [(128, 10, 256), (32, 64, 64), (5, 3, 40)], ids=str)
@pytest.mark.parametrize("name", ["tanh", "relu", "identity"])
def test_hidden_delta_on_wide_shapes(dtype, matmul_path, name, shape):
    rows, n_next, n_this = shape
    rng = np.random.default_rng(sum(shape))
    delta_next, W_next = random_arrays(rng, dtype, (rows, n_next), (n_next, n_this))
    A = np_activation(name, rng.standard_normal((rows, n_this))).astype(dtype)
    delta = nan_filled((rows, n_this), dtype)
    _kernels.hidden_delta(delta_next, W_next, A, delta, name)
    derivative = np_derivative_from_output(name, f64(A))
    expected = (f64(delta_next) @ f64(W_next)) * derivative
    scale = ((np.abs(f64(delta_next)) @ np.abs(f64(W_next)))
             * np_derivative_terms(name, f64(A)))
    assert_close(delta, expected, dtype, scale)
    if name == "relu":     # exactly zero where the unit was off, on every route
        assert np.all(delta[A == 0] == 0)


# --- the output layer: each loss ---------------------------------------------------

@given(data=st.data())
def test_squared_error_with_an_identity_output(dtype, data):
    rows, cols = data.draw(widths), data.draw(widths)
    A, Y = data.draw(arrays(dtype, (rows, cols))), data.draw(arrays(dtype, (rows, cols)))
    delta = nan_filled(A.shape, dtype)
    loss = _kernels.output_delta(A, Y, delta, "squared", "identity")
    assert loss == pytest.approx(0.5 * np.sum((f64(A) - f64(Y)) ** 2), rel=RTOL[dtype], abs=0)
    np.testing.assert_array_equal(delta, A - Y)     # one rounding each, as NumPy's


@given(data=st.data())
def test_binary_cross_entropy_from_z(dtype, data):
    rows, cols = data.draw(widths), data.draw(st.integers(1, 3))
    Z = data.draw(arrays(dtype, (rows, cols), -20.0, 20.0))
    Y = data.draw(arrays(dtype, (rows, cols), 0.0, 1.0))
    A = Z.copy()
    delta = nan_filled(Z.shape, dtype)
    loss = _kernels.output_delta(A, Y, delta, "bce", "sigmoid")
    a = 1.0 / (1.0 + np.exp(-f64(Z)))
    # The textbook's -[y log a + (1 - y) log(1 - a)] in 40 significant digits (in float64
    # it would lose digits itself where a is near 0 or 1).
    with decimal.localcontext() as context:
        context.prec = 40
        textbook = 0
        for z, y in zip(Z.ravel().tolist(), Y.ravel().tolist()):
            exact_a = 1 / (1 + (-decimal.Decimal(z)).exp())
            textbook -= (decimal.Decimal(y) * exact_a.ln()
                         + (1 - decimal.Decimal(y)) * (1 - exact_a).ln())
    assert loss == pytest.approx(float(textbook), rel=1e-12, abs=1e-300)
    assert loss == pytest.approx(reference.bce(Z.tolist(), Y.tolist()), rel=1e-12, abs=1e-300)
    assert_close(A, a, dtype)                             # the outputs replace z
    assert_close(delta, a - f64(Y), dtype, np.abs(a) + np.abs(f64(Y)))


def test_binary_cross_entropy_is_finite_for_any_finite_z(dtype):
    big = 0.25 * float(np.finfo(dtype).max)    # two of them: a sum a double can hold
    Z = np.array([[big, -big, 0.0, 1000.0, -1000.0]], dtype=dtype)
    Y = np.array([[0.0, 1.0, 0.5, 0.0, 1.0]], dtype=dtype)
    delta = nan_filled(Z.shape, dtype)
    loss = _kernels.output_delta(Z.copy(), Y, delta, "bce", "sigmoid")
    # max(z, 0) - z y + log1p(exp(-|z|)): z, z, log 2, 1000, 1000
    expected = big + big + math.log(2) + 1000 + 1000
    assert math.isfinite(loss) and loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(delta, [[1.0, -1.0, 0.0, 1.0, -1.0]])


@given(data=st.data())
def test_cross_entropy_with_probability_rows(dtype, data):
    rows, cols = data.draw(widths), data.draw(st.integers(1, 12))
    Z = data.draw(arrays(dtype, (rows, cols), -30.0, 30.0))
    raw = data.draw(arrays(dtype, (rows, cols), 0.0, 1.0)) + dtype.type(1e-3)
    Y = (raw / raw.sum(axis=1, keepdims=True)).astype(dtype)
    A = Z.copy()
    delta = nan_filled(Z.shape, dtype)
    loss = _kernels.output_delta(A, Y, delta, "cross_entropy", "softmax")
    log_softmax = f64(Z) - f64(Z).max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    expected = -np.sum(f64(Y) * log_softmax)
    scale = np.sum(f64(Y) * np.abs(log_softmax))
    assert abs(loss - expected) <= RTOL[dtype] * (abs(expected) + scale) * 10
    assert loss == pytest.approx(reference.cross_entropy(Z.tolist(), Y.tolist()),
                                 rel=RTOL[dtype] * 10, abs=RTOL[dtype] * scale * 10)
    outputs = np.exp(log_softmax)
    assert_close(A, outputs, dtype)
    assert_close(delta, outputs - f64(Y), dtype, outputs + f64(Y))
    # The outputs are the forward pass's softmax, bit for bit.
    forward = Z.copy()
    _kernels.softmax_rows(forward)
    np.testing.assert_array_equal(A, forward)


@given(data=st.data())
def test_cross_entropy_labels_give_the_bits_of_one_hot_rows(dtype, data):
    rows, cols = data.draw(widths), data.draw(st.integers(1, 12))
    Z = data.draw(arrays(dtype, (rows, cols), -30.0, 30.0))
    labels = np.array(data.draw(st.lists(st.integers(0, cols - 1), min_size=rows,
                                         max_size=rows)), dtype=np.int64)
    one_hot = np.eye(cols, dtype=dtype)[labels]
    results = []
    for targets, given_labels in ((one_hot, None), (None, labels)):
        A, delta = Z.copy(), nan_filled(Z.shape, dtype)
        loss = _kernels.output_delta(A, targets, delta, "cross_entropy", "softmax",
                                     labels=given_labels)
        results.append((loss, A, delta))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][2], results[1][2])


def test_cross_entropy_is_finite_for_huge_logits(dtype):
    big = 0.25 * float(np.finfo(dtype).max)
    Z = np.array([[big, -big, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    labels = np.array([1, 2], dtype=np.int64)
    delta = nan_filled(Z.shape, dtype)
    loss = _kernels.output_delta(Z.copy(), None, delta, "cross_entropy", "softmax",
                                 labels=labels)
    # row 0: log s - (z_1 - m) = 0 + 2 big; row 1: log 3
    assert math.isfinite(loss) and loss == pytest.approx(2 * big + math.log(3), rel=1e-6)
    assert np.all(np.isfinite(delta))


def test_output_delta_refuses_wrong_pairs_and_labels(dtype):
    A = np.zeros((2, 3), dtype)
    delta = np.zeros_like(A)
    with pytest.raises(ValueError, match="loss 'bce' takes output 'sigmoid', got 'identity'"):
        _kernels.output_delta(A, A, delta, "bce", "identity")
    with pytest.raises(ValueError, match="loss must be one of squared, bce, cross_entropy"):
        _kernels.output_delta(A, A, delta, "hinge", "sigmoid")
    with pytest.raises(ValueError, match="labels must be class indices from 0 to 2"):
        _kernels.output_delta(A, None, delta, "cross_entropy", "softmax",
                              labels=np.array([0, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="labels stand for targets only with loss 'cross_entropy'"):
        _kernels.output_delta(A, None, delta, "bce", "sigmoid",
                              labels=np.array([0, 1], dtype=np.int64))
    with pytest.raises(TypeError, match="labels must be a 1-D int64 array"):
        _kernels.output_delta(A, None, delta, "cross_entropy", "softmax",
                              labels=np.array([0, 1], dtype=np.int32))


def test_tanh_derivative_where_it_cancels(matmul_path):
    # Found by hypothesis under ThreadSanitizer's run: a = 0.9999322 in float32, where
    # 1 - a * a = 1.3554e-4 carries the rounding of a * a (about 6e-8): relative 4e-4.
    A = np.array([[0.9999322]], dtype=np.float32)
    delta = nan_filled((1, 1), np.float32)
    _kernels.hidden_delta(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), A, delta,
                          "tanh")
    a32 = np.float32(0.9999322)
    assert delta[0, 0] == np.float32(1) - a32 * a32          # float32's own 1 - a * a, exactly
    assert_close(delta, 1 - f64(A) ** 2, np.float32, np_derivative_terms("tanh", f64(A)))
