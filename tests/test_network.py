"""The ``fastprop.Network`` API contract, against ``fastprop.reference``.

Tolerances: the reference runs in plain Python floats (float64). Network results
in float64 must agree to 1e-12 of the largest magnitude in the compared set
(a handful of rounding errors of 1e-16 each, whatever cancels); float32 results
to 1e-5 of it (float32 rounding, 6e-8 per operation, over a few dozen operations).
Where the same data go through the same kernels, results are compared bit for bit.
"""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

import fastprop
from fastprop import reference

RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def assert_close(got, expected, dtype, rtol=None):
    """Elementwise within rtol (default RTOL) of the largest magnitude of ``expected``.

    ``got`` is an array, or a list of arrays and then ``expected`` is a list as long.
    """
    got_list = got if isinstance(got, list) else [got]
    expected_list = expected if isinstance(got, list) else [expected]
    expected_arrays = [np.asarray(e, dtype=np.float64) for e in expected_list]
    scale = max(float(np.max(np.abs(e))) for e in expected_arrays)
    rtol = RTOL[np.dtype(dtype)] if rtol is None else rtol
    assert len(got_list) == len(expected_arrays)
    for g, e in zip(got_list, expected_arrays):
        assert np.shape(g) == e.shape
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), e, rtol=rtol, atol=rtol * scale)


def as_lists(arrays):
    return [a.tolist() for a in arrays]


def random_network(sizes, dtype=np.float64, loss="sse", seed=0):
    """A network with weights in [-2, 2] and non-zero biases (Glorot starts them at 0)."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-2, 2, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, n_out) for n_out in sizes[1:]]
    return fastprop.Network.from_weights([w.astype(dtype) for w in weights],
                                         [b.astype(dtype) for b in biases], loss=loss, dtype=dtype)


def random_data(sizes, n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (n, sizes[0])), rng.uniform(0, 1, (n, sizes[-1]))


def loss_tolerance(W, b, X, Y, loss, dtype):
    """Absolute tolerance of a loss computed in dtype. L = ½ Σ (y − ŷ)² (over n for "mse")
    moves by Σ |y − ŷ| |δŷ| when the outputs move by δŷ, and outputs in (0, 1) computed in
    dtype are within RTOL of the exact ones. A tolerance relative to L alone fails where ŷ
    is close to y: y − ŷ then keeps few of ŷ's significant digits (a float32 output 0.315
    against a target 3.7e-3 away keeps 1 part in 1e5 of it, and L is its square)."""
    outputs = reference.forward(W, b, X)[-1]
    residual = sum(abs(y - a) for row_y, row_a in zip(Y, outputs) for y, a in zip(row_y, row_a))
    return RTOL[dtype] * residual / (len(X) if loss == "mse" else 1)


def bits(arrays):
    return [a.tobytes() for a in arrays]


@st.composite
def architectures(draw, max_depth=4, max_width=5):
    depth = draw(st.integers(1, max_depth))
    return tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))


# --- attributes ------------------------------------------------------------------

def test_defaults_and_attributes():
    net = fastprop.Network([2, 2, 1], seed=0)
    assert net.sizes == (2, 2, 1)
    assert isinstance(net.sizes, tuple) and all(type(s) is int for s in net.sizes)
    assert net.dtype == np.dtype("float64") and isinstance(net.dtype, np.dtype)
    assert net.loss == "sse" and net.activation == "sigmoid" and net.output == "sigmoid"
    assert repr(net) == ("Network(sizes=[2, 2, 1], activation='sigmoid', output='sigmoid', "
                         "loss='sse', dtype=float64)")


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("dtype_argument", [np.float32, np.float64, "float32", np.dtype("float64")])
def test_dtype_and_loss_arguments(dtype_argument, loss):
    net = fastprop.Network(np.array([3, 4, 2]), seed=1, dtype=dtype_argument, loss=loss)
    assert net.sizes == (3, 4, 2) and all(type(s) is int for s in net.sizes)
    assert net.dtype == np.dtype(dtype_argument)
    assert net.loss == loss
    for W, b, (n_in, n_out) in zip(net.weights, net.biases, [(3, 4), (4, 2)]):
        assert W.shape == (n_out, n_in) and b.shape == (n_out,)
        assert W.dtype == net.dtype and b.dtype == net.dtype
        assert W.flags.c_contiguous


def test_weights_and_biases_are_copies():
    net = fastprop.Network([3, 2, 2], seed=0)
    weights, biases = net.weights, net.biases
    before = bits(weights + biases)
    for array in net.weights + net.biases:
        array += 1.0
    weights[0][0, 0] = 123.0
    biases[1][:] = -5.0
    assert bits(net.weights + net.biases) == before
    assert net.weights[0] is not net.weights[0]


# --- from_weights ------------------------------------------------------------------

def test_from_weights_copies_its_inputs():
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))]
    b = [rng.normal(size=3), rng.normal(size=1)]
    net = fastprop.Network.from_weights(W, b)
    snapshot = bits([w.copy() for w in W] + [x.copy() for x in b])
    for array in W + b:
        array *= 2.0
    assert bits(net.weights + net.biases) == snapshot
    assert net.sizes == (2, 3, 1) and net.loss == "sse" and net.dtype == np.float64


@pytest.mark.parametrize("weight_dtypes, bias_dtypes, expected", [
    ((np.float32, np.float32), (np.float32, np.float32), np.float32),
    ((np.float32, np.float64), (np.float32, np.float32), np.float64),
    ((np.float32, np.float32), (np.float64, np.float32), np.float64),
    ((np.float64, np.float64), (np.float64, np.float64), np.float64),
    ((np.int64, np.int32), (np.int64, np.float32), np.float64),
])
def test_from_weights_dtype_none_keeps_float32_only_when_everything_is(weight_dtypes, bias_dtypes, expected):
    W = [np.ones((3, 2), dtype=weight_dtypes[0]), np.ones((1, 3), dtype=weight_dtypes[1])]
    b = [np.zeros(3, dtype=bias_dtypes[0]), np.zeros(1, dtype=bias_dtypes[1])]
    net = fastprop.Network.from_weights(W, b)
    assert net.dtype == np.dtype(expected)
    assert all(a.dtype == net.dtype for a in net.weights + net.biases)


def test_from_weights_explicit_dtype_and_loss_and_lists():
    W32 = [np.array([[0.1, 0.2]], dtype=np.float32)]
    net = fastprop.Network.from_weights(W32, [np.array([0.3], dtype=np.float32)], dtype=np.float64, loss="mse")
    assert net.dtype == np.float64 and net.loss == "mse"
    np.testing.assert_array_equal(net.weights[0], W32[0].astype(np.float64))
    net = fastprop.Network.from_weights([[[1, 2], [3, 4]]], [[0.5, -0.5]], dtype=np.float32)
    assert net.dtype == np.float32 and net.sizes == (2, 2)
    np.testing.assert_array_equal(net.weights[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(net.biases[0], [0.5, -0.5])
    net = fastprop.Network.from_weights(([[1.0, 2.0]],), ([0.0],))  # tuples are fine
    assert net.sizes == (2, 1) and net.dtype == np.float64


def test_from_weights_of_a_networks_weights_is_the_same_network(dtype):
    net = fastprop.Network([4, 3, 3, 2], seed=5, dtype=dtype, loss="mse")
    clone = fastprop.Network.from_weights(net.weights, net.biases, loss=net.loss)
    assert clone.dtype == net.dtype and clone.sizes == net.sizes and clone.loss == net.loss
    assert bits(clone.weights + clone.biases) == bits(net.weights + net.biases)
    X, _ = random_data(net.sizes, 5)
    assert net.forward(X).tobytes() == clone.forward(X).tobytes()


# --- forward and predict -----------------------------------------------------------

@given(sizes=architectures(), n=st.integers(1, 6))
def test_forward_matches_reference(dtype, matmul_path, sizes, n):
    net = random_network(sizes, dtype)
    X, _ = random_data(sizes, n)
    X = X.astype(dtype)
    out = net.forward(X)
    assert out.shape == (n, sizes[-1]) and out.dtype == dtype
    expected = reference.forward(as_lists(net.weights), as_lists(net.biases), X.tolist())[-1]
    assert_close(out, expected, dtype)
    np.testing.assert_array_equal(net.predict(X), out)


def test_forward_one_sample_returns_a_vector(dtype):
    net = fastprop.Network([3, 4, 2], seed=0, dtype=dtype)
    x = np.array([0.5, -1.0, 2.0])
    out = net.forward(x)
    assert out.shape == (2,) and out.dtype == dtype
    np.testing.assert_array_equal(out, net.forward(x[None, :])[0])
    assert net.forward(x[None, :]).shape == (1, 2)
    np.testing.assert_array_equal(net.predict(x), out)
    one_output = fastprop.Network([3, 1], seed=0, dtype=dtype)
    assert one_output.forward(x).shape == (1,)
    assert one_output.forward(x[None, :]).shape == (1, 1)


def test_predict_is_forward():
    net = fastprop.Network([2, 3, 1], seed=0)
    X = np.random.default_rng(0).normal(size=(7, 2))
    np.testing.assert_array_equal(net.predict(X), net.forward(X))
    assert fastprop.Network.predict is fastprop.Network.forward


def test_forward_does_not_change_the_network_or_its_input():
    net = fastprop.Network([2, 3, 1], seed=0)
    before = bits(net.weights + net.biases)
    X = np.random.default_rng(0).normal(size=(4, 2))
    X_before = X.copy()
    net.forward(X)
    net.compute_loss(X, np.zeros(4))
    net.gradients(X, np.zeros(4))
    assert bits(net.weights + net.biases) == before
    np.testing.assert_array_equal(X, X_before)


# --- compute_loss, gradients, step against the reference --------------------------

def gradient_rtol(W, b, X, Y, dtype):
    """Relative tolerance of gradients computed in dtype. Every gradient carries the output
    delta (ŷ − y) ŷ (1 − ŷ), and ŷ computed in dtype is off by a few eps |ŷ|: where ŷ is
    close to y, ŷ − y keeps few of its digits and the gradients' relative error grows as
    |ŷ| / |ŷ − y| (a float32 output 0.31103 against a target 0.31183: 386 times eps)."""
    outputs = reference.forward(W, b, X)[-1]
    cancellation = max((abs(a) / abs(a - y) if a != y else float("inf"))
                       for row_y, row_a in zip(Y, outputs) for y, a in zip(row_y, row_a))
    return RTOL[dtype] + 8 * float(np.finfo(dtype).eps) * cancellation


@given(sizes=architectures(), n=st.integers(1, 6), loss=st.sampled_from(["sse", "mse"]))
@example(sizes=(4, 1, 2, 1, 1), n=1, loss="sse")  # float32: ŷ 0.31103 against y 0.31183
def test_compute_loss_and_gradients_match_reference(dtype, matmul_path, sizes, n, loss):
    net = random_network(sizes, dtype, loss)
    X, Y = random_data(sizes, n)
    X, Y = X.astype(dtype), Y.astype(dtype)
    W, b = as_lists(net.weights), as_lists(net.biases)
    value = net.compute_loss(X, Y)
    assert isinstance(value, float)
    assert value == pytest.approx(reference.loss(W, b, X.tolist(), Y.tolist(), loss=loss),
                                  rel=RTOL[dtype],
                                  abs=loss_tolerance(W, b, X.tolist(), Y.tolist(), loss, dtype))
    grads_W, grads_b = net.gradients(X, Y)
    ref_W, ref_b = reference.gradients(W, b, X.tolist(), Y.tolist(), loss=loss)
    for got, weight in zip(grads_W, net.weights):
        assert got.shape == weight.shape and got.dtype == dtype
    for got, bias in zip(grads_b, net.biases):
        assert got.shape == bias.shape and got.dtype == dtype
    assert_close(grads_W + grads_b, ref_W + ref_b, dtype,
                 rtol=gradient_rtol(W, b, X.tolist(), Y.tolist(), dtype))


@given(sizes=architectures(), n=st.integers(1, 6), loss=st.sampled_from(["sse", "mse"]),
       lr=st.floats(0.01, 2.0))
@example(sizes=(4, 5, 2, 4, 1), n=1, loss="sse", lr=1.0)  # float32: ŷ 0.315, 3.7e-3 from y
def test_step_matches_reference_step(dtype, matmul_path, sizes, n, loss, lr):
    net = random_network(sizes, dtype, loss)
    X, Y = random_data(sizes, n)
    X, Y = X.astype(dtype), Y.astype(dtype)
    lr = float(dtype.type(lr))
    W, b = as_lists(net.weights), as_lists(net.biases)
    loss_before = net.compute_loss(X, Y)
    new_W, new_b, ref_loss = reference.step(W, b, X.tolist(), Y.tolist(), lr, loss=loss)
    returned = net.step(X, Y, lr)
    assert isinstance(returned, float)
    assert returned == pytest.approx(ref_loss, rel=RTOL[dtype],
                                     abs=loss_tolerance(W, b, X.tolist(), Y.tolist(), loss, dtype))
    # The loss is the one before the update, as compute_loss measures it.
    assert returned == pytest.approx(loss_before, rel=RTOL[dtype] if dtype == np.float32 else 1e-15, abs=0)
    assert all(w.dtype == dtype for w in net.weights + net.biases)
    assert_close(net.weights + net.biases, new_W + new_b, dtype)


def test_step_returns_the_loss_before_the_update():
    net = fastprop.Network([2, 3, 1], seed=2)
    X, Y = random_data(net.sizes, 8)
    before = net.compute_loss(X, Y)
    returned = net.step(X, Y, 0.5)
    after = net.compute_loss(X, Y)
    assert returned == pytest.approx(before, rel=1e-15)
    assert after != before
    assert net.step(X, Y, 0.5) == pytest.approx(after, rel=1e-15)


def test_step_is_a_gradient_descent_update(dtype):
    net = random_network((3, 4, 2), dtype, "mse", seed=3)
    X, Y = random_data(net.sizes, 5)
    lr = 0.25
    grads_W, grads_b = net.gradients(X, Y)
    old_W, old_b = net.weights, net.biases
    net.step(X, Y, lr)
    expected = [w - dtype.type(lr) * g for w, g in zip(old_W + old_b, grads_W + grads_b)]
    assert_close(net.weights + net.biases, expected, dtype)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_mse_is_sse_divided_by_the_number_of_samples(dtype, n):
    sse_net = random_network((3, 4, 2), dtype, "sse", seed=4)
    mse_net = fastprop.Network.from_weights(sse_net.weights, sse_net.biases, loss="mse")
    X, Y = random_data(sse_net.sizes, n)
    assert mse_net.compute_loss(X, Y) == pytest.approx(sse_net.compute_loss(X, Y) / n, rel=RTOL[dtype])
    sse_W, sse_b = sse_net.gradients(X, Y)
    mse_W, mse_b = mse_net.gradients(X, Y)
    assert_close(mse_W + mse_b, [g / n for g in sse_W + sse_b], dtype)
    lr = 0.5
    assert mse_net.step(X, Y, lr) == pytest.approx(sse_net.step(X, Y, lr / n) / n, rel=RTOL[dtype])
    assert_close(mse_net.weights + mse_net.biases, sse_net.weights + sse_net.biases, dtype)


def test_sse_loss_is_half_the_sum_of_squared_errors():
    net = fastprop.Network.from_weights([np.zeros((2, 1))], [np.zeros(2)])  # outputs are all 1/2
    X = np.zeros((3, 1))
    Y = np.array([[0.0, 1.0], [0.5, 0.5], [1.5, -0.5]])
    # errors 1/2, 1/2, 0, 0, 1, 1: squares sum to 2.5, half of it 1.25
    assert net.compute_loss(X, Y) == 1.25
    mse = fastprop.Network.from_weights(net.weights, net.biases, loss="mse")
    assert mse.compute_loss(X, Y) == pytest.approx(1.25 / 3, rel=1e-15)


# --- Glorot-uniform initialisation -----------------------------------------------

def test_glorot_uniform_bounds_and_zero_biases(dtype):
    sizes = (1, 7, 300, 2, 1)
    net = fastprop.Network(sizes, seed=11, dtype=dtype)
    for W, b, n_in, n_out in zip(net.weights, net.biases, sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (n_in + n_out))
        assert np.all(np.abs(W) <= dtype.type(limit))
        assert np.all(b == 0)
        assert len(np.unique(W)) > 0.99 * W.size  # drawn, not constant
    # With 2100 draws, the extremes come within 1% of the limit.
    W = net.weights[1]
    limit = np.sqrt(6.0 / (7 + 300))
    assert W.max() > 0.99 * limit and W.min() < -0.99 * limit


def test_glorot_uniform_distribution():
    n_in, n_out = 400, 300
    W = fastprop.Network([n_in, n_out], seed=123).weights[0].ravel()
    limit = np.sqrt(6.0 / (n_in + n_out))
    # Kolmogorov–Smirnov against U(-limit, limit): with the seed fixed this is
    # deterministic; a wrong range or distribution gives p ~ 0.
    assert stats.kstest(W, "uniform", args=(-limit, 2 * limit)).pvalue > 1e-3
    assert abs(W.mean()) < 4 * limit / np.sqrt(3 * W.size)
    assert W.var() == pytest.approx(limit ** 2 / 3, rel=0.02)


def test_init_is_reproducible_by_seed_and_differs_between_seeds(dtype):
    a = fastprop.Network([3, 5, 2], seed=42, dtype=dtype)
    b = fastprop.Network([3, 5, 2], seed=42, dtype=dtype)
    c = fastprop.Network([3, 5, 2], seed=43, dtype=dtype)
    assert bits(a.weights) == bits(b.weights)
    assert bits(a.weights) != bits(c.weights)
    from_generator = fastprop.Network([3, 5, 2], seed=np.random.default_rng(42), dtype=dtype)
    assert bits(from_generator.weights) == bits(a.weights)
    unseeded = [fastprop.Network([3, 5, 2], dtype=dtype).weights for _ in range(2)]
    assert bits(unseeded[0]) != bits(unseeded[1])


def test_float32_and_float64_init_agree_up_to_rounding():
    for seed in range(3):
        n64 = fastprop.Network([4, 6, 3, 1], seed=seed)
        n32 = fastprop.Network([4, 6, 3, 1], seed=seed, dtype=np.float32)
        for w32, w64 in zip(n32.weights, n64.weights):
            assert w32.dtype == np.float32
            np.testing.assert_array_equal(w32, w64.astype(np.float32))
        assert all(np.all(b == 0) and b.dtype == np.float32 for b in n32.biases)


# --- what X and Y may be ----------------------------------------------------------

def x_variants(X):
    """Layouts and types of the same values that must all be accepted."""
    fortran = np.asfortranarray(X)
    strided = np.zeros((X.shape[0], 2 * X.shape[1]))[:, ::2]
    strided[...] = X
    every_other_row = np.zeros((2 * X.shape[0], X.shape[1]))[::2]
    every_other_row[...] = X
    read_only = X.copy()
    read_only.setflags(write=False)
    reversed_rows = X[::-1].copy()[::-1]  # negative strides
    # C-contiguous but not aligned to its item size: used in place, never copied.
    raw = bytearray(X.nbytes + 1)
    unaligned = np.frombuffer(raw, dtype=X.dtype, count=X.size, offset=1).reshape(X.shape)
    unaligned[...] = X
    assert not unaligned.flags.aligned and unaligned.flags.c_contiguous
    yield "fortran", fortran
    yield "strided columns", strided
    yield "strided rows", every_other_row
    yield "negative strides", reversed_rows
    yield "read-only", read_only
    yield "unaligned", unaligned
    yield "list", X.tolist()
    yield "float32", X.astype(np.float32)
    yield "float64", X.astype(np.float64)


def integer_problem(sizes, n):
    rng = np.random.default_rng(6)
    return rng.integers(-3, 4, (n, sizes[0])), rng.integers(0, 2, (n, sizes[-1]))


def outcomes(net_factory, X, Y):
    """Everything the API returns for (X, Y), as bytes for exact comparison."""
    net = net_factory()
    results = [net.forward(X).tobytes(), np.float64(net.compute_loss(X, Y)).tobytes()]
    grads_W, grads_b = net.gradients(X, Y)
    results += bits(grads_W + grads_b)
    results.append(np.float64(net.step(X, Y, 0.5)).tobytes())
    results += bits(net.weights + net.biases)
    results.append(net.fit(X, Y, epochs=2, lr=0.5, batch_size=2, seed=3).tobytes())
    results.append(net.fit(X, Y, epochs=2, lr=0.5, batch_size=3, shuffle=False).tobytes())
    results += bits(net.weights + net.biases)
    return results


@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_any_layout_of_x_and_y_gives_the_same_results(dtype, loss):
    sizes = (3, 4, 2)
    base = random_network(sizes, dtype, loss)

    def factory():
        return fastprop.Network.from_weights(base.weights, base.biases, loss=loss)

    X, Y = random_data(sizes, 6)
    # Values representable in float32, so that every variant holds the same numbers.
    X, Y = X.astype(np.float32).astype(dtype), Y.astype(np.float32).astype(dtype)
    expected = outcomes(factory, np.ascontiguousarray(X), np.ascontiguousarray(Y))
    for name, X_variant in x_variants(X):
        X_before = np.array(X_variant, copy=True)
        assert outcomes(factory, X_variant, Y) == expected, f"X as {name}"
        np.testing.assert_array_equal(np.asarray(X_variant), X_before)  # input untouched
    for name, Y_variant in x_variants(Y):
        assert outcomes(factory, X, Y_variant) == expected, f"Y as {name}"


def test_integer_and_boolean_data_are_converted(dtype):
    sizes = (3, 4, 1)
    base = random_network(sizes, dtype)

    def factory():
        return fastprop.Network.from_weights(base.weights, base.biases)

    X, Y = integer_problem(sizes, 5)
    expected = outcomes(factory, X.astype(dtype), Y.astype(dtype))
    assert outcomes(factory, X, Y) == expected
    assert outcomes(factory, X.astype(np.int8), Y.astype(bool)) == expected
    assert outcomes(factory, X.astype(np.int16), Y.astype(np.uint8)) == expected


def test_y_as_a_vector_when_there_is_one_output(dtype):
    sizes = (2, 3, 1)
    base = random_network(sizes, dtype)

    def factory():
        return fastprop.Network.from_weights(base.weights, base.biases)

    X, Y = random_data(sizes, 5)
    X, Y = X.astype(dtype), Y.astype(dtype)
    assert outcomes(factory, X, Y[:, 0]) == outcomes(factory, X, Y)
    assert outcomes(factory, X, Y[:, 0].tolist()) == outcomes(factory, X, Y)


def test_one_sample_batches(dtype):
    net = random_network((2, 3, 2), dtype)
    x, y = np.array([0.5, -0.25]), np.array([0.1, 0.9])
    # A single sample as 1-D X: a batch of one.
    assert net.compute_loss(x, y[None, :]) == net.compute_loss(x[None, :], y[None, :])
    grads = net.gradients(x[None, :], y[None, :])
    assert bits(net.gradients(x, y[None, :])[0]) == bits(grads[0])
