"""fastprop against PyTorch in float64 for the activations, outputs and losses other than
the tutorials' (autograd's outputs, losses and gradients), and for the optimizers
(``torch.optim.SGD`` with momentum, Nesterov and weight decay; ``torch.optim.AdamW``),
over a few epochs of ``fit``.

Both sides compute the same float64 formulas in different orders (torch's lerp fuses a
multiply and an add; its exp and log are its own), so they agree to a few roundings:
1e-12 of the largest magnitude for one pass, 1e-10 after a few dozen steps.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastprop

torch = pytest.importorskip("torch")

# A short fit with momentum may end a little above its first epoch's loss, which fit rightly
# reports; here only the numbers matter.
pytestmark = pytest.mark.filterwarnings("ignore::fastprop.ConvergenceWarning")

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                     "identity": lambda z: z}
PAIRS = (("sigmoid", "mse"), ("identity", "sse"), ("sigmoid", "bce"),
         ("softmax", "cross_entropy"))


@st.composite
def problems(draw, output, max_depth=3, max_width=6):
    depth = draw(st.integers(1, max_depth))
    sizes = [draw(st.integers(1, max_width)) for _ in range(depth + 1)]
    if output == "softmax":
        sizes[-1] = max(2, sizes[-1])
    n = draw(st.sampled_from([1, 2, 5, 9]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    weights = [rng.uniform(-1.5, 1.5, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-0.5, 0.5, o) for o in sizes[1:]]
    X = rng.uniform(-2, 2, (n, sizes[0]))
    if output == "softmax":
        Y = rng.integers(0, sizes[-1], n)
    elif output == "identity":
        Y = rng.uniform(-2, 2, (n, sizes[-1]))
    else:
        Y = rng.uniform(0, 1, (n, sizes[-1]))
    return weights, biases, X, Y


def torch_parameters(weights, biases):
    return [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in weights + biases]


def torch_loss_and_outputs(parameters, n_layers, X, Y, activation, output, loss):
    """(loss, outputs) of the network in torch, the loss as fastprop defines it."""
    a = torch.as_tensor(X, dtype=torch.float64)
    weights, biases = parameters[:n_layers], parameters[n_layers:]
    for layer, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W.T + b
        if layer < n_layers - 1:
            a = TORCH_ACTIVATIONS[activation](z)
    n = X.shape[0]
    if loss == "cross_entropy":
        value = torch.nn.functional.cross_entropy(z, torch.as_tensor(Y), reduction="mean")
        return value, torch.softmax(z, dim=1)
    target = torch.as_tensor(Y, dtype=torch.float64)
    if loss == "bce":
        value = torch.nn.functional.binary_cross_entropy_with_logits(z, target,
                                                                     reduction="sum") / n
        return value, torch.sigmoid(z)
    outputs = TORCH_ACTIVATIONS[output](z)
    value = 0.5 * ((outputs - target) ** 2).sum()
    return (value / n if loss == "mse" else value), outputs


def assert_close(got, expected, rtol):
    scale = max(float(np.max(np.abs(e))) for e in expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("output, loss", PAIRS)
@given(data=st.data())
def test_outputs_loss_and_gradients_match_autograd(activation, output, loss, data):
    weights, biases, X, Y = data.draw(problems(output))
    net = fastprop.Network.from_weights(weights, biases, loss=loss, activation=activation,
                                        output=output)
    parameters = torch_parameters(weights, biases)
    value, outputs = torch_loss_and_outputs(parameters, len(weights), X, Y, activation, output,
                                            loss)
    value.backward()
    assert_close([net.forward(X)], [outputs.detach().numpy()], 1e-12)
    assert net.compute_loss(X, Y) == pytest.approx(value.item(), rel=1e-12, abs=1e-14)
    grads_W, grads_b = net.gradients(X, Y)
    assert_close(grads_W + grads_b, [p.grad.numpy() for p in parameters], 1e-12)


OPTIMIZERS = {
    "sgd momentum": (lambda: fastprop.SGD(0.1, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "sgd nesterov, decay": (lambda: fastprop.SGD(0.05, momentum=0.8, nesterov=True,
                                                 weight_decay=0.01),
                            lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True,
                                                      weight_decay=0.01)),
    "sgd decay": (lambda: fastprop.SGD(0.1, weight_decay=0.1),
                  lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.1)),
    "adam": (lambda: fastprop.Adam(lr=0.01),
             lambda p: torch.optim.Adam(p, lr=0.01)),
    "adamw": (lambda: fastprop.Adam(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
              lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                          weight_decay=0.05)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("activation, output, loss", [("relu", "softmax", "cross_entropy"),
                                                       ("tanh", "sigmoid", "bce"),
                                                       ("sigmoid", "identity", "mse")])
def test_fit_matches_torch_optimizers(matmul_path, name, activation, output, loss):
    rng = np.random.default_rng(len(name) + len(loss))
    sizes = [5, 8, 6, 3]
    weights = [rng.uniform(-1, 1, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-0.3, 0.3, o) for o in sizes[1:]]
    X = rng.standard_normal((20, 5))
    Y = (rng.integers(0, 3, 20) if output == "softmax" else rng.uniform(0, 1, (20, 3)))
    make_ours, make_theirs = OPTIMIZERS[name]
    net = fastprop.Network.from_weights(weights, biases, loss=loss, activation=activation,
                                        output=output)
    # Two fits of two epochs: the optimizer's state continues from one to the next.
    ours = make_ours()
    history = np.concatenate([net.fit(X, Y, epochs=2, batch_size=6, shuffle=False,
                                      optimizer=ours) for _ in range(2)])
    parameters = torch_parameters(weights, biases)
    optimizer = make_theirs(parameters)
    expected_history = []
    for _ in range(4):
        total = 0.0
        for start in range(0, 20, 6):
            rows = slice(start, start + 6)
            optimizer.zero_grad()
            value, _ = torch_loss_and_outputs(parameters, len(weights), X[rows], Y[rows],
                                              activation, output, loss)
            value.backward()
            optimizer.step()
            total += value.item() * (X[rows].shape[0] if loss != "sse" else 1)
        expected_history.append(total / 20)
    np.testing.assert_allclose(history, expected_history, rtol=1e-10)
    assert_close(net.weights + net.biases, [p.detach().numpy() for p in parameters], 1e-10)
