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
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..network import ConvergenceWarning, Network, TrainingDivergedError
from ..optimizers import SGD, Adam

# scikit-learn's names of the hidden activations, and fastprop's.
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
               "tanh": "tanh", "relu": "relu"}
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
DTYPES = (np.float64, np.float32)


def _number(estimator, name, kind, low=None, high=None, low_open=False, high_open=False):
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


def _choice(estimator, name, choices):
    value = getattr(estimator, name)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _boolean(estimator, name):
    value = getattr(estimator, name)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class NetworkEstimator(BaseEstimator):
    """The parameters and training of NetworkClassifier and NetworkRegressor."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=np.float64):
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

    def _checked_parameters(self):
        """The hidden widths, fastprop's activation name and the dtype; every parameter
        checked (ValueError or TypeError naming it), as scikit-learn checks them in fit."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
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
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {self.dtype!r}")
        return sizes, activation, dtype

    # --- fitting ------------------------------------------------------------------

    def _fit(self, X, y, incremental):
        sizes, activation, dtype = self._checked_parameters()
        if incremental and self.solver == "lbfgs":
            raise ValueError("partial_fit is only available for the stochastic solvers "
                             "'sgd' and 'adam'")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, targets = self._validate_input(X, y, incremental, reset=first_pass)
        X = np.ascontiguousarray(X, dtype=dtype)
        self._random_state = check_random_state(self.random_state)
        n_outputs = self._n_network_outputs(targets)
        if first_pass:
            self._initialize([X.shape[1]] + sizes + [n_outputs], activation, dtype)
        elif list(self.network_.sizes[1:-1]) != sizes or self.network_.dtype != dtype:
            raise ValueError(
                f"warm_start and partial_fit continue the network of the first fit "
                f"(hidden_layer_sizes={list(self.network_.sizes[1:-1])}, dtype="
                f"{self.network_.dtype}); got hidden_layer_sizes={sizes}, dtype={dtype}")
        with warnings.catch_warnings():
            # The estimator reports convergence as scikit-learn does (below).
            warnings.simplefilter("ignore", ConvergenceWarning)
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

    def _initialize(self, layer_sizes, activation, dtype):
        """A new network with scikit-learn's initial weights for this random_state."""
        factor = 2.0 if activation == "sigmoid" else 6.0
        weights, biases = [], []
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

    def _l2_term(self, n_samples):
        """scikit-learn's 0.5 * alpha * ||W||^2 / n_samples with the network's weights."""
        squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in self.network_._weights)
        return 0.5 * self.alpha * squares / n_samples

    def _make_optimizer(self):
        if self.solver == "adam":
            optimizer = Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                             eps=self.epsilon)
        else:
            optimizer = SGD(self.learning_rate_init, momentum=self.momentum,
                            nesterov=self.nesterovs_momentum and self.momentum > 0)
        optimizer._sample_l2 = float(self.alpha)
        return optimizer

    def _fit_stochastic(self, X, targets, incremental):
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer()
        optimizer = self._optimizer
        X_val = y_val = None
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
        stopped = []

        def end_of_epoch(epoch, loss):
            self.n_iter_ += 1
            self.t_ += n_samples
            self.loss_ = self._reported_loss(loss) + n_batches * self._l2_term(n_samples)
            self.loss_curve_.append(self.loss_)
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

    def _update_no_improvement_count(self, X_val, y_val):
        """scikit-learn's rule: an epoch improves on the best loss (or validation score)
        by more than tol, or counts as one without improvement."""
        if self.early_stopping:
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
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _fit_lbfgs(self, X, targets):
        from ._lbfgs import fit_lbfgs

        result = fit_lbfgs(self.network_, X, targets, alpha=self.alpha, max_iter=self.max_iter,
                           max_fun=self.max_fun, tol=self.tol, verbose=self.verbose)
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.loss_curve_ = None
        self.best_loss_ = None

    def _export_parameters(self):
        """scikit-learn's coefs_ (n_in, n_out: the transpose of Network.weights) and
        intercepts_, copies of the fitted network's."""
        self.coefs_ = [w.T.copy() for w in self.network_._weights]
        self.intercepts_ = [b.copy() for b in self.network_._biases]

    # --- predicting ---------------------------------------------------------------

    def _outputs(self, X):
        """The fitted network's outputs for X (checked as in fit)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=DTYPES)
        return self.network_.forward(np.ascontiguousarray(X, dtype=self.network_.dtype))

    def _score_decoded(self, X, y):
        """The score on X of targets y as the user gave them (early stopping)."""
        predictions = self._predict_outputs(self.network_.forward(X))
        if np.issubdtype(predictions.dtype, np.floating) and not np.isfinite(predictions).all():
            return np.nan
        return self._score_function(y, predictions)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # --- to be given by the classifier and the regressor ---------------------------------

    def _validate_input(self, X, y, incremental, reset):
        raise NotImplementedError

    def _n_network_outputs(self, targets):
        raise NotImplementedError

    def _output_and_loss(self):
        raise NotImplementedError

    def _reported_loss(self, loss):
        raise NotImplementedError

    def _stratifies(self):
        raise NotImplementedError

    def _decoded_targets(self, targets):
        raise NotImplementedError

    def _predict_outputs(self, outputs):
        raise NotImplementedError

    def _score_function(self, y, predictions):
        raise NotImplementedError
