"""The "lbfgs" solver of fastprop.sklearn: scikit-learn's ``MLP._fit_lbfgs`` on fastprop's
compiled full-batch loss and gradients.

Design
------
* scipy.optimize.minimize(method="L-BFGS-B", jac=True) with scikit-learn's options
  (maxfun=max_fun, maxiter=max_iter, gtol=tol; iprint only where scipy still takes it,
  before 1.15, as scikit-learn does) on one float64 vector of parameters. It is packed in
  fastprop's layout: every layer's weights (n_out, n_in) raveled, then every layer's
  biases. (scikit-learn packs its coefs_ (n_in, n_out), then its intercepts_. L-BFGS-B
  without bounds does not depend on the order of the coordinates: only the rounding of its
  inner products differs.)
* One evaluation is one forward and one backward pass: the vector is copied into the
  network's own arrays in place; ``Network._output_delta`` gives every layer's activations,
  the output delta and the summed loss in one forward pass; the backward pass calls the
  kernels ``Network.gradients`` calls, writing a float64 network's gradients straight into
  the float64 gradient vector handed to scipy.
* float32 networks: L-BFGS-B works in float64; the vector is rounded to float32 on the way
  in, and the float32 gradients are widened on the way out (scikit-learn does the same
  with float32 data; its arithmetic is then float64, fastprop's float32).
* The objective is scikit-learn's (``_backprop``), with n the number of samples:
      loss     = data loss + 0.5 * alpha * sum over layers of ||W||^2 / n
      gradient = data gradient, plus alpha * W / n on the weights (not on the biases)
  Data losses: "cross_entropy" (softmax output) is scikit-learn's log_loss, "bce" (sigmoid
  output) its binary_log_loss (binary and multilabel), "mse" (identity output) its
  squared_error. Two differences in the loss *value*, none in the gradient:
  - squared_error's value is 1/2 * mean over samples *and outputs* of (y - p)**2, while its
    gradient is that of 1/2 * sum / n (the output delta is not divided by n_outputs). So for
    n_outputs > 1 scikit-learn hands L-BFGS-B a loss and a gradient that do not agree (the
    gradient is n_outputs times the loss's). We hand it the same pair: fastprop's "mse" loss
    divided by n_outputs, with fastprop's "mse" gradient.
  - scikit-learn's log losses take the logarithm of probabilities clipped to [eps, 1 - eps]
    (eps = 2.2e-16), so a sample's loss stops at -log(eps) = 36 while its gradient goes on;
    fastprop computes them exactly from z. They differ only where a probability is clipped,
    but long trial steps of the line search get there (one of them on digits: 15.8 against
    18.7), and the paths part. So we add the difference on the rows where clipping caps a
    term (LbfgsObjective.clipping_difference: a comparison over the outputs, and numpy
    work on those rows only: a few, in the long trial steps). Where clipping changes a
    term by less than eps (a target's probability within eps of 1) it is not reproduced:
    at most eps * n_outputs on the loss.
* Other losses fastprop has ("sse": no 1/n) go through unchanged, the L2 term still / n.
  scikit-learn's "poisson" loss (exp output) and its sample_weight have no counterpart here.
* _check_optimize_result("lbfgs", ...) is reproduced (it is private to scikit-learn):
  n_iter = min(nit, max_iter), and a sklearn.exceptions.ConvergenceWarning whenever scipy's
  status is not 0 (the iteration or evaluation limit reached, or an abnormal line search).
* A forward pass whose pre-activations overflow the network's dtype (Network raises
  FloatingPointError) counts as an infinite loss, from which L-BFGS-B's line search backs
  off (scikit-learn's numpy arithmetic would give it inf or NaN); at the starting point it
  is raised: the inputs are too large for the network.
* The network ends holding the optimum found (scipy's x, as scikit-learn's _unpack); a call
  that raises (Ctrl-C, the starting point overflowing) leaves it as it was before the call.
"""
import itertools
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy
import scipy.optimize
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import ConvergenceWarning

from .. import _kernels
from .._validation import FloatArray
from ..network import Network

_SCIPY_TAKES_IPRINT = tuple(int(part) for part in scipy.__version__.split(".")[:2]) < (1, 15)


class LbfgsResult(NamedTuple):
    loss: float       # the final loss, L2 term included: scikit-learn's loss_
    n_iter: int       # iterations run, at most max_iter: scikit-learn's n_iter_
    optimize_result: Any  # scipy.optimize.OptimizeResult (scipy ships no types)


class LbfgsObjective:
    """``objective(x) -> (loss, gradient)``: scikit-learn's L2-penalised loss of the network
    on the full batch (X, Y), and its gradient, at the packed float64 parameters x."""

    def __init__(self, network: Network, X: ArrayLike, Y: ArrayLike, alpha: float) -> None:
        self.network = network
        self.samples, self.targets, self.labels = network._samples_and_targets(X, Y,
                                                                               training=True)
        n_samples = self.samples.shape[0]
        self.l2_scale = alpha / n_samples
        self.gradient_scale = network._scale(n_samples)        # 1/n but for "sse"
        self.loss_scale = self.gradient_scale
        if network.loss == "mse":                               # squared_error's value
            self.loss_scale /= network.sizes[-1]
        arrays = network._weights + network._biases
        self.shapes: list[tuple[int, ...]] = [array.shape for array in arrays]
        self.ends = np.cumsum([array.size for array in arrays])
        self.n_weights = int(self.ends[len(network._weights) - 1])
        self.evaluated = False      # whether a forward pass has been finite yet
        self.hidden_deltas: list[FloatArray] = [np.empty((n_samples, width), dtype=network.dtype)
                              for width in network.sizes[1:-1]]

    def pack(self) -> NDArray[np.float64]:
        """The network's parameters as one float64 vector."""
        return np.concatenate([array.ravel() for array in
                               self.network._weights + self.network._biases]).astype(np.float64)

    def split(self, vector: NDArray[np.float64]) -> list[NDArray[np.float64]]:
        """Views of a packed vector, one per weight matrix, then one per bias vector."""
        starts = [0, *self.ends[:-1]]
        return [vector[start:end].reshape(shape)
                for start, end, shape in zip(starts, self.ends, self.shapes)]

    def unpack(self, x: NDArray[np.float64]) -> None:
        """Copy x into the network's arrays in place (rounded for a float32 network)."""
        network = self.network
        for array, values in zip(network._weights + network._biases, self.split(x)):
            np.copyto(array, values)

    def __call__(self, x: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        network = self.network
        self.unpack(x)
        try:
            activations, output_delta, summed_loss = network._output_delta(
                self.samples, self.targets, self.labels)
        except FloatingPointError:
            if not self.evaluated:        # the starting point: the inputs are too large
                raise
            return np.inf, np.zeros_like(x)        # a trial step too long: L-BFGS-B backs off
        self.evaluated = True
        deltas = self.hidden_deltas + [output_delta]
        n_layers = len(network._weights)
        for layer in range(n_layers - 1, 0, -1):
            _kernels.hidden_delta(deltas[layer], network._weights[layer], activations[layer - 1],
                                  deltas[layer - 1], network._functions[layer - 1])
        gradient = np.empty_like(x)
        gradient_views = self.split(gradient)
        gradient_buffers: list[NDArray[Any]] = (gradient_views if network.dtype == np.float64
                            else [np.empty(shape, dtype=network.dtype) for shape in self.shapes])
        layer_inputs = [self.samples] + activations[:-1]
        for layer in range(n_layers):
            _kernels.weight_gradient(deltas[layer], layer_inputs[layer], gradient_buffers[layer],
                                     gradient_buffers[n_layers + layer])
        if gradient_buffers is not gradient_views:
            for view, buffer in zip(gradient_views, gradient_buffers):
                np.copyto(view, buffer)
        gradient *= self.gradient_scale
        weights = x[:self.n_weights]
        gradient[:self.n_weights] += self.l2_scale * weights
        if network.loss in ("cross_entropy", "bce"):
            summed_loss += self.clipping_difference(activations)
        loss = summed_loss * self.loss_scale + 0.5 * self.l2_scale * float(np.dot(weights, weights))
        return float(loss), gradient

    def clipping_difference(self, activations: list[FloatArray]) -> float:
        """scikit-learn's summed log loss minus fastprop's: scikit-learn takes logarithms of
        probabilities clipped to [eps, 1 - eps] (eps of float64, its arithmetic), fastprop
        computes the loss from z exactly. Worked out, from z recomputed in float64, on the
        rows where clipping caps a term of the loss (a target's probability below eps, or a
        non-target's above 1 - eps: a confidently wrong output). Elsewhere the clipping
        changes a term by less than eps, which is not reproduced."""
        network = self.network
        probabilities = activations[-1]        # the kernel overwrote the output z with them
        eps = np.finfo(np.float64).eps
        if self.labels is not None:
            rows = np.flatnonzero(probabilities[np.arange(len(self.labels)), self.labels] < eps)
        else:
            assert self.targets is not None      # targets where there are no labels
            capped = (self.targets > 0) & (probabilities < eps)
            if network.loss == "bce":
                capped |= (self.targets < 1) & (probabilities > 1 - eps)
            rows = np.flatnonzero(capped.any(axis=1))
        if rows.size == 0:
            return 0.0
        layer_input = activations[-2] if len(activations) > 1 else self.samples
        z = (layer_input[rows].astype(np.float64) @ network._weights[-1].T.astype(np.float64)
             + network._biases[-1])
        if self.labels is None:
            assert self.targets is not None
            targets = self.targets[rows].astype(np.float64)
        else:
            targets = np.eye(network.sizes[-1])[self.labels[rows]]
        clipped = np.clip(probabilities[rows].astype(np.float64), eps, 1 - eps)
        if network.loss == "cross_entropy":
            exact = np.sum(targets * (np.logaddexp.reduce(z, axis=1, keepdims=True) - z))
            scikit_learn = -np.sum(targets * np.log(clipped))
        else:                                  # bce, with log(1 + e^z) = logaddexp(0, z)
            exact = np.sum(np.logaddexp(0.0, z) - targets * z)
            scikit_learn = -np.sum(targets * np.log(clipped) + (1 - targets) * np.log1p(-clipped))
        return float(scikit_learn - exact)


def fit_lbfgs(network: Network, X: ArrayLike, Y: ArrayLike, alpha: float, max_iter: int,
              max_fun: int, tol: float, verbose: bool | int = False) -> LbfgsResult:
    """Train ``network`` (a fastprop.Network) on the full batch (X, Y) as scikit-learn's MLP
    solver="lbfgs" does, from its current parameters; returns an ``LbfgsResult``.

    alpha: the L2 penalty (scikit-learn's); max_iter, max_fun, tol: L-BFGS-B's maxiter,
    maxfun and gtol. Warns ConvergenceWarning (scikit-learn's) when L-BFGS-B stops without
    converging. verbose: scipy's iprint=1 before scipy 1.15, the loss of each iteration after.
    """
    objective = LbfgsObjective(network, X, Y, alpha)
    options: dict[str, float] = {"maxfun": max_fun, "maxiter": max_iter, "gtol": tol}
    callback: Callable[[Any], None] | None = None
    if _SCIPY_TAKES_IPRINT:
        options["iprint"] = 1 if verbose else -1
    elif verbose:
        iterations = itertools.count(1)

        def callback(intermediate_result: Any) -> None:
            print(f"Iteration {next(iterations)}, loss = {intermediate_result.fun:.8f}")

    with network._usage.writing("fit_lbfgs"):
        initial = objective.pack()
        try:
            result = scipy.optimize.minimize(objective, initial, method="L-BFGS-B", jac=True,
                                             options=options, callback=callback)
            objective.unpack(result.x)
        except BaseException:
            objective.unpack(initial)
            raise
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        message = (f"lbfgs failed to converge after {n_iter} iteration(s) "
                   f"(status={result.status}):\n{result.message}\n")
        if n_iter == max_iter:
            message += ("\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={max_iter}).")
        message += ("\nYou might also want to scale the data as shown in:\n"
                    "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    return LbfgsResult(float(result.fun), n_iter, result)
