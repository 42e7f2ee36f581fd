"""NetworkClassifier: scikit-learn's MLPClassifier on fastprop's compiled loop.

Multi-class targets train a softmax output with cross-entropy on integer labels (never
expanded into a one-hot copy); binary and multi-label targets a sigmoid output with
binary cross-entropy, one unit per label (one for a binary problem), as scikit-learn's.
"""
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import DTYPES, NetworkEstimator


def _stochastic(estimator):
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for the stochastic solvers "
                             f"'sgd' and 'adam', not {estimator.solver!r}")
    return True


class NetworkClassifier(ClassifierMixin, NetworkEstimator):
    """A multi-layer perceptron classifier trained by fastprop: the parameters,
    attributes and methods of ``sklearn.neural_network.MLPClassifier`` (see
    fastprop.sklearn's documentation for the few differences), plus ``dtype``
    (numpy.float64, the default, or numpy.float32: the network's).

    Fitted attributes: ``network_`` (the ``fastprop.Network``), ``classes_``, ``coefs_``
    and ``intercepts_`` (scikit-learn's (n_in, n_out) layout: the transposes of
    ``network_.weights``), ``loss_``, ``best_loss_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_iter_``, ``t_``,
    ``n_features_in_``, ``feature_names_in_`` (when X has string column names),
    ``n_layers_``, ``n_outputs_``, ``out_activation_``.
    """

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and labels y (n_samples,), or a label
        indicator matrix (n_samples, n_labels) for multi-label problems; returns self."""
        return self._fit(X, y, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, classes=None):
        """One epoch over X, y, continuing from the last call; classes (every class
        there will be) must be given at the first call, as scikit-learn's."""
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

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, dtype=DTYPES, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        first = (not hasattr(self, "classes_")) or (not self.warm_start and not incremental)
        if first:
            self._label_binarizer = LabelBinarizer()
            classes = getattr(self, "_partial_fit_classes", None) if incremental else None
            multilabel = type_of_target(y).startswith("multilabel")
            self._label_binarizer.fit(y if classes is None or multilabel else classes)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        indicator = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "multiclass":
            # Softmax and cross-entropy on integer labels: the column of each row's 1.
            return X, np.ascontiguousarray(indicator.argmax(axis=1), dtype=np.int64)
        return X, indicator.astype(np.float64)

    def _multiclass(self):
        return self._label_binarizer.y_type_ == "multiclass"

    def _n_network_outputs(self, targets):
        return len(self.classes_) if self._multiclass() else targets.shape[1]

    def _output_and_loss(self):
        return ("softmax", "cross_entropy") if self._multiclass() else ("sigmoid", "bce")

    def _reported_loss(self, loss):
        # fastprop's cross_entropy and bce are scikit-learn's log_loss and binary_log_loss.
        return float(loss)

    def _stratifies(self):
        return self.n_outputs_ == 1 or self._multiclass()

    def _decoded_targets(self, targets):
        if self._multiclass():
            return self.classes_[targets]
        return self._label_binarizer.inverse_transform(targets)

    def _predict_outputs(self, outputs):
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        return self._label_binarizer.inverse_transform(outputs)

    def _score_function(self, y, predictions):
        return accuracy_score(y, predictions)

    def predict(self, X):
        """The predicted class of each row of X (for multi-label problems, an indicator
        row)."""
        return self._predict_outputs(self._outputs(X))

    def predict_proba(self, X):
        """The probability of each class (columns in the order of ``classes_``)."""
        outputs = self._outputs(X)
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        if outputs.ndim == 1:
            return np.vstack([1 - outputs, outputs]).T
        return outputs

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        probabilities = self.predict_proba(X)
        return np.log(probabilities, out=probabilities)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
