"""fastprop.sklearn: NetworkClassifier and NetworkRegressor against scikit-learn's own
estimator checks (every check, no expected failures), against MLPClassifier and
MLPRegressor (the same initial weights, the same accuracy), and in what scikit-learn
users do with them: pipelines, grid searches, warm_start, partial_fit, pickles.
"""
import copy
import os
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastprop  # noqa: E402
from fastprop.sklearn import NetworkClassifier, NetworkRegressor  # noqa: E402


@parametrize_with_checks([NetworkClassifier(), NetworkRegressor()])
def test_scikit_learns_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # max_iter=200 does not converge on every check's data, as for MLPClassifier.
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("estimator, reference", [
    (NetworkClassifier, MLPClassifier), (NetworkRegressor, MLPRegressor)])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
def test_the_initial_weights_are_scikit_learns_for_the_same_random_state(
        estimator, reference, activation):
    # One step of SGD with a learning rate of 1e-300 changes no weight of either (each is
    # at least 1e-300 * 2^52 away from the next float64): the weights are the initial ones.
    X, y = make_classification(n_samples=40, n_features=5, n_informative=3, n_classes=3,
                               random_state=0)
    parameters = dict(hidden_layer_sizes=(7, 4), activation=activation, solver="sgd",
                      learning_rate_init=1e-300, momentum=0.0, max_iter=1, batch_size=40,
                      random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = estimator(**parameters).fit(X, y), reference(**parameters).fit(X, y)
    for got, want in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(got, want)
    # coefs_ is scikit-learn's (n_in, n_out) layout: the transposes of the network's.
    for coef, weights in zip(ours.coefs_, ours.network_.weights):
        np.testing.assert_array_equal(coef, weights.T)


@pytest.mark.parametrize("parameters", [
    dict(activation="relu", solver="adam"),
    dict(activation="logistic", solver="sgd", learning_rate_init=0.1),
    dict(activation="tanh", solver="lbfgs")])
def test_digits_accuracy_is_scikit_learns(digits, parameters):
    # Same parameters, same initial weights: the test accuracies agree within 0.01 (the
    # batches' order and torch's Adam are the differences; measured 0 to 0.0022).
    X_train, X_test, y_train, y_test = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = NetworkClassifier(hidden_layer_sizes=(64,), random_state=0, **parameters)
        theirs = MLPClassifier(hidden_layer_sizes=(64,), random_state=0, **parameters)
        ours_score = ours.fit(X_train, y_train).score(X_test, y_test)
        theirs_score = theirs.fit(X_train, y_train).score(X_test, y_test)
    assert ours_score >= 0.95
    assert abs(ours_score - theirs_score) <= 0.01


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_outputs_the_classifier_trains_for_each_kind_of_target():
    X, y = make_classification(n_samples=60, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=1)
    names = np.array(["cat", "dog", "emu"])[y]
    multiclass = NetworkClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                   random_state=0).fit(X, names)
    assert (multiclass.out_activation_, multiclass.network_.output,
            multiclass.network_.loss) == ("softmax", "softmax", "cross_entropy")
    assert list(multiclass.classes_) == ["cat", "dog", "emu"]
    probabilities = multiclass.predict_proba(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-12)
    assert set(multiclass.predict(X)) <= {"cat", "dog", "emu"}
    np.testing.assert_array_equal(multiclass.predict(X),
                                  multiclass.classes_[probabilities.argmax(axis=1)])
    # Binary: one sigmoid unit with binary cross-entropy; predict_proba has both columns.
    binary = NetworkClassifier(hidden_layer_sizes=(8,), max_iter=5,
                               random_state=0).fit(X, y == 1)
    assert (binary.out_activation_, binary.n_outputs_, binary.network_.loss) == (
        "logistic", 1, "bce")
    p = binary.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], binary.network_.forward(X)[:, 0])
    np.testing.assert_allclose(p.sum(axis=1), 1)
    np.testing.assert_allclose(binary.predict_log_proba(X), np.log(p))
    # Multi-label: one sigmoid unit per label.
    labels = np.column_stack([y == 0, y == 1, y == 2, X[:, 0] > 0]).astype(int)
    multilabel = NetworkClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                   random_state=0).fit(X, labels)
    assert multilabel.n_outputs_ == 4 and multilabel.predict(X).shape == (60, 4)


def test_the_regressor_has_an_identity_output_per_target_column():
    X, Y = make_regression(n_samples=80, n_features=5, n_targets=2, random_state=0)
    Y = Y / Y.std(axis=0)
    regressor = NetworkRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0,
                                 learning_rate_init=0.01).fit(X, Y)
    assert (regressor.out_activation_, regressor.n_outputs_) == ("identity", 2)
    assert regressor.predict(X).shape == (80, 2)
    assert regressor.score(X, Y) > 0.9
    # scikit-learn's squared loss is the mean over samples and outputs, halved.
    residuals = regressor.predict(X) - Y
    squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in regressor.coefs_)
    assert regressor.loss_curve_[-1] == pytest.approx(
        (residuals ** 2).mean() / 2 + 0.5 * regressor.alpha * squares / 80, rel=0.05)


def test_a_pipeline_and_a_grid_search(digits):
    X_train, X_test, y_train, y_test = digits
    pipeline = make_pipeline(StandardScaler(), NetworkClassifier(hidden_layer_sizes=(32,),
                                                                 max_iter=50, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipeline, {"networkclassifier__alpha": [1e-4, 1e-2],
                                         "networkclassifier__learning_rate_init": [1e-3, 1e-2]},
                              cv=3)
        search.fit(X_train, y_train)
    assert search.best_score_ > 0.9 and search.score(X_test, y_test) > 0.9
    assert len(search.cv_results_["params"]) == 4


@pytest.mark.parametrize("make", [
    lambda: NetworkClassifier(hidden_layer_sizes=(10,), solver="adam", max_iter=3),
    lambda: NetworkClassifier(hidden_layer_sizes=(10,), solver="sgd", max_iter=3),
    lambda: NetworkRegressor(hidden_layer_sizes=(10,), solver="adam", max_iter=3,
                             dtype=np.float32)])
@pytest.mark.parametrize("duplicate", [lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy])
def test_pickle_and_deepcopy_round_trip_bit_for_bit(make, duplicate):
    # The copy predicts the same bits, and trained on it continues exactly as the original
    # does (the optimizer's state travels with it): what joblib and Dask rely on.
    X, y = make_classification(n_samples=50, n_features=6, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        original = make().set_params(random_state=0).fit(X, y)
        twin = duplicate(original)
        np.testing.assert_array_equal(twin.predict(X), original.predict(X))
        for a, b in zip(twin.network_.weights, original.network_.weights):
            np.testing.assert_array_equal(a, b)
        original.partial_fit(X, y)
        twin.partial_fit(X, y)
    for a, b in zip(twin.network_.weights + twin.network_.biases,
                    original.network_.weights + original.network_.biases):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_network_pickles_and_copies_bit_for_bit(dtype):
    net = fastprop.Network([4, 6, 3], activation="tanh", output="softmax",
                           loss="cross_entropy", seed=0, dtype=dtype)
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert repr(twin) == repr(net)
        for a, b in zip(twin.weights + twin.biases, net.weights + net.biases):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)
        # Its own parameters: training the copy leaves the original alone.
        before = net.weights
        twin.fit(np.ones((3, 4)), np.array([0, 1, 2]), epochs=1, lr=0.1)
        for a, b in zip(net.weights, before):
            np.testing.assert_array_equal(a, b)


def test_an_estimator_fitting_in_one_thread_silences_no_other_threads_warnings(monkeypatch):
    # The estimator turns the network's ConvergenceWarning off while it fits (it reports
    # convergence as scikit-learn does) in its own thread only: warnings.catch_warnings, as
    # it once did, swapped the process's filters, so a network fitting in another thread
    # meanwhile warned nothing.
    import threading

    inside, done = threading.Event(), threading.Event()
    fit_stochastic = NetworkClassifier._fit_stochastic

    def held_fit(self, *args, **kwargs):
        inside.set()
        assert done.wait(60)
        return fit_stochastic(self, *args, **kwargs)

    monkeypatch.setattr(NetworkClassifier, "_fit_stochastic", held_fit)
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    estimator = NetworkClassifier(hidden_layer_sizes=(4,), max_iter=300, random_state=0)
    thread = threading.Thread(target=estimator.fit, args=(X, y))
    xor = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thread.start()
        try:
            assert inside.wait(60)
            # lr 1000 saturates every output: a ConvergenceWarning when alone.
            fastprop.Network([2, 4, 1], seed=0).fit(xor, [0, 1, 1, 0], epochs=20, lr=1000.0)
        finally:
            done.set()
            thread.join()
    assert any(issubclass(warning.category, fastprop.ConvergenceWarning)
               and "saturated" in str(warning.message) for warning in caught)
    assert hasattr(estimator, "network_")     # the held fit went on to the end


def test_partial_fit_continues_as_fit_does():
    # Without shuffling, two partial_fit calls are the two epochs of fit(max_iter=2): the
    # same steps, the optimizer's state carried from one call to the next.
    X, y = make_classification(n_samples=64, n_features=5, random_state=3)
    parameters = dict(hidden_layer_sizes=(9,), shuffle=False, random_state=0, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = NetworkClassifier(max_iter=2, **parameters).fit(X, y)
    parts = NetworkClassifier(**parameters)
    parts.partial_fit(X, y, classes=[0, 1])
    parts.partial_fit(X, y)
    for a, b in zip(whole.coefs_ + whole.intercepts_, parts.coefs_ + parts.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert parts.n_iter_ == 1 and parts.t_ == 128 and len(parts.loss_curve_) == 2
    assert whole.loss_curve_ == parts.loss_curve_


def test_partial_fit_errors():
    X, y = make_classification(n_samples=20, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        NetworkClassifier().partial_fit(X, y)
    fitted = NetworkClassifier(max_iter=1).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"is not the same as on the first call"):
        fitted.partial_fit(X, y, classes=[0, 1, 2])
    # As scikit-learn's: lbfgs estimators have no partial_fit (hasattr is False), and the
    # cause says why.
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as refused:
        NetworkClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1])
    assert "only available for the stochastic solvers" in str(refused.value.__cause__)
    assert not hasattr(NetworkRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        NetworkClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])


def test_warm_start_continues_from_the_last_fit():
    X, y = make_classification(n_samples=64, n_features=5, random_state=4)
    parameters = dict(hidden_layer_sizes=(9,), shuffle=False, random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = NetworkClassifier(warm_start=True, **parameters).fit(X, y)
        first = [w.copy() for w in warm.coefs_]
        warm.fit(X, y)
        cold = NetworkClassifier(**parameters).fit(X, y).fit(X, y)
    # The warm one went on from its weights; the cold one started over (and equals a fit).
    assert not np.array_equal(warm.coefs_[0], first[0])
    np.testing.assert_array_equal(cold.coefs_[0], first[0])
    assert len(warm.loss_curve_) == 6 and len(cold.loss_curve_) == 3 and warm.t_ == 6 * 64
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same "
                                         "classes"):
        warm.fit(X, np.where(y == 1, 2, y) + (np.arange(64) == 0))
    with pytest.raises(ValueError, match=r"warm_start and partial_fit continue the network of "
                                         r"the first fit \(hidden_layer_sizes=\[9\]"):
        warm.set_params(hidden_layer_sizes=(5,)).fit(X, y)


def test_early_stopping_keeps_the_best_validation_weights(digits):
    X_train, _, y_train, _ = digits
    clf = NetworkClassifier(hidden_layer_sizes=(32,), early_stopping=True, random_state=0,
                            n_iter_no_change=3, max_iter=200).fit(X_train, y_train)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_early_stopping_with_no_finite_validation_score_keeps_the_start(monkeypatch):
    # Validation scores that are all NaN never beat -inf: the weights restored at the
    # end are those the training started from (not an AttributeError).
    X, y = make_classification(n_samples=60, n_features=4, random_state=6)
    clf = NetworkClassifier(hidden_layer_sizes=(5,), early_stopping=True, max_iter=4,
                            n_iter_no_change=10, random_state=0)
    monkeypatch.setattr(NetworkClassifier, "_score_function",
                        lambda self, y, predictions: np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    start = NetworkClassifier(hidden_layer_sizes=(5,), random_state=0, max_iter=1,
                              learning_rate_init=1e-300, solver="sgd", momentum=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X, y)
    assert clf.n_iter_ == 4 and np.isnan(clf.validation_scores_).all()
    for got, want in zip(clf.coefs_, start.coefs_):
        np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_may_turn_early_stopping_on():
    # The first fit keeps no validation scores; the warm one that stops early starts them
    # (scikit-learn's own MLPClassifier fails here: its validation_scores_ stays None).
    X, y = make_classification(n_samples=80, n_features=5, random_state=7)
    clf = NetworkClassifier(hidden_layer_sizes=(6,), warm_start=True, max_iter=3,
                            random_state=0).fit(X, y)
    assert clf.validation_scores_ is None
    clf.set_params(early_stopping=True).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ == 3
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_n_iter_no_change_stops_and_max_iter_warns():
    X, y = make_classification(n_samples=100, n_features=5, random_state=5)
    with pytest.warns(ConvergenceWarning, match=r"Stochastic Optimizer: Maximum iterations "
                                                r"\(2\) reached"):
        NetworkClassifier(max_iter=2, random_state=0).fit(X, y)
    # tol=1 leaves no epoch improving on the first: the count passes n_iter_no_change = 2
    # at the fourth epoch, where scikit-learn's MLPClassifier stops too.
    for parameters in (dict(), dict(solver="sgd", learning_rate="adaptive")):
        ours = NetworkClassifier(max_iter=500, tol=1.0, n_iter_no_change=2, random_state=0,
                                 **parameters).fit(X, y)
        theirs = MLPClassifier(max_iter=500, tol=1.0, n_iter_no_change=2, random_state=0,
                               **parameters).fit(X, y)
        assert ours.n_iter_ == theirs.n_iter_
    assert NetworkClassifier(max_iter=500, tol=1.0, n_iter_no_change=2).fit(X, y).n_iter_ == 4


@pytest.mark.parametrize("name, value, exception, match", [
    ("hidden_layer_sizes", (10, 0), ValueError, r"hidden_layer_sizes must be > 0"),
    ("hidden_layer_sizes", "10", TypeError, r"hidden_layer_sizes must hold integers"),
    ("activation", "swish", ValueError, r"activation must be one of 'identity', 'logistic'"),
    ("solver", "rmsprop", ValueError, r"solver must be one of 'lbfgs', 'sgd', 'adam'"),
    ("alpha", -1.0, ValueError, r"alpha must be in \[0, inf\], got -1.0"),
    ("batch_size", 0, ValueError, r"batch_size must be in \[1, inf\]"),
    ("batch_size", "all", ValueError, r"batch_size must be 'auto' or an integer >= 1"),
    ("learning_rate", "cyclic", ValueError, r"learning_rate must be one of 'constant'"),
    ("learning_rate_init", 0.0, ValueError, r"learning_rate_init must be in \(0, inf\]"),
    ("max_iter", 1.5, TypeError, r"max_iter must be an integer, got 1.5"),
    ("momentum", 1.5, ValueError, r"momentum must be in \[0, 1\]"),
    ("validation_fraction", 1.0, ValueError, r"validation_fraction must be in \(0, 1\)"),
    ("beta_1", 1.0, ValueError, r"beta_1 must be in \[0, 1\)"),
    ("epsilon", 0.0, ValueError, r"epsilon must be in \(0, inf\]"),
    ("shuffle", "yes", TypeError, r"shuffle must be True or False"),
    ("dtype", np.float16, ValueError, r"dtype must be numpy.float64 or numpy.float32"),
])
def test_bad_parameters_are_named_at_fit(name, value, exception, match):
    X, y = make_classification(n_samples=20, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    clf = NetworkClassifier(**{name: value})          # accepted as given, as scikit-learn's
    with pytest.raises(exception, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


def test_the_regressors_loss_is_squared_error_only():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    assert NetworkRegressor().get_params()["loss"] == "squared_error"
    with pytest.raises(ValueError, match=r"loss must be 'squared_error' \(MLPRegressor's "
                                         r"'poisson' is not supported\), got 'poisson'"):
        NetworkRegressor(loss="poisson").fit(X, y)


def test_float32_trains_a_float32_network(digits):
    X_train, X_test, y_train, y_test = digits
    clf = NetworkClassifier(hidden_layer_sizes=(64,), dtype=np.float32, random_state=0,
                            max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    assert clf.network_.dtype == np.float32 and clf.coefs_[0].dtype == np.float32
    assert clf.score(X_test, y_test) > 0.95


def test_a_grid_search_on_a_dask_cluster_scores_as_the_default_backend(digits, monkeypatch):
    # A real LocalCluster (2 worker processes) under joblib's dask backend: the same
    # cv_results_ scores as joblib's default backend. Routes fixed by the thresholds
    # (FASTPROP_PLAN, inherited by the workers), so that every process computes the same
    # bits whatever plan another process measured.
    # Importing distributed sets OMP_NUM_THREADS and the BLAS's variables to 1 in this
    # process's environment (for the workers it spawns): put them back for later tests.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "MALLOC_TRIM_THRESHOLD_"):
        original = os.environ.get(name)
        monkeypatch.setenv(name, "")    # records what to restore (also: that there was none)
        if original is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, original)
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    monkeypatch.setenv("FASTPROP_PLAN", "fixed")
    X_train, _, y_train, _ = digits
    grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}

    def search():
        estimator = NetworkClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(X_train, y_train)

    with fastprop.config_context(plan="fixed"):
        expected = search().cv_results_
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_config(backend="dask"), \
                distributed.get_task_stream(client) as tasks:
            got = search().cv_results_
        # The fits ran in the workers: 4 candidates x 3 folds, and the refit, at least.
        assert len(client.scheduler_info()["workers"]) == 2
        assert len({task["worker"] for task in tasks.data}) >= 1 and len(tasks.data) >= 12
    for key in ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        np.testing.assert_array_equal(got[key], expected[key])
    assert got["mean_test_score"].max() > 0.9
