"""NetworkRegressor: scikit-learn's MLPRegressor on fastprop's compiled loop (an identity
output, squared error, one output per target column)."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import DTYPES, NetworkEstimator
from ._classifier import _stochastic


class NetworkRegressor(RegressorMixin, NetworkEstimator):
    """A multi-layer perceptron regressor trained by fastprop: the parameters, attributes
    and methods of ``sklearn.neural_network.MLPRegressor`` with its squared-error loss
    (``loss="squared_error"``, the default, is the one accepted)
    (see fastprop.sklearn's documentation for the few differences), plus ``dtype``.

    Fitted attributes: ``network_`` (the ``fastprop.Network``), ``coefs_`` and
    ``intercepts_`` (scikit-learn's (n_in, n_out) layout: the transposes of
    ``network_.weights``), ``loss_``, ``best_loss_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_iter_``, ``t_``,
    ``n_features_in_``, ``feature_names_in_``, ``n_layers_``, ``n_outputs_``,
    ``out_activation_``.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 loss="squared_error", solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dtype=np.float64):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, dtype=dtype)
        # MLPRegressor's loss (scikit-learn 1.7): "squared_error" only here.
        self.loss = loss

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and targets y (n_samples,) or (n_samples,
        n_outputs); returns self."""
        return self._fit(X, y, incremental=False)

    def _checked_parameters(self):
        if self.loss != "squared_error":
            raise ValueError(f"loss must be 'squared_error' (MLPRegressor's 'poisson' is not "
                             f"supported), got {self.loss!r}")
        return super()._checked_parameters()

    @available_if(_stochastic)
    def partial_fit(self, X, y):
        """One epoch over X, y, continuing from the last call."""
        return self._fit(X, y, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=DTYPES,
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _n_network_outputs(self, targets):
        return targets.shape[1]

    def _output_and_loss(self):
        return "identity", "mse"

    def _reported_loss(self, loss):
        # fastprop's "mse" is 1/2 sum over outputs / n_samples; scikit-learn's squared
        # loss is the mean over samples and outputs / 2 (its gradient is fastprop's).
        return float(loss) / self.n_outputs_

    def _stratifies(self):
        return False

    def _decoded_targets(self, targets):
        return targets

    def _predict_outputs(self, outputs):
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def _score_function(self, y, predictions):
        return r2_score(y, predictions)

    def predict(self, X):
        """The network's outputs for X: (n_samples,) for one target, else (n_samples,
        n_outputs)."""
        return self._predict_outputs(self._outputs(X))
