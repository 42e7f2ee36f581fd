"""The "lbfgs" solver of fastprop.sklearn (src/fastprop/sklearn/_lbfgs.py) against finite
differences and against scikit-learn's own MLP solver="lbfgs".

Parity with scikit-learn: both start from the same parameters (scikit-learn's after one
L-BFGS iteration: fit with max_iter=1 and warm_start=True, copied into a fastprop network;
the second fit then starts a fresh L-BFGS-B from them, as fit_lbfgs does) and run
L-BFGS-B for the same number of iterations on the same function and gradient. The only
differences are rounding: the kernels sum in another order than numpy's BLAS (and the
parameters are packed in another order), about 1e-16 relative per evaluation. L-BFGS-B
amplifies these as it goes; measured on these problems (hidden layers (24, 12)), the
largest differences in the loss (relative) and the parameters (absolute) were 1e-15 after
10 iterations, 1e-12 after 20, 4e-10 after 30 and 1e-5 after 60 (the regression with
sigmoid units), where the paths drift apart. So after 20 iterations the parameters must
agree within 1e-8 and the losses within 1e-8 relatively (a margin of 4000 over what was
measured, for other CPU paths and BLAS), and both runs must count the same iterations.
A missing L2 term, a 1/n too many, a loss value off by a factor (the squared error's
1/n_outputs) or unclipped log losses (scikit-learn clips probabilities: a long trial
step of the line search reaches the clipping) send the path elsewhere by far more.
"""
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastprop  # noqa: E402
from fastprop.sklearn._lbfgs import LbfgsObjective, fit_lbfgs  # noqa: E402

ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]
SKLEARN_NAME = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu", "identity": "identity"}
# fastprop's (loss, output) pairs for scikit-learn's log_loss, binary_log_loss, squared_error
LOSSES = [("cross_entropy", "softmax"), ("bce", "sigmoid"), ("mse", "identity")]


def tiny_problem(activation, loss, output, n_outputs=3, seed=0):
    """A network [3, 4, 4, n_outputs] (two hidden layers) and 7 samples."""
    rng = np.random.default_rng(seed)
    sizes = [3, 4, 4, n_outputs]
    network = fastprop.Network.from_weights(
        [rng.normal(0, 0.7, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])],
        [rng.normal(0, 0.5, n_out) for n_out in sizes[1:]], loss=loss, activation=activation,
        output=output)
    X = rng.normal(size=(7, 3))
    if loss == "cross_entropy":
        Y = rng.integers(0, n_outputs, size=7)
    elif loss == "bce":
        Y = rng.integers(0, 2, size=(7, n_outputs)).astype(float)
    else:
        Y = rng.normal(size=(7, n_outputs))
    return network, X, Y


def central_differences(function, x, h=1e-6):
    gradient = np.empty_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        gradient[i] = (function(x + step) - function(x - step)) / (2 * h)
    return gradient


# (a) The loss and gradient handed to scipy. float64, h = 1e-6: the central difference is
# within h²/6·|L'''| (~1e-13) plus rounding ε·|L|/h (~2e-10·|L|) of the derivative.
@pytest.mark.parametrize("loss, output", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_central_differences(activation, loss, output):
    n_outputs = 1 if loss == "mse" else 3       # squared error: see the next test for 2
    network, X, Y = tiny_problem(activation, loss, output, n_outputs)
    objective = LbfgsObjective(network, X, Y, alpha=0.7)
    x = objective.pack()
    loss_value, gradient = objective(x)
    assert gradient.dtype == np.float64 and gradient.shape == x.shape
    numeric = central_differences(lambda point: objective(point)[0], x)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-7 * max(1, loss_value))
    # The L2 term is scikit-learn's: 0.5 * alpha * sum ||W||² / n on the weights only.
    unpenalised = LbfgsObjective(network, X, Y, alpha=0.0)(x)[0]
    weights = np.concatenate([w.ravel() for w in network.weights])
    assert loss_value - unpenalised == pytest.approx(0.5 * 0.7 * weights @ weights / 7, rel=1e-12)


def test_squared_error_with_two_outputs_is_scikit_learns_pair():
    """scikit-learn's squared_error value is 1/2 mean over samples and outputs, its gradient
    that of 1/2 sum / n_samples: n_outputs times the derivative of the value."""
    network, X, Y = tiny_problem("tanh", "mse", "identity", n_outputs=2)
    objective = LbfgsObjective(network, X, Y, alpha=0.0)
    x = objective.pack()
    loss_value, gradient = objective(x)
    assert loss_value == pytest.approx(0.5 * np.mean((Y - network.forward(X)) ** 2), rel=1e-13)
    numeric = central_differences(lambda point: objective(point)[0], x)
    np.testing.assert_allclose(gradient, 2 * numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("loss, output, one_hot", [("cross_entropy", "softmax", False),
                                                   ("cross_entropy", "softmax", True),
                                                   ("bce", "sigmoid", False)])
def test_log_losses_clip_probabilities_as_scikit_learn_does(loss, output, one_hot):
    """scikit-learn's log losses take logarithms of probabilities clipped to [eps, 1 - eps]:
    with the weights scaled up, some samples are confidently wrong beyond that."""
    network, X, Y = tiny_problem("tanh", loss, output, seed=3)
    objective = LbfgsObjective(network, X, np.eye(3)[Y] if one_hot else Y, alpha=0.0)
    x = 60 * objective.pack()
    clipped_loss = objective(x)[0]
    eps = np.finfo(np.float64).eps
    probabilities = np.clip(network.forward(X), eps, 1 - eps)
    if loss == "cross_entropy":
        expected = -np.mean(np.log(probabilities[np.arange(len(Y)), Y]))
    else:
        expected = -np.mean(np.sum(Y * np.log(probabilities)
                                   + (1 - Y) * np.log1p(-probabilities), axis=1))
    assert clipped_loss == pytest.approx(expected, rel=1e-12)
    assert network.compute_loss(X, Y) > 1.1 * clipped_loss      # clipping mattered here


def test_an_overflowing_trial_point_is_an_infinite_loss_but_not_the_start():
    network, X, Y = tiny_problem("identity", "mse", "identity", n_outputs=1)
    objective = LbfgsObjective(network, X * 1e200, Y, alpha=0.1)
    x = objective.pack()
    with pytest.raises(FloatingPointError):
        objective(x * 1e200)                            # the starting point
    objective = LbfgsObjective(network, X, Y, alpha=0.1)
    assert np.isfinite(objective(x)[0])
    assert objective(x * 1e300)[0] == np.inf          # a trial step: L-BFGS-B backs off


# (b) Parity with scikit-learn (see the module docstring for the tolerances).
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def regression_with_two_outputs():
    X, Y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), StandardScaler().fit_transform(Y)


def start_both(estimator, X, y, loss, output, activation, dtype=np.float64):
    """The estimator after one L-BFGS iteration, and a fastprop network with its parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    network = fastprop.Network.from_weights(
        [coef.T for coef in estimator.coefs_], list(estimator.intercepts_), loss=loss,
        output=output, activation=activation, dtype=dtype)
    return network


def run_both(estimator, network, X, y, Y, iterations):
    estimator.set_params(max_iter=iterations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
        result = fit_lbfgs(network, X, Y, estimator.alpha, iterations, estimator.max_fun,
                           estimator.tol)
    return result


def assert_same_parameters(network, estimator, tolerance):
    for ours, theirs in zip(network.weights + network.biases,
                            [c.T for c in estimator.coefs_] + estimator.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance)


CASES = {
    # name: (estimator class, data, fastprop loss and output, targets for fastprop)
    "multiclass": (MLPClassifier, digits, "cross_entropy", "softmax", lambda y: y),
    "binary": (MLPClassifier, lambda: (digits()[0], digits()[1] >= 5), "bce", "sigmoid",
               lambda y: y.reshape(-1, 1).astype(float)),
    "regression, 2 outputs": (MLPRegressor, regression_with_two_outputs, "mse", "identity",
                              lambda y: y),
}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("case", CASES)
def test_same_path_as_scikit_learn(case, activation):
    estimator_class, data, loss, output, targets = CASES[case]
    X, y = data()
    estimator = estimator_class(hidden_layer_sizes=(24, 12), activation=SKLEARN_NAME[activation],
                                solver="lbfgs", alpha=1e-3, tol=0.0, max_iter=1,
                                warm_start=True, random_state=0)
    network = start_both(estimator, X, y, loss, output, activation)
    result = run_both(estimator, network, X, y, targets(y), iterations=20)
    assert result.n_iter == estimator.n_iter_      # 20, but 14 for the linear regression
    assert result.loss == pytest.approx(estimator.loss_, rel=1e-8)
    assert_same_parameters(network, estimator, 1e-8)
    # The loss returned is the loss of the parameters the network holds, L2 term included.
    assert LbfgsObjective(network, X, targets(y), 1e-3)(result.optimize_result.x)[0] \
        == pytest.approx(result.loss, rel=1e-12)


# (c) The iteration limit.
def test_reaching_max_iter_warns_like_scikit_learn():
    X, y = digits()
    network = fastprop.Network([64, 16, 10], seed=0, loss="cross_entropy", activation="relu",
                               output="softmax")
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 iteration"
                                                r"\(s\)(.|\n)*max_iter=3"):
        result = fit_lbfgs(network, X, y, alpha=1e-4, max_iter=3, max_fun=15000, tol=1e-4)
    assert result.n_iter == 3
    assert result.optimize_result.status == 1


def test_converging_does_not_warn():
    X, y = digits()
    network = fastprop.Network([64, 10], seed=0, loss="cross_entropy", output="softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_lbfgs(network, X, y, alpha=1.0, max_iter=500, max_fun=15000, tol=1e-3)
    assert result.optimize_result.status == 0 and result.n_iter < 500


def test_max_fun_stops_it_with_a_warning():
    X, y = digits()
    network = fastprop.Network([64, 16, 10], seed=0, loss="cross_entropy", output="softmax")
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        result = fit_lbfgs(network, X, y, alpha=1e-4, max_iter=200, max_fun=5, tol=1e-4)
    assert result.optimize_result.nfev <= 6 and result.n_iter < 200


def test_verbose_prints_each_iteration(capsys):
    X, y = digits()
    network = fastprop.Network([64, 10], seed=0, loss="cross_entropy", output="softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_lbfgs(network, X, y, alpha=1e-4, max_iter=2, max_fun=15000, tol=1e-4, verbose=True)
    assert "Iteration 2, loss = " in capsys.readouterr().out


def test_an_interrupted_fit_leaves_the_network_as_it_was(monkeypatch):
    X, y = digits()
    network = fastprop.Network([64, 16, 10], seed=0, loss="cross_entropy", output="softmax")
    before = network.weights + network.biases
    forward_and_delta = network._output_delta
    calls = []

    def interrupted_on_the_third_call(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return forward_and_delta(*args)

    monkeypatch.setattr(network, "_output_delta", interrupted_on_the_third_call)
    with pytest.raises(KeyboardInterrupt):
        fit_lbfgs(network, X, y, alpha=1e-4, max_iter=50, max_fun=15000, tol=1e-4)
    for now, then in zip(network.weights + network.biases, before):
        np.testing.assert_array_equal(now, then)


# (d) float32 networks: L-BFGS-B in float64, the network's arithmetic in float32. From the
# same start as scikit-learn (float64 throughout), 10 iterations: float32 rounding (6e-8
# relative per operation) grows to at most 6e-7 in the loss and 5e-6 in the parameters on
# this problem; the tolerances 1e-5 and 1e-4 leave a margin of 20 (a wrong gradient is off
# by far more).
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_float32_network_follows_scikit_learn_closely(activation):
    X, y = digits()
    estimator = MLPClassifier(hidden_layer_sizes=(32,), activation=SKLEARN_NAME[activation],
                              solver="lbfgs", alpha=1e-3, tol=0.0, max_iter=1, warm_start=True,
                              random_state=0)
    network = start_both(estimator, X, y, "cross_entropy", "softmax", activation, np.float32)
    result = run_both(estimator, network, X, y, y, iterations=10)
    assert network.dtype == np.float32
    assert all(w.dtype == np.float32 for w in network.weights + network.biases)
    assert result.optimize_result.x.dtype == np.float64
    assert result.n_iter == 10
    assert result.loss == pytest.approx(estimator.loss_, rel=1e-5)
    assert_same_parameters(network, estimator, 1e-4)
