"""fastprop against PyTorch autograd, in float64: outputs, loss, gradients and a
few epochs of fit, on random architectures, for "sse" and "mse".

Both sides compute the same float64 formulas in different orders (and with
different exp implementations), so they agree to a few roundings: 1e-12 of the
largest magnitude compared for one pass; after a few dozen gradient steps the
rounding differences are carried along but not amplified much (lr ≤ 1 on
sigmoid layers), and 1e-10 is kept.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastprop

torch = pytest.importorskip("torch")


@st.composite
def problems(draw, max_depth=4, max_width=6):
    depth = draw(st.integers(1, max_depth))
    sizes = tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))
    n = draw(st.sampled_from([1, 2, 5, 9]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    weights = [rng.uniform(-1.5, 1.5, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-0.5, 0.5, o) for o in sizes[1:]]
    X = rng.uniform(-2, 2, (n, sizes[0]))
    Y = rng.uniform(0, 1, (n, sizes[-1]))
    return weights, biases, X, Y


def torch_parameters(weights, biases):
    return ([torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights],
            [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in biases])


def torch_forward(weights, biases, X):
    a = torch.as_tensor(X, dtype=torch.float64)
    for W, b in zip(weights, biases):
        a = torch.sigmoid(a @ W.T + b)
    return a


def torch_loss(weights, biases, X, Y, loss):
    output = torch_forward(weights, biases, X)
    sse = 0.5 * ((output - torch.as_tensor(Y, dtype=torch.float64)) ** 2).sum()
    return sse / X.shape[0] if loss == "mse" else sse


def assert_close(got, expected, rtol):
    scale = max(float(np.max(np.abs(e))) for e in expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("loss", ["sse", "mse"])
@given(problem=problems())
def test_forward_loss_and_gradients_match_autograd(matmul_path, loss, problem):
    weights, biases, X, Y = problem
    net = fastprop.Network.from_weights(weights, biases, loss=loss)
    W_t, b_t = torch_parameters(weights, biases)
    value = torch_loss(W_t, b_t, X, Y, loss)
    value.backward()
    np.testing.assert_allclose(net.forward(X), torch_forward(W_t, b_t, X).detach().numpy(), rtol=1e-12, atol=1e-15)
    assert net.compute_loss(X, Y) == pytest.approx(value.item(), rel=1e-12, abs=1e-300)
    grads_W, grads_b = net.gradients(X, Y)
    assert_close(grads_W + grads_b, [p.grad.numpy() for p in W_t + b_t], rtol=1e-12)


def torch_fit(weights, biases, X, Y, loss, epochs, lr, batch_size, orders):
    """Minibatch SGD with torch.optim.SGD; returns (weights, biases, per-epoch losses)."""
    W_t, b_t = torch_parameters(weights, biases)
    optimizer = torch.optim.SGD(W_t + b_t, lr=lr)
    n = X.shape[0]
    history = []
    for epoch in range(epochs):
        total = 0.0
        for position in range(0, n, batch_size):
            rows = orders[epoch][position:position + batch_size]
            optimizer.zero_grad()
            batch_loss = torch_loss(W_t, b_t, X[rows], Y[rows], loss)
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.item() * (len(rows) if loss == "mse" else 1)
        history.append(total / n if loss == "mse" else total)
    return ([w.detach().numpy() for w in W_t], [b.detach().numpy() for b in b_t], np.array(history))


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("shuffle", [False, True])
@settings(max_examples=10)
@given(problem=problems(max_depth=3), batch_size=st.sampled_from([1, 2, 4, None]),
       lr=st.sampled_from([0.1, 0.5, 1.0]))
def test_fit_matches_torch_sgd(matmul_path, loss, shuffle, problem, batch_size, lr):
    weights, biases, X, Y = problem
    n, epochs, seed = X.shape[0], 3, 17
    net = fastprop.Network.from_weights(weights, biases, loss=loss)
    history = net.fit(X, Y, epochs=epochs, lr=lr, batch_size=batch_size, shuffle=shuffle, seed=seed)
    effective = n if batch_size is None else min(batch_size, n)
    if shuffle and effective < n:
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(n) for _ in range(epochs)]
    else:
        orders = [np.arange(n)] * epochs  # a full batch is not shuffled (nor needs to be)
    W, b, expected_history = torch_fit(weights, biases, X, Y, loss, epochs, lr, effective, orders)
    assert_close(net.weights + net.biases, W + b, rtol=1e-10)
    np.testing.assert_allclose(history, expected_history, rtol=1e-10, atol=1e-300)
