"""NetworkClassifier: scikit-learn's MLPClassifier on fastprop's compiled loop.

Multi-class targets train a softmax output with cross-entropy on integer labels (never
expanded into a one-hot copy); binary and multi-label targets a sigmoid output with
binary cross-entropy, one unit per label (one for a binary problem), as scikit-learn's.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from .._validation import FloatArray
from ._base import DTYPES, PARAMETERS_DOC, NetworkEstimator


def _stochastic(estimator: NetworkEstimator) -> bool:
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for the stochastic solvers "
                             f"'sgd' and 'adam', not {estimator.solver!r}")
    return True


class NetworkClassifier(ClassifierMixin, NetworkEstimator):  # type: ignore[misc]  # untyped base
    __doc__ = f"""A multi-layer perceptron classifier trained by fastprop.

    The parameters, attributes and methods of ``sklearn.neural_network.MLPClassifier``
    (see fastprop.sklearn's documentation for the few differences), plus ``dtype``.
    Multi-class targets train a softmax output with cross-entropy, binary and
    multi-label targets a sigmoid output with binary cross-entropy.

    Parameters
    ----------
{PARAMETERS_DOC}

    Attributes
    ----------
    network_ : fastprop.Network
        The fitted network.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coefs_, intercepts_ : list of ndarray
        scikit-learn's layout, (n_in, n_out): the transposes of ``network_.weights``,
        and the biases.
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_
        As MLPClassifier's.
    n_iter_, t_, n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As MLPClassifier's (``feature_names_in_`` when X has string column names).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastprop.sklearn import NetworkClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = NetworkClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)
    >>> clf = clf.fit(X, y)
    >>> bool(clf.score(X, y) > 0.95), clf.predict(X[:3]).tolist(), clf.network_.sizes
    (True, [0, 0, 0], (4, 16, 3))
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> NetworkClassifier:
        """Train the network on X and the labels y (all epochs; from scratch unless warm_start).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The training samples.
        y : array_like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix for multi-label problems.

        Returns
        -------
        NetworkClassifier
            self, fitted.

        Raises
        ------
        ValueError, TypeError
            For an invalid parameter (naming it) or invalid data, as scikit-learn's.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "no"] * 10)
        >>> clf = NetworkClassifier((8,), activation="tanh", solver="lbfgs", random_state=0)
        >>> clf.fit(X, y).predict([[0.0, 1.0], [1.0, 1.0]]).tolist()
        ['yes', 'no']
        """
        return self._fit(X, y, incremental=False)

    # (scikit-learn ships no types: available_if keeps the signature)
    @available_if(_stochastic)  # type: ignore[untyped-decorator]
    def partial_fit(self, X: ArrayLike, y: ArrayLike,
                    classes: ArrayLike | None = None) -> NetworkClassifier:
        """One epoch over X, y, continuing from the last call ("sgd" and "adam" only).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The samples.
        y : array_like of shape (n_samples,) or (n_samples, n_labels)
            Their labels.
        classes : array_like of shape (n_classes,), optional
            Every class there will be: required at the first call, as scikit-learn's.

        Returns
        -------
        NetworkClassifier
            self.

        Raises
        ------
        ValueError
            If ``classes`` is missing at the first call or differs from the first call's.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkClassifier
        >>> X = np.array([[0.0, 0.0], [1.0, 1.0]])
        >>> clf = NetworkClassifier((4,), solver="sgd", random_state=0)
        >>> clf = clf.partial_fit(X, [0, 1], classes=[0, 1, 2])
        >>> clf.classes_.tolist(), clf.n_iter_
        ([0, 1, 2], 1)
        """
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(f"`classes={np.asarray(classes)!r}` is not the same as on the "
                             f"first call to partial_fit, which was {self.classes_!r}")
        self._partial_fit_classes = classes
        try:
            return self._fit(X, y, incremental=True)
        finally:
            del self._partial_fit_classes

    def _validate_input(self, X: ArrayLike, y: ArrayLike, incremental: bool, reset: bool
                        ) -> tuple[NDArray[Any], NDArray[Any]]:
        samples, labels = validate_data(self, X, y, multi_output=True, dtype=DTYPES, reset=reset)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = column_or_1d(labels, warn=True)
        first = (not hasattr(self, "classes_")) or (not self.warm_start and not incremental)
        if first:
            self._label_binarizer = LabelBinarizer()
            classes = getattr(self, "_partial_fit_classes", None) if incremental else None
            multilabel = type_of_target(labels).startswith("multilabel")
            self._label_binarizer.fit(labels if classes is None or multilabel else classes)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(labels)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        indicator = self._label_binarizer.transform(labels)
        if self._label_binarizer.y_type_ == "multiclass":
            # Softmax and cross-entropy on integer labels: the column of each row's 1.
            return samples, np.ascontiguousarray(indicator.argmax(axis=1), dtype=np.int64)
        return samples, indicator.astype(np.float64)

    def _multiclass(self) -> bool:
        return bool(self._label_binarizer.y_type_ == "multiclass")

    def _n_network_outputs(self, targets: NDArray[Any]) -> int:
        return len(self.classes_) if self._multiclass() else int(targets.shape[1])

    def _output_and_loss(self) -> tuple[str, str]:
        return ("softmax", "cross_entropy") if self._multiclass() else ("sigmoid", "bce")

    def _reported_loss(self, loss: float) -> float:
        # fastprop's cross_entropy and bce are scikit-learn's log_loss and binary_log_loss.
        return float(loss)

    def _stratifies(self) -> bool:
        return self.n_outputs_ == 1 or self._multiclass()

    def _decoded_targets(self, targets: NDArray[Any]) -> NDArray[Any]:
        if self._multiclass():
            decoded: NDArray[Any] = self.classes_[targets]
            return decoded
        return np.asarray(self._label_binarizer.inverse_transform(targets))

    def _predict_outputs(self, outputs: FloatArray) -> NDArray[Any]:
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        return np.asarray(self._label_binarizer.inverse_transform(outputs))

    def _score_function(self, y: NDArray[Any], predictions: NDArray[Any]) -> float:
        return float(accuracy_score(y, predictions))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The predicted class of each row of X.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_`` (for multi-label problems, an indicator row each).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            If X does not have the fitted number of features.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkClassifier
        >>> X = np.array([[0.0], [0.2], [0.8], [1.0]])
        >>> clf = NetworkClassifier((4,), solver="lbfgs", random_state=0).fit(X, ["a", "a", "b", "b"])
        >>> clf.predict([[0.1], [0.9]]).tolist()
        ['a', 'b']
        """
        return self._predict_outputs(self._outputs(X))

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """The probability of each class.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``, rows summing to 1 (for multi-label
            problems, each label's probability).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            If X does not have the fitted number of features.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkClassifier
        >>> X = np.array([[0.0], [0.2], [0.8], [1.0]])
        >>> clf = NetworkClassifier((4,), solver="lbfgs", random_state=0).fit(X, [0, 0, 1, 1])
        >>> probabilities = clf.predict_proba([[0.1], [0.9]])
        >>> probabilities.shape, np.allclose(probabilities.sum(axis=1), 1.0)
        ((2, 2), True)
        """
        outputs = self._outputs(X)
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        if outputs.ndim == 1:
            both: FloatArray = np.vstack([1 - outputs, outputs]).T
            return both
        return outputs

    def predict_log_proba(self, X: ArrayLike) -> FloatArray:
        """log(predict_proba(X)).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The logarithms of :meth:`predict_proba`'s probabilities.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastprop.sklearn import NetworkClassifier
        >>> X = np.array([[0.0], [0.2], [0.8], [1.0]])
        >>> clf = NetworkClassifier((4,), solver="lbfgs", random_state=0).fit(X, [0, 0, 1, 1])
        >>> bool((clf.predict_log_proba(X) <= 0).all())
        True
        """
        probabilities = self.predict_proba(X)
        return np.log(probabilities, out=probabilities)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
