"""NetworkRegressor: scikit-learn's MLPRegressor on fastprop's compiled loop (an identity
output, squared error, one output per target column)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from .._validation import FloatArray
from ._base import DTYPES, PARAMETERS_DOC, NetworkEstimator
from ._classifier import _stochastic


# The shared Parameters section split before solver, so that loss is documented third, in
# the position it has in the signature.
_LAYERS_DOC, _SOLVER_HEADING, _TRAINING_DOC = PARAMETERS_DOC.partition("\n    solver : ")


class NetworkRegressor(RegressorMixin, NetworkEstimator):  # type: ignore[misc]  # untyped base
    __doc__ = f"""A multi-layer perceptron regressor trained by fastprop.

    The parameters, attributes and methods of ``sklearn.neural_network.MLPRegressor`` with
    its squared-error loss (see fastprop.sklearn's documentation for the few
    differences), plus ``dtype``: an identity output, one unit per target column.

    Parameters
    ----------
{_LAYERS_DOC}
    loss : "squared_error"
        The loss (MLPRegressor's "poisson" is not supported).{_SOLVER_HEADING}{_TRAINING_DOC}

    Attributes
    ----------
    network_ : fastprop.Network
        The fitted network.
    coefs_, intercepts_ : list of ndarray
        scikit-learn's layout, (n_in, n_out): the transposes of ``network_.weights``,
        and the biases.
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_
        As MLPRegressor's.
    n_iter_, t_, n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As MLPRegressor's.

    Examples
    --------
    >>> import numpy as np
    >>> from fastprop.sklearn import NetworkRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (200, 2))
    >>> y = X[:, 0] * X[:, 1] + np.sin(X[:, 0])
    >>> reg = NetworkRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=500,
    ...                        random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.99), reg.predict(X[:5]).shape, reg.network_.output
    (True, (5,), 'identity')
    """

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, loss: str = "squared_error",
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool | int = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dtype: DTypeLike = np.float64) -> None:
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

    def fit(self, X: ArrayLike, y: ArrayLike) -> NetworkRegressor:
        """Train the network on X and the targets y (all epochs; from scratch unless warm_start).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The training samples.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.

        Returns
        -------
        NetworkRegressor
            self, fitted.

        Raises
        ------
        ValueError, TypeError
            For an invalid parameter (naming it) or invalid data, as scikit-learn's.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkRegressor
        >>> X = np.linspace(0, 1, 20).reshape(-1, 1)
        >>> reg = NetworkRegressor((8,), solver="lbfgs", random_state=0).fit(X, 2 * X.ravel() + 1)
        >>> print(np.round(reg.predict([[0.5]]), 2))
        [2.]
        """
        return self._fit(X, y, incremental=False)

    def _checked_parameters(self) -> tuple[list[int], str, np.dtype[np.floating[Any]]]:
        if self.loss != "squared_error":
            raise ValueError(f"loss must be 'squared_error' (MLPRegressor's 'poisson' is not "
                             f"supported), got {self.loss!r}")
        return super()._checked_parameters()

    # (scikit-learn ships no types: available_if keeps the signature)
    @available_if(_stochastic)  # type: ignore[untyped-decorator]
    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> NetworkRegressor:
        """One epoch over X, y, continuing from the last call ("sgd" and "adam" only).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The samples.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets.

        Returns
        -------
        NetworkRegressor
            self.

        Raises
        ------
        ValueError
            If the data does not match the first call's widths.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkRegressor
        >>> reg = NetworkRegressor((4,), solver="sgd", random_state=0)
        >>> reg = reg.partial_fit([[0.0], [1.0]], [0.0, 1.0]).partial_fit([[0.5]], [0.5])
        >>> reg.n_iter_, reg.t_
        (1, 3)
        """
        return self._fit(X, y, incremental=True)

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool
                        ) -> tuple[NDArray[Any], NDArray[Any]]:
        samples, targets = validate_data(self, X, y, multi_output=True, y_numeric=True,
                                         dtype=DTYPES, reset=reset)
        if targets.ndim == 2 and targets.shape[1] == 1:
            targets = column_or_1d(targets, warn=True)
        return samples, np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)

    def _n_network_outputs(self, targets: NDArray[Any]) -> int:
        return int(targets.shape[1])

    def _output_and_loss(self) -> tuple[str, str]:
        return "identity", "mse"

    def _reported_loss(self, loss: float) -> float:
        # fastprop's "mse" is 1/2 sum over outputs / n_samples; scikit-learn's squared
        # loss is the mean over samples and outputs / 2 (its gradient is fastprop's).
        return float(loss) / self.n_outputs_

    def _stratifies(self) -> bool:
        return False

    def _decoded_targets(self, targets: NDArray[Any]) -> NDArray[Any]:
        return targets

    def _predict_outputs(self, outputs: FloatArray) -> NDArray[Any]:
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def _score_function(self, y: NDArray[Any], predictions: NDArray[Any]) -> float:
        return float(r2_score(y, predictions))

    def predict(self, X: ArrayLike) -> FloatArray:
        """The network's outputs for X.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            (n_samples,) when fitted on one target.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            If X does not have the fitted number of features.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkRegressor
        >>> X = np.linspace(0, 1, 20).reshape(-1, 1)
        >>> Y = np.column_stack([X.ravel(), -X.ravel()])
        >>> reg = NetworkRegressor((8,), solver="lbfgs", random_state=0).fit(X, Y)
        >>> reg.predict(X[:3]).shape
        (3, 2)
        """
        return self._predict_outputs(self._outputs(X))
