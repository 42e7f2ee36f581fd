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
    (see fastprop.sklearn's documentation for the few differences), plus ``dtype``.

    Fitted attributes: ``network_`` (the ``fastprop.Network``), ``coefs_`` and
    ``intercepts_`` (scikit-learn's (n_in, n_out) layout: the transposes of
    ``network_.weights``), ``loss_``, ``best_loss_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_iter_``, ``t_``,
    ``n_features_in_``, ``feature_names_in_``, ``n_layers_``, ``n_outputs_``,
    ``out_activation_``.
    """

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and targets y (n_samples,) or (n_samples,
        n_outputs); returns self."""
        return self._fit(X, y, incremental=False)

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
