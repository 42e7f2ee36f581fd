"""The vector product kernels (``_vector_products_avx2.c``, ``_vector_products_avx512.c``)
on shapes that reach every part of them, against NumPy in float64, on each CPU path
that has them (where this CPU, build and run's FASTPROP_CPU have it); and the
avx512 path against the avx2 path, bit for bit.

The kernels work on blocks: the broadcast kernels (``A @ B`` of the hidden delta
and ``A.T @ B`` of the weight gradient) on 4 rows by 16 (float32) or 8 (float64)
columns on AVX2, 8 rows by 32 or 16 on AVX-512, with masked loads and stores for
the last columns and, for the last rows, a block of 4 (AVX-512) and one of 1 to 3; the dot-product kernel of the forward step on 2 rows by
4 outputs, 8 (float32) or 4 (float64) inputs at a time, with a masked last
chunk. The shapes drawn here (1 to 40 on every side) cover full blocks, every
remainder and the width-1 and batch-1 cases; the generic kernel tests keep to
widths up to 8, mostly edge blocks.

Tolerances are those of ``fastprop._testing``: |got - expected| <= rtol * (|expected|
+ sum of |terms|), rtol 1e-5 (float32) or 1e-12 (float64), for sums of up to 40
products.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastprop
from fastprop import _kernels
from fastprop._testing import (
    NO_VECTOR_KERNELS,
    VECTOR_CPU_PATHS,
    assert_close,
    check_hidden_delta_against_numpy,
    f64,
    nan_filled,
    no_vector_kernels_on,
    np_sigmoid,
    product_path,
    vector_cpu_paths,
    vector_kernels_in_use,
)

pytestmark = pytest.mark.skipif(not vector_kernels_in_use(), reason=NO_VECTOR_KERNELS)

sides = st.integers(1, 40)

needs_avx2_and_avx512 = pytest.mark.skipif(
    vector_cpu_paths() != ["avx2", "avx512"], reason=no_vector_kernels_on("avx512"))


@pytest.fixture(autouse=True, params=[
    pytest.param(cpu, marks=pytest.mark.skipif(cpu not in vector_cpu_paths(),
                                               reason=no_vector_kernels_on(cpu)))
    for cpu in VECTOR_CPU_PATHS])
def vector_path(request):
    """Every product of these tests runs in the vector kernels of one CPU path."""
    with product_path(f"vector_{request.param}"):
        yield request.param


def draw_arrays(data, dtype, *shapes, low=-2.0, high=2.0):
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=shape).astype(dtype) for shape in shapes]


@given(data=st.data())
def test_forward_product(dtype, data):
    rows, n_in, n_out = data.draw(sides), data.draw(sides), data.draw(sides)
    A_in, W, b = draw_arrays(data, dtype, (rows, n_in), (n_out, n_in), (n_out,))
    A_out = nan_filled((rows, n_out), dtype)
    _kernels.dense_sigmoid_forward(A_in, W, b, A_out)
    # sigmoid is 1/4-Lipschitz, so the error of z carries over at most scaled by 1/4.
    scale = np.abs(f64(A_in)) @ np.abs(f64(W)).T + np.abs(f64(b))
    assert_close(A_out, np_sigmoid(f64(A_in) @ f64(W).T + f64(b)), dtype, scale)


@given(data=st.data())
def test_hidden_delta_product(dtype, data):
    rows, n_next, n_this = data.draw(sides), data.draw(sides), data.draw(sides)
    delta_next, W_next = draw_arrays(data, dtype, (rows, n_next), (n_next, n_this))
    (A,) = draw_arrays(data, dtype, (rows, n_this), low=0.0, high=1.0)
    check_hidden_delta_against_numpy(delta_next, W_next, A, dtype)


@given(data=st.data())
def test_weight_gradient_product(dtype, data):
    rows, n_in, n_out = data.draw(sides), data.draw(sides), data.draw(sides)
    delta, A_prev = draw_arrays(data, dtype, (rows, n_out), (rows, n_in))
    grad_W, grad_b = nan_filled((n_out, n_in), dtype), nan_filled(n_out, dtype)
    _kernels.weight_gradient(delta, A_prev, grad_W, grad_b)
    scale = np.abs(f64(delta)).T @ np.abs(f64(A_prev))
    assert_close(grad_W, f64(delta).T @ f64(A_prev), dtype, scale)


@given(data=st.data())
def test_fused_gradient_step_accumulates_into_the_weights(dtype, data):
    rows, n_in, n_out = data.draw(sides), data.draw(sides), data.draw(sides)
    lr = data.draw(st.floats(1e-3, 2.0))
    delta, A_prev, W, b = draw_arrays(data, dtype, (rows, n_out), (rows, n_in), (n_out, n_in),
                                      (n_out,))
    W_before, b_before = f64(W).copy(), f64(b).copy()
    _kernels.fused_gradient_step(delta, A_prev, W, b, lr)
    lr_in_dtype = f64(dtype.type(lr))
    expected = W_before - lr_in_dtype * (f64(delta).T @ f64(A_prev))
    scale = np.abs(W_before) + lr_in_dtype * (np.abs(f64(delta)).T @ np.abs(f64(A_prev)))
    assert_close(W, expected, dtype, scale)
    assert_close(b, b_before - lr_in_dtype * f64(delta).sum(0), dtype,
                 np.abs(b_before) + lr_in_dtype * np.abs(f64(delta)).sum(0))


@pytest.mark.parametrize("shape", [(4, 16, 16), (8, 32, 24), (5, 17, 9), (12, 8, 33),
                                   (1, 40, 40), (40, 1, 40), (40, 40, 1), (3, 3, 3)], ids=str)
def test_every_output_is_written_once_in_place_and_nothing_beyond(dtype, shape):
    # The outputs are views into larger NaN-filled buffers: a masked store that
    # wrote past the last column, or a row block that ran past the last row,
    # would change the guard cells around them.
    rows, n_in, n_out = shape
    rng = np.random.default_rng(sum(shape))
    A_in = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
    W = rng.uniform(-1, 1, (n_out, n_in)).astype(dtype)
    b = rng.uniform(-1, 1, n_out).astype(dtype)
    guarded = np.full(rows * n_out + 64, np.nan, dtype=dtype)
    A_out = guarded[32:32 + rows * n_out].reshape(rows, n_out)
    _kernels.dense_sigmoid_forward(A_in, W, b, A_out)
    assert np.all(np.isnan(guarded[:32])) and np.all(np.isnan(guarded[32 + rows * n_out:]))
    assert np.all(np.isfinite(A_out))
    delta = rng.uniform(-1, 1, (rows, n_out)).astype(dtype)
    guarded = np.full(n_out * n_in + 64, np.nan, dtype=dtype)
    grad_W = guarded[32:32 + n_out * n_in].reshape(n_out, n_in)
    _kernels.weight_gradient(delta, A_in, grad_W, np.empty(n_out, dtype))
    assert np.all(np.isnan(guarded[:32])) and np.all(np.isnan(guarded[32 + n_out * n_in:]))
    assert np.all(np.isfinite(grad_W))


@pytest.mark.parametrize("sizes, batch_size", [([37, 45, 19, 3], 13), ([32, 64, 64, 1], 32),
                                               ([5, 1, 7], 4)])
def test_training_in_the_vector_kernels_agrees_with_the_loops(dtype, sizes, batch_size,
                                                              vector_path):
    # The same fit, once in the vector kernels and once in the plain loops: the
    # order of the additions differs (fused multiply-adds, interleaved partial
    # sums), so the weights agree to rounding, not bit for bit.
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (97, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (97, sizes[-1])).astype(dtype)
    nets = {}
    for path in (f"vector_{vector_path}", "loops"):
        with product_path(path):
            net = fastprop.Network(sizes, seed=3, dtype=dtype)
            net.fit(X, Y, epochs=3, lr=0.5, batch_size=batch_size, seed=11)
        nets[path] = net
    tolerance = {np.float32: 2e-5, np.float64: 1e-12}[dtype.type]
    nets["vector"] = nets.pop(f"vector_{vector_path}")
    for W_vector, W_loops in zip(nets["vector"].weights, nets["loops"].weights):
        np.testing.assert_allclose(W_vector, W_loops, rtol=tolerance, atol=tolerance)
    differs = any(not np.array_equal(a, c) for a, c in zip(nets["vector"].weights,
                                                          nets["loops"].weights))
    assert differs or sizes == [5, 1, 7], "the two paths should not be the same code"


@pytest.mark.parametrize("n_next", [511, 512, 513, 1023, 1024, 1025, 1500])
@pytest.mark.parametrize("rows, n_this", [(1, 1), (5, 7), (9, 16), (6, 17), (4, 33)])
def test_hidden_delta_up_to_and_beyond_the_packed_panel_depth(dtype, rows, n_next, n_this):
    # Each column panel of W_next is copied contiguous (its rows lie n_this apart),
    # 64 KiB at a time: at most 1024 deep (AVX2) or 512 (AVX-512); deeper sums run
    # in equal chunks, the partial sums kept in the output between them.
    rng = np.random.default_rng(rows * n_next * n_this)
    delta_next = rng.uniform(-1, 1, (rows, n_next)).astype(dtype)
    W_next = (rng.uniform(-1, 1, (n_next, n_this)) / np.sqrt(n_next)).astype(dtype)
    A = rng.uniform(0, 1, (rows, n_this)).astype(dtype)
    delta = nan_filled((rows, n_this), dtype)
    _kernels.hidden_delta(delta_next, W_next, A, delta)
    derivative = f64(A) * (1 - f64(A))
    expected = (f64(delta_next) @ f64(W_next)) * derivative
    scale = (np.abs(f64(delta_next)) @ np.abs(f64(W_next))) * derivative
    # Sums of up to 1500 terms: the bound grows with their number (k * eps).
    error = np.abs(f64(delta) - expected)
    assert np.all(error <= n_next * np.finfo(dtype).eps * (np.abs(expected) + scale))


@pytest.mark.parametrize("n_in", [255, 256, 257, 513, 600, 784])
@pytest.mark.parametrize("rows, n_out", [(1, 1), (5, 7), (4, 8), (6, 17), (9, 33)])
def test_forward_product_deeper_than_one_panel(dtype, rows, n_in, n_out):
    # The forward kernel transposes W into panels at most 256 inputs deep (k in
    # equal chunks: 784 as 200, 200, 200, 184); deeper sums continue from the
    # partial sums already stored in the output.
    rng = np.random.default_rng(rows * n_in * n_out)
    A_in = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
    W = (rng.uniform(-1, 1, (n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
    b = rng.uniform(-1, 1, n_out).astype(dtype)
    A_out = nan_filled((rows, n_out), dtype)
    _kernels.dense_sigmoid_forward(A_in, W, b, A_out)
    scale = np.abs(f64(A_in)) @ np.abs(f64(W)).T + np.abs(f64(b))
    # Sums of up to 600 terms: the bound grows with their number (k * eps).
    expected = np_sigmoid(f64(A_in) @ f64(W).T + f64(b))
    error = np.abs(f64(A_out) - expected)
    assert np.all(error <= n_in * np.finfo(dtype).eps * (np.abs(expected) + scale))


@pytest.mark.parametrize("rows", [1, 15, 16, 17, 512, 513, 1100])
@pytest.mark.parametrize("n_in, n_out", [(3, 5), (20, 33), (9, 256)])
def test_weight_gradient_in_row_strips_and_beyond_their_depth(dtype, rows, n_in, n_out):
    # delta.T @ A_prev runs in strips of 16 rows of the output, each copied into a
    # block at most 512 samples deep; deeper batches run by column panels of the
    # output, A_prev packed 64 KiB at a time (1100 rows: 2 chunks on AVX2, 3 on
    # AVX-512), the partial sums kept in the output between chunks.
    rng = np.random.default_rng(rows + n_in + n_out)
    delta = rng.uniform(-1, 1, (rows, n_out)).astype(dtype)
    A_prev = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
    grad_W, grad_b = nan_filled((n_out, n_in), dtype), nan_filled(n_out, dtype)
    _kernels.weight_gradient(delta, A_prev, grad_W, grad_b)
    expected = f64(delta).T @ f64(A_prev)
    scale = np.abs(f64(delta)).T @ np.abs(f64(A_prev))
    error = np.abs(f64(grad_W) - expected)
    assert np.all(error <= rows * np.finfo(dtype).eps * (np.abs(expected) + scale))


@pytest.mark.parametrize("rows", [513, 1100])
@pytest.mark.parametrize("n_in, n_out", [(3, 5), (20, 33)])
def test_fused_gradient_step_deeper_than_a_strip(dtype, rows, n_in, n_out):
    # W -= lr * delta.T @ A_prev on more than 512 rows: by column panels adding to W,
    # A_prev read in place (W holds the weights until the end of each sum).
    rng = np.random.default_rng(rows + n_in + n_out)
    delta = rng.uniform(-1, 1, (rows, n_out)).astype(dtype)
    A_prev = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
    W = rng.uniform(-1, 1, (n_out, n_in)).astype(dtype)
    b = rng.uniform(-1, 1, n_out).astype(dtype)
    W_before = f64(W).copy()
    lr = 0.01
    _kernels.fused_gradient_step(delta, A_prev, W, b, lr)
    lr_in_dtype = f64(dtype.type(lr))
    expected = W_before - lr_in_dtype * (f64(delta).T @ f64(A_prev))
    scale = np.abs(W_before) + lr_in_dtype * (np.abs(f64(delta)).T @ np.abs(f64(A_prev)))
    error = np.abs(f64(W) - expected)
    assert np.all(error <= rows * np.finfo(dtype).eps * (np.abs(expected) + scale))


@pytest.mark.parametrize("rows, n_in, n_out", [(1, 1, 1), (9, 20, 33), (17, 600, 40), (40, 40, 10)])
def test_forward_relu_is_the_identitys_outputs_with_negatives_made_zero(dtype, rows, n_in, n_out):
    # relu is applied by the forward kernel's last stores, in registers (the other functions
    # by a pass over each panel): the same bits as relu over the identity's outputs, +0 for
    # a negative sum, a -0 sum kept, NaN kept (relu(z) = 0 if z < 0 else z, as everywhere).
    # 600 inputs: the sums run in chunks, relu only on the last.
    rng = np.random.default_rng(rows + n_in + n_out)
    A_in = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
    W = rng.uniform(-1, 1, (n_out, n_in)).astype(dtype)
    b = rng.uniform(-1, 1, n_out).astype(dtype)
    A_in[0] = 0                             # row 0: every sum is its bias (+ zeros)...
    W[0] = -np.abs(W[0]) - 0.5              # ... and output 0's, -0 + 0 * (negative) = -0
    b[0] = -0.0
    if rows > 1:
        A_in[1, n_in // 2] = np.nan         # row 1: NaN sums
    identity, relu = nan_filled((rows, n_out), dtype), nan_filled((rows, n_out), dtype)
    _kernels.dense_forward(A_in, W, b, identity, "identity")
    _kernels.dense_forward(A_in, W, b, relu, "relu")
    expected = np.where(identity < 0, dtype.type(0), identity)
    integer = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(relu.view(integer), expected.view(integer))
    assert np.signbit(relu[0, 0]) and relu[0, 0] == 0
    assert rows == 1 or np.isnan(relu[1]).all()
    assert (relu >= 0).sum() + np.isnan(relu).sum() == relu.size
