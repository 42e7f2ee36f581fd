"""``Network.gradients`` against central finite differences of ``Network.compute_loss``.

float64: step h = 1e-6. The central difference (L(θ+h) − L(θ−h)) / 2h differs from
dL/dθ by the truncation error h²/6·|L'''| (≈ 1e-13 here: the losses are smooth
and O(1)) plus the rounding error of the two losses divided by 2h, about
ε·|L|/h ≈ 2.2e-16·|L|/1e-6 = 2.2e-10·|L|. So the gradient must agree within
1e-7·max(1, |L|) absolutely (a few hundred times both errors) and 1e-6
relatively: a sign error, a missing σ' factor, a wrong 1/n or a swapped index
is off by far more.

float32: gradients computed in float32 are compared with the float64 gradients
of the very same (float32-representable) weights and data: float32 rounding
(6e-8 per operation, a few dozen operations deep) stays below 1e-5 of the
largest gradient entry. A float32 finite difference is also taken, with a
larger step (h = 1e-2: rounding ≈ 6e-8·|L|/1e-2 ≈ 6e-6·|L|, truncation
h²/6·|L'''| ≈ 2e-5·|L'''|) and a tolerance to match (1e-3·max(1, |L|)).
"""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import fastprop


@st.composite
def problems(draw, max_depth=4, max_width=4):
    """A random small architecture (depth 1–4, widths from 1), parameters and a batch."""
    depth = draw(st.integers(1, max_depth))
    sizes = tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))
    n = draw(st.sampled_from([1, 1, 2, 3, 5, 8]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-2, 2, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, n_out) for n_out in sizes[1:]]
    X = rng.uniform(-2, 2, (n, sizes[0]))
    Y = rng.uniform(0, 1, (n, sizes[-1]))
    return weights, biases, X, Y


def finite_difference_gradients(weights, biases, X, Y, loss, dtype, h):
    """Central differences of compute_loss with respect to every weight and bias."""
    weights = [w.astype(dtype) for w in weights]
    biases = [b.astype(dtype) for b in biases]
    parameters = weights + biases

    def loss_at():
        return fastprop.Network.from_weights(weights, biases, loss=loss, dtype=dtype).compute_loss(X, Y)

    gradients = []
    for array in parameters:
        gradient = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + dtype.type(h)
            plus_h = float(array[index]) - float(original)  # the step actually taken
            up = loss_at()
            array[index] = original - dtype.type(h)
            minus_h = float(original) - float(array[index])
            down = loss_at()
            array[index] = original
            gradient[index] = (up - down) / (plus_h + minus_h)
        gradients.append(gradient)
    return gradients[:len(weights)], gradients[len(weights):]


def check_against(got, expected, rtol, atol):
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), e, rtol=rtol, atol=atol)


@pytest.mark.parametrize("loss", ["sse", "mse"])
@given(problem=problems())
def test_float64_gradients_match_central_differences(matmul_path, loss, problem):
    weights, biases, X, Y = problem
    net = fastprop.Network.from_weights(weights, biases, loss=loss)
    L = net.compute_loss(X, Y)
    grads_W, grads_b = net.gradients(X, Y)
    fd_W, fd_b = finite_difference_gradients(weights, biases, X, Y, loss, np.dtype(np.float64), 1e-6)
    check_against(grads_W + grads_b, fd_W + fd_b, rtol=1e-6, atol=1e-7 * max(1.0, L))


@pytest.mark.parametrize("loss", ["sse", "mse"])
@given(problem=problems())
@example(problem=([np.array([[0.30932925, 1.86004106, 1.99712907, 1.66882565]])],
                  [np.array([0.37507166])],
                  np.array([[0.25035373, 1.72611466, 1.27462947, 1.4154064]]),
                  np.array([[0.88985422]])))
def test_float32_gradients_match_float64_gradients(loss, problem):
    weights, biases, X, Y = problem
    # The same numbers in both precisions.
    weights = [w.astype(np.float32) for w in weights]
    biases = [b.astype(np.float32) for b in biases]
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    net32 = fastprop.Network.from_weights(weights, biases, loss=loss)
    net64 = fastprop.Network.from_weights(weights, biases, loss=loss, dtype=np.float64)
    assert net32.dtype == np.float32
    grads32 = net32.gradients(X, Y)
    grads64 = net64.gradients(X, Y)
    assert all(g.dtype == np.float32 for g in grads32[0] + grads32[1])
    everything64 = grads64[0] + grads64[1]
    scale = max(float(np.max(np.abs(g))) for g in everything64)
    # A float32 output a carries a rounding error of about eps32 * |a|, which
    # enters every gradient through the output delta (a - y) * a * (1 - a). When
    # a is close to y, a - y cancels and the gradients' relative error grows as
    # |a| / |a - y| (an example: a 0.68217, y 0.68197, relative error 6e-5), so
    # the relative bound carries that term, with the loss check's 8 eps32 below.
    output64 = net64.forward(X)
    targets = np.asarray(Y, dtype=np.float64).reshape(output64.shape)
    eps32 = float(np.finfo(np.float32).eps)
    with np.errstate(divide="ignore"):
        cancellation = float(np.max(np.abs(output64) / np.abs(output64 - targets)))
    # The same for sigma'(z) = a * (1 - a), computed from the output: for a saturated
    # unit (a near 1) 1 - a cancels and its relative error is about eps32 * a / (1 - a)
    # (hypothesis found, in CI: a 4-1 network whose output 0.99981 gave gradients of
    # 3.6e-5 with an error of 7e-9, a relative 2e-4), in every layer.
    activations64 = net64._activations(np.asarray(X, dtype=np.float64))
    with np.errstate(divide="ignore"):
        saturation = max(float(np.max(np.abs(a) / np.abs(1 - a))) for a in activations64)
    # Each gradient is also a sum over the samples, and when the samples' terms nearly
    # cancel (an example: +0.0531 and -0.0533 for one bias, a sum 300 times smaller
    # than its terms) float32's rounding of each term is relative to the terms, not to
    # their sum: the relative bound applies to the sum of the terms' magnitudes, which
    # is the gradient's own magnitude when they do not cancel.
    per_sample = [net64.gradients(X[i:i + 1], Y[i:i + 1]) for i in range(len(X))]
    share = 1 / len(X) if loss == "mse" else 1      # mse averages the samples' terms
    magnitudes = [share * sum(np.abs((sample[0] + sample[1])[k]) for sample in per_sample)
                  for k in range(len(everything64))]
    rtol = 1e-5 + 8 * eps32 * (cancellation + saturation)
    for got, expected, magnitude in zip(grads32[0] + grads32[1], everything64, magnitudes):
        assert got.shape == expected.shape
        error = np.abs(np.asarray(got, dtype=np.float64) - expected)
        assert np.all(error <= rtol * magnitude + 1e-5 * scale), (error, magnitude)
    # The loss: the same rounding reaches L through dL/da = (a - y), so its
    # relative error also grows as 1 / |a - y|; the bound is on the absolute
    # error: sum of |a - y| * |a| * (a few eps32), plus rel 1e-5.
    rounding = float(np.sum(np.abs(output64 - targets) * np.abs(output64)))
    rounding *= 8 * eps32 * (1 / len(X) if loss == "mse" else 1)
    loss64 = net64.compute_loss(X, Y)
    assert abs(net32.compute_loss(X, Y) - loss64) <= 1e-5 * loss64 + rounding


@pytest.mark.parametrize("loss", ["sse", "mse"])
@given(problem=problems(max_depth=3))
def test_float32_gradients_match_float32_central_differences(loss, problem):
    weights, biases, X, Y = problem
    net = fastprop.Network.from_weights([w.astype(np.float32) for w in weights],
                                        [b.astype(np.float32) for b in biases], loss=loss)
    L = net.compute_loss(X, Y)
    grads_W, grads_b = net.gradients(X, Y)
    fd_W, fd_b = finite_difference_gradients(weights, biases, X, Y, loss, np.dtype(np.float32), 1e-2)
    check_against(grads_W + grads_b, fd_W + fd_b, rtol=1e-2, atol=1e-3 * max(1.0, L))


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("sizes", [(1, 1), (1, 1, 1, 1, 1), (3, 1, 3), (2, 4, 4, 4, 2), (5, 2)])
@pytest.mark.parametrize("n", [1, 7])
def test_fixed_architectures_against_central_differences(sizes, n, loss):
    """Width-1 layers, depth 1 to 4, a batch of one and a larger one, deterministically."""
    rng = np.random.default_rng(sum(sizes) + n)
    weights = [rng.uniform(-2, 2, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, n_out) for n_out in sizes[1:]]
    X, Y = rng.uniform(-2, 2, (n, sizes[0])), rng.uniform(0, 1, (n, sizes[-1]))
    net = fastprop.Network.from_weights(weights, biases, loss=loss)
    L = net.compute_loss(X, Y)
    grads_W, grads_b = net.gradients(X, Y)
    fd_W, fd_b = finite_difference_gradients(weights, biases, X, Y, loss, np.dtype(np.float64), 1e-6)
    check_against(grads_W + grads_b, fd_W + fd_b, rtol=1e-6, atol=1e-7 * max(1.0, L))
    # The check can fail: a gradient with one entry wrong by 1e-4 is caught.
    wrong = [g.copy() for g in grads_W]
    wrong[0].flat[0] += 1e-4
    with pytest.raises(AssertionError):
        check_against(wrong, fd_W, rtol=1e-6, atol=1e-7 * max(1.0, L))


def test_mse_gradient_is_sse_gradient_over_n_by_finite_differences():
    rng = np.random.default_rng(3)
    sizes, n = (3, 4, 2), 6
    weights = [rng.uniform(-2, 2, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, o) for o in sizes[1:]]
    X, Y = rng.uniform(-2, 2, (n, 3)), rng.uniform(0, 1, (n, 2))
    fd_sse = finite_difference_gradients(weights, biases, X, Y, "sse", np.dtype(np.float64), 1e-6)
    fd_mse = finite_difference_gradients(weights, biases, X, Y, "mse", np.dtype(np.float64), 1e-6)
    for a, b in zip(fd_sse[0] + fd_sse[1], fd_mse[0] + fd_mse[1]):
        np.testing.assert_allclose(b, a / n, rtol=1e-6, atol=1e-8)
