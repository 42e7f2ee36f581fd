"""What NetworkClassifier and NetworkRegressor share: scikit-learn's MLP parameters, the
network they build, and training in fastprop's compiled loop.

The parameters mean what they mean for ``sklearn.neural_network.MLPClassifier`` and
``MLPRegressor`` (1.6 and later), and the same random_state draws the same initial
weights (Glorot uniform, sklearn's bound, factor 2 for "logistic"). Training differs
from scikit-learn's in these documented ways:

* the "sgd" and "adam" solvers run ``Network.fit`` with ``fastprop.SGD`` or
  ``fastprop.Adam``: every batch in compiled code, a return to Python once per epoch (the
  callback that records ``loss_curve_``, applies the learning-rate schedule and stops on
  ``n_iter_no_change``). Adam is torch's: eps added to sqrt(v / (1 - beta_2**t)), where
  scikit-learn adds it to sqrt(v); SGD's momentum is torch's, equal to scikit-learn's
  while the learning rate is constant;
* the epoch's loss adds the L2 term 0.5 * alpha * ||W||^2 / batch once per batch with
  the weights at the end of the epoch (scikit-learn: with each batch's weights);
* the batches of a shuffled epoch follow fastprop's permutation, drawn from a seed taken
  from random_state, not scikit-learn's;
* sample_weight and sparse X are not supported (TypeError); the regressor's loss is
  "squared_error" only.
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import FloatArray
from ..network import Network, TrainingDivergedError, without_convergence_warnings
from ..optimizers import SGD, Adam

# scikit-learn's names of the hidden activations, and fastprop's.
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
               "tanh": "tanh", "relu": "relu"}
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
DTYPES = (np.float64, np.float32)
_Estimator = TypeVar("_Estimator", bound="NetworkEstimator")

# The Parameters section of the estimators' docstrings (numpydoc), the parameters of
# scikit-learn's MLPClassifier and MLPRegressor plus dtype.
PARAMETERS_DOC = """\
    hidden_layer_sizes : int or sequence of int, default (100,)
        The widths of the hidden layers.
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
        The hidden layers' function ("logistic" is the sigmoid; "sigmoid" is accepted).
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        fastprop.Adam or fastprop.SGD in minibatches, or scipy's L-BFGS-B on the full batch.
    alpha : float, default 1e-4
        The L2 penalty's factor: alpha / n_samples * W added to the weights' gradients.
    batch_size : int or "auto", default "auto"
        Samples per step of "sgd" and "adam"; "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of "sgd"'s learning rate.
    learning_rate_init : float, default 1e-3
        The initial learning rate of "sgd" and "adam".
    power_t : float, default 0.5
        The exponent of "invscaling".
    max_iter : int, default 200
        Epochs of "sgd" and "adam"; iterations of "lbfgs".
    shuffle : bool, default True
        Whether each epoch takes the samples in a new order.
    random_state : int, numpy.random.RandomState or None
        The initial weights (scikit-learn's for the same value), the shuffling and the
        validation split.
    tol : float, default 1e-4
        The improvement below which an epoch counts as none (and "lbfgs"'s gtol).
    verbose : bool or int, default False
        Print the loss of every epoch.
    warm_start : bool, default False
        Continue from the fitted network in the next fit.
    momentum : float, default 0.9
        "sgd"'s momentum, in [0, 1].
    nesterovs_momentum : bool, default True
        Nesterov momentum for "sgd".
    early_stopping : bool, default False
        Stop when the score on a validation split stops improving.
    validation_fraction : float, default 0.1
        The share of the training set held out for early stopping, in (0, 1).
    beta_1, beta_2 : float, default 0.9 and 0.999
        Adam's decay rates, in [0, 1).
    epsilon : float, default 1e-8
        Adam's epsilon.
    n_iter_no_change : int, default 10
        Epochs without improvement before stopping (or lowering "adaptive"'s rate).
    max_fun : int, default 15000
        The most loss evaluations of "lbfgs".
    dtype : numpy.float64 (default) or numpy.float32
        The network's dtype: every computation runs in it."""


def _number(estimator: object, name: str, kind: type[int] | type[float],
            low: float | None = None, high: float | None = None, low_open: bool = False,
            high_open: bool = False) -> Any:
    """The parameter name of estimator, checked: a real (kind float) or integer (kind int)
    number within [low, high] (or open at either end)."""
    value = getattr(estimator, name)
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is int and not integral:
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if kind is float and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        interval = (("(" if low_open else "[") + f"{low if low is not None else '-inf'}, "
                    + f"{high if high is not None else 'inf'}" + (")" if high_open else "]"))
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def _choice(estimator: object, name: str, choices: Sequence[str]) -> str:
    value = getattr(estimator, name)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _boolean(estimator: object, name: str) -> bool:
    value = getattr(estimator, name)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class NetworkEstimator(BaseEstimator):  # type: ignore[misc]  # scikit-learn has no types
    """The parameters and training of NetworkClassifier and NetworkRegressor."""

    # Fitted attributes (set by fit, absent before: scikit-learn's check_is_fitted).
    network_: Network
    n_iter_: int
    t_: int
    n_layers_: int
    n_outputs_: int
    out_activation_: str
    loss_: float
    loss_curve_: list[float] | None
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    coefs_: list[FloatArray]
    intercepts_: list[FloatArray]
    _random_state: np.random.RandomState
    _optimizer: SGD | Adam | None
    _no_improvement_count: int
    _best_parameters: list[FloatArray]

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool | int = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dtype: DTypeLike = np.float64) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    # --- parameters -------------------------------------------------------------------

    def _checked_parameters(self) -> tuple[list[int], str, np.dtype[np.floating[Any]]]:
        """The hidden widths, fastprop's activation name and the dtype; every parameter
        checked (ValueError or TypeError naming it), as scikit-learn checks them in fit."""
        given: object = self.hidden_layer_sizes
        if isinstance(given, numbers.Integral) and not isinstance(given, bool):
            given = [given]
        try:
            sizes: list[int] = list(given)  # type: ignore[call-overload]  # checked below
        except TypeError:
            raise TypeError("hidden_layer_sizes must be an integer or a sequence of integers, "
                            f"got {self.hidden_layer_sizes!r}") from None
        if not all(isinstance(width, numbers.Integral) and not isinstance(width, bool)
                   for width in sizes):
            raise TypeError("hidden_layer_sizes must hold integers, got "
                            f"{self.hidden_layer_sizes!r}")
        if any(width <= 0 for width in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes!r}")
        activation = ACTIVATIONS[_choice(self, "activation", tuple(ACTIVATIONS))]
        _choice(self, "solver", SOLVERS)
        _number(self, "alpha", float, 0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            if isinstance(self.batch_size, str):
                raise ValueError(f"batch_size must be 'auto' or an integer >= 1, got "
                                 f"{self.batch_size!r}")
            _number(self, "batch_size", int, 1)
        _choice(self, "learning_rate", LEARNING_RATES)
        _number(self, "learning_rate_init", float, 0, low_open=True)
        _number(self, "power_t", float, 0)
        _number(self, "max_iter", int, 1)
        _number(self, "tol", float, 0)
        _number(self, "momentum", float, 0, 1)
        _number(self, "validation_fraction", float, 0, 1, low_open=True, high_open=True)
        for name in ("beta_1", "beta_2"):
            _number(self, name, float, 0, 1, high_open=True)
        _number(self, "epsilon", float, 0, low_open=True)
        _number(self, "n_iter_no_change", int, 1)
        _number(self, "max_fun", int, 1)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            _boolean(self, name)
        if not isinstance(self.verbose, (bool, np.bool_, numbers.Integral)):
            raise TypeError(f"verbose must be a bool or an integer, got {self.verbose!r}")
        dtype: np.dtype[Any] | None
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype not in DTYPES:
            raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {self.dtype!r}")
        return sizes, activation, cast("np.dtype[np.floating[Any]]", dtype)  # one of DTYPES

    # --- fitting ------------------------------------------------------------------

    def _fit(self: _Estimator, X: ArrayLike, y: ArrayLike, incremental: bool) -> _Estimator:
        sizes, activation, dtype = self._checked_parameters()
        if incremental and self.solver == "lbfgs":
            raise ValueError("partial_fit is only available for the stochastic solvers "
                             "'sgd' and 'adam'")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        validated, targets = self._validate_input(X, y, incremental, reset=first_pass)
        X = np.ascontiguousarray(validated, dtype=dtype)
        self._random_state = check_random_state(self.random_state)
        n_outputs = self._n_network_outputs(targets)
        if first_pass:
            self._initialize([X.shape[1]] + sizes + [n_outputs], activation, dtype)
        elif list(self.network_.sizes[1:-1]) != sizes or self.network_.dtype != dtype:
            raise ValueError(
                f"warm_start and partial_fit continue the network of the first fit "
                f"(hidden_layer_sizes={list(self.network_.sizes[1:-1])}, dtype="
                f"{self.network_.dtype}); got hidden_layer_sizes={sizes}, dtype={dtype}")
        # The estimator reports convergence as scikit-learn does (below); the network's
        # own warning is turned off in this thread only (warnings.catch_warnings would
        # swap the process's filters under other threads' feet).
        with without_convergence_warnings():
            try:
                if self.solver == "lbfgs":
                    self._fit_lbfgs(X, targets)
                else:
                    self._fit_stochastic(X, targets, incremental)
            except TrainingDivergedError as error:
                raise ValueError("Solver produced non-finite parameter weights. The input "
                                 "data may contain large values and need to be "
                                 f"preprocessed ({error})") from error
        self._export_parameters()
        return self

    def _initialize(self, layer_sizes: list[int], activation: str,
                    dtype: np.dtype[np.floating[Any]]) -> None:
        """A new network with scikit-learn's initial weights for this random_state."""
        factor = 2.0 if activation == "sigmoid" else 6.0
        weights: list[NDArray[np.float64]] = []
        biases: list[NDArray[np.float64]] = []
        for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            # scikit-learn draws coefs_ (fan_in, fan_out), then the intercepts.
            weights.append(self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T)
            biases.append(self._random_state.uniform(-bound, bound, fan_out))
        output, loss = self._output_and_loss()
        self.network_ = Network.from_weights(weights, biases, loss=loss, dtype=dtype,
                                             activation=activation, output=output)
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_sizes)
        self.n_outputs_ = layer_sizes[-1]
        self.out_activation_ = {"sigmoid": "logistic"}.get(output, output)
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self._optimizer = None

    def _l2_term(self, n_samples: int) -> float:
        """scikit-learn's 0.5 * alpha * ||W||^2 / n_samples with the network's weights."""
        squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in self.network_._weights)
        return 0.5 * self.alpha * squares / n_samples

    def _make_optimizer(self) -> SGD | Adam:
        optimizer: SGD | Adam
        if self.solver == "adam":
            optimizer = Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                             eps=self.epsilon)
        else:
            optimizer = SGD(self.learning_rate_init, momentum=self.momentum,
                            nesterov=self.nesterovs_momentum and self.momentum > 0)
        optimizer._sample_l2 = float(self.alpha)
        return optimizer

    def _fit_stochastic(self, X: FloatArray, targets: NDArray[Any], incremental: bool) -> None:
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer()
        optimizer = self._optimizer
        X_val: FloatArray | None = None
        y_val: NDArray[Any] | None = None
        if self.early_stopping and self.validation_scores_ is None:
            # warm_start after a fit without early stopping: its records start now.
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        if self.early_stopping:
            stratify = targets if self._stratifies() else None
            X, X_val, targets, y_val = train_test_split(
                X, targets, random_state=self._random_state,
                test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            y_val = self._decoded_targets(y_val)
            # The weights kept if no epoch scores better (every score NaN): the start's.
            self._best_parameters = [array.copy() for array in
                                     self.network_._weights + self.network_._biases]
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        n_batches = -(-n_samples // batch_size)
        epochs = 1 if incremental else self.max_iter
        stopped: list[int] = []

        def end_of_epoch(epoch: int, loss: float) -> bool:
            self.n_iter_ += 1
            self.t_ += n_samples
            self.loss_ = self._reported_loss(loss) + n_batches * self._l2_term(n_samples)
            # A list since _initialize (None after an lbfgs fit continued by warm_start:
            # AttributeError, as before annotations)
            cast(list[float], self.loss_curve_).append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            self._update_no_improvement_count(X_val, y_val)
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if self.early_stopping else "Training loss"
                message = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                if self.solver == "sgd" and self.learning_rate == "adaptive":
                    if optimizer.lr > 1e-6:
                        optimizer.lr = optimizer.lr / 5.0
                        self._no_improvement_count = 0
                        if self.verbose:
                            print(f"{message} Setting learning rate to {optimizer.lr:f}")
                        return True
                    message += " Learning rate too small."
                if self.verbose:
                    print(f"{message} Stopping.")
                stopped.append(epoch)
                return False
            return True

        seed = int(self._random_state.randint(np.iinfo(np.int32).max))
        self.n_iter_ = 0            # scikit-learn counts this call's epochs (t_ all samples)
        self.network_.fit(X, targets, epochs, batch_size=batch_size, shuffle=self.shuffle,
                          seed=seed, optimizer=optimizer, callback=end_of_epoch)
        if not incremental and not stopped and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.",
                          SklearnConvergenceWarning)
        if self.early_stopping:
            for array, best in zip(self.network_._weights + self.network_._biases,
                                   self._best_parameters):
                np.copyto(array, best)

    def _update_no_improvement_count(self, X_val: FloatArray | None,
                                     y_val: NDArray[Any] | None) -> None:
        """scikit-learn's rule: an epoch improves on the best loss (or validation score)
        by more than tol, or counts as one without improvement."""
        if self.early_stopping:
            # early stopping: a validation set, and its records (_fit_stochastic)
            assert X_val is not None and y_val is not None
            assert self.validation_scores_ is not None and self.best_validation_score_ is not None
            score = self._score_decoded(X_val, y_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_parameters = [array.copy() for array in
                                         self.network_._weights + self.network_._biases]
        else:
            # without early stopping: a loss curve and the best loss (_initialize)
            loss_curve, best_loss = cast(list[float], self.loss_curve_), cast(float, self.best_loss_)
            if loss_curve[-1] > best_loss - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(best_loss, loss_curve[-1])

    def _fit_lbfgs(self, X: FloatArray, targets: NDArray[Any]) -> None:
        from ._lbfgs import fit_lbfgs

        result = fit_lbfgs(self.network_, X, targets, alpha=self.alpha, max_iter=self.max_iter,
                           max_fun=self.max_fun, tol=self.tol, verbose=self.verbose)
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.loss_curve_ = None
        self.best_loss_ = None

    def _export_parameters(self) -> None:
        """scikit-learn's coefs_ (n_in, n_out: the transpose of Network.weights) and
        intercepts_, copies of the fitted network's."""
        self.coefs_ = [w.T.copy() for w in self.network_._weights]
        self.intercepts_ = [b.copy() for b in self.network_._biases]

    # --- predicting ---------------------------------------------------------------

    def _outputs(self, X: ArrayLike) -> FloatArray:
        """The fitted network's outputs for X (checked as in fit)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=DTYPES)
        return self.network_.forward(np.ascontiguousarray(X, dtype=self.network_.dtype))

    def _score_decoded(self, X: FloatArray, y: NDArray[Any]) -> float:
        """The score on X of targets y as the user gave them (early stopping)."""
        predictions = self._predict_outputs(self.network_.forward(X))
        if np.issubdtype(predictions.dtype, np.floating) and not np.isfinite(predictions).all():
            return np.nan
        return self._score_function(y, predictions)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # --- to be given by the classifier and the regressor ---------------------------------

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool
                        ) -> tuple[NDArray[Any], NDArray[Any]]:
        raise NotImplementedError

    def _n_network_outputs(self, targets: NDArray[Any]) -> int:
        raise NotImplementedError

    def _output_and_loss(self) -> tuple[str, str]:
        raise NotImplementedError

    def _reported_loss(self, loss: float) -> float:
        raise NotImplementedError

    def _stratifies(self) -> bool:
        raise NotImplementedError

    def _decoded_targets(self, targets: NDArray[Any]) -> NDArray[Any]:
        raise NotImplementedError

    def _predict_outputs(self, outputs: FloatArray) -> NDArray[Any]:
        raise NotImplementedError

    def _score_function(self, y: NDArray[Any], predictions: NDArray[Any]) -> float:
        raise NotImplementedError
