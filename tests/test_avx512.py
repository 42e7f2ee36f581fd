"""The avx512 CPU path gives the avx2 path's bits.

The AVX-512 kernels (``_vector_products_avx512.c``) are the AVX2 kernels' source at
twice the width: every output of a broadcast kernel goes through the same fused
multiply-adds in the same order, narrow forward outputs run in the AVX2 dot-product
kernel itself, and the sigmoid has one source for every path. So every product, and
every whole training run, must agree bit for bit (NaN payloads and signed zeros
included) between the two paths, on one thread or two, with every product forced
into the vector kernels or under the default thresholds. Where this CPU, build or
run (FASTPROP_CPU) lacks either path, the module is skipped; the kernels' accuracy
against NumPy is tested in ``test_vector_products.py``, on each path.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastprop
from fastprop import _kernels
from fastprop._testing import (
    PATH_OPTIONS,
    nan_filled,
    no_vector_kernels_on,
    vector_cpu_paths,
)

pytestmark = pytest.mark.skipif(vector_cpu_paths() != ["avx2", "avx512"],
                                reason=no_vector_kernels_on("avx512"))

# "default": the default thresholds (the fixed plan: a measured plan may route the two
# paths' products differently, which is the point of measuring).
ROUTES = {"vector": PATH_OPTIONS["vector"], "default": {"plan": "fixed"}}


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    differ = a.view(unsigned) != b.view(unsigned)
    assert not differ.any(), (f"{int(differ.sum())} of {differ.size} elements differ, first at "
                              f"{np.unravel_index(np.argmax(differ), differ.shape)}")


def every_product(shape, dtype, seed):
    """The outputs of each kernel wrapper with products, on inputs of one shape."""
    rows, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    A_in = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
    W = (rng.uniform(-1, 1, (n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
    b = rng.uniform(-1, 1, n_out).astype(dtype)
    delta = rng.uniform(-1, 1, (rows, n_out)).astype(dtype)
    A = rng.uniform(0, 1, (rows, n_in)).astype(dtype)
    outputs = {"forward": nan_filled((rows, n_out), dtype),
               "hidden_delta": nan_filled((rows, n_in), dtype),
               "grad_W": nan_filled((n_out, n_in), dtype), "grad_b": nan_filled(n_out, dtype),
               "stepped_W": W.copy(), "stepped_b": b.copy()}
    _kernels.dense_sigmoid_forward(A_in, W, b, outputs["forward"])
    _kernels.hidden_delta(delta, W, A, outputs["hidden_delta"])
    _kernels.weight_gradient(delta, A_in, outputs["grad_W"], outputs["grad_b"])
    _kernels.fused_gradient_step(delta, A_in, outputs["stepped_W"], outputs["stepped_b"], 0.37)
    return outputs


def on_both_paths(function, route="vector", threads=None):
    """{cpu: function()} on the avx2 and the avx512 path."""
    options = dict(ROUTES[route], **({} if threads is None else {"threads": threads}))
    results = {}
    for cpu in ("avx2", "avx512"):
        with fastprop.config_context(cpu=cpu, **options):
            results[cpu] = function()
    return results


def assert_both_paths_agree(results):
    avx2, avx512 = results["avx2"], results["avx512"]
    assert sorted(avx2) == sorted(avx512)
    for name in avx2:
        assert_same_bits(np.asarray(avx512[name]), np.asarray(avx2[name]))


@given(rows=st.integers(1, 70), n_in=st.integers(1, 70), n_out=st.integers(1, 70),
       seed=st.integers(0, 2 ** 32 - 1))
def test_every_product_has_the_same_bits_on_avx512_and_avx2(dtype, rows, n_in, n_out, seed):
    # Up to 70 on every side: several 32-float (16-double) AVX-512 panels and their
    # masked remainders, width 1 and batch 1 included.
    assert_both_paths_agree(on_both_paths(lambda: every_product((rows, n_in, n_out), dtype, seed)))


@pytest.mark.parametrize("shape", [
    (1, 1, 1), (1, 1, 40), (40, 1, 1), (1, 40, 1), (32, 64, 64), (32, 64, 1), (128, 256, 10),
    (5, 7, 8), (3, 9, 15), (4, 33, 16), (6, 17, 31), (7, 16, 32), (9, 20, 33), (2, 784, 9),
    (3, 600, 7), (5, 513, 40), (4, 1100, 17), (600, 8, 3), (513, 20, 33), (17, 1025, 3)], ids=str)
@pytest.mark.parametrize("route", ["vector", "default"])
def test_edge_shapes_have_the_same_bits_on_avx512_and_avx2(dtype, shape, route):
    # Narrow outputs on either side of one AVX2 vector (7, 8; 3, 4 in float64), panel
    # edges (15, 16, 17, 31, 32, 33), sums deeper than AVX-512's packed panel (512) and
    # AVX2's (1024), deeper than a forward W panel (256) and than a strip (512 rows).
    assert_both_paths_agree(on_both_paths(lambda: every_product(shape, dtype, sum(shape)), route))


@pytest.mark.parametrize("size", [1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 1000])
def test_sigmoid_has_the_same_bits_on_avx512_and_avx2(dtype, size):
    z = (np.random.default_rng(size).standard_normal(size) * 30).astype(dtype)

    def sigmoid():
        out = nan_filled(size, dtype)
        _kernels.sigmoid(z, out)
        return {"out": out}
    assert_both_paths_agree(on_both_paths(sigmoid))


@pytest.mark.parametrize("sizes, samples, batch_size", [
    ([32, 64, 64, 1], 96, 32), ([37, 45, 19, 3], 97, 13), ([20, 70, 33, 9], 64, None),
    ([5, 1, 7], 30, 4), ([64, 40, 10], 160, 32)], ids=str)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("route", ["vector", "default"])
def test_whole_training_runs_have_the_same_bits_on_avx512_and_avx2(dtype, sizes, samples,
                                                                   batch_size, threads, route):
    # Whole fits: every step's products, sigmoids and updates, shared out over two
    # threads where they are large enough; the weights, biases, loss history and
    # predictions agree bit for bit.
    rng = np.random.default_rng(len(sizes) * samples)
    X = rng.uniform(-1, 1, (samples, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (samples, sizes[-1])).astype(dtype)

    def fit():
        net = fastprop.Network(sizes, seed=3, dtype=dtype)
        history = net.fit(X, Y, epochs=5, lr=0.5, batch_size=batch_size, seed=11)
        results = {"history": np.asarray(history), "forward": net.forward(X)}
        for layer, (W, b) in enumerate(zip(net.weights, net.biases)):
            results[f"W{layer}"], results[f"b{layer}"] = W, b
        return results
    assert_both_paths_agree(on_both_paths(fit, route, threads))
