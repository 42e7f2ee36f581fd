"""scikit-learn estimators on fastprop: ``NetworkClassifier`` and ``NetworkRegressor``,
drop-in replacements for ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor``
(same parameters, defaults, fitted attributes and methods), trained in fastprop's
compiled loop. Needs scikit-learn 1.6 or later (``pip install scikit-learn``, or
``pip install ".[sklearn]"`` in fastprop's checkout).

    from fastprop.sklearn import NetworkClassifier
    clf = NetworkClassifier(hidden_layer_sizes=(64,), random_state=0).fit(X, y)
    clf.predict(X_test); clf.predict_proba(X_test); clf.score(X_test, y_test)
    clf.network_            # the fitted fastprop.Network
"""
try:
    import sklearn  # noqa: F401
except ImportError as error:       # pragma: no cover - depends on the environment
    raise ImportError("fastprop.sklearn needs scikit-learn 1.6 or later: pip install "
                      "scikit-learn (or, in fastprop's source checkout, "
                      "pip install \".[sklearn]\")") from error

from ._classifier import NetworkClassifier
from ._regressor import NetworkRegressor

__all__ = ["NetworkClassifier", "NetworkRegressor"]
