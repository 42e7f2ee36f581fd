"""Every kind of bad input to ``fastprop.Network`` raises a ``TypeError`` or
``ValueError`` that names the argument, and leaves the network bit for bit as
it was (and its inputs untouched).
"""
import re
import warnings

import numpy as np
import pytest

import fastprop

SIZES = (3, 4, 2)
N = 5


def snapshot(net):
    return (net.sizes, net.dtype, net.loss, [a.tobytes() for a in net.weights + net.biases])


@pytest.fixture
def net(dtype):
    # The checks do not depend on the loss: each dtype takes one of them.
    return fastprop.Network(SIZES, seed=0, dtype=dtype, loss="mse" if dtype == np.float32 else "sse")


def good_data():
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (N, SIZES[0])), rng.uniform(0, 1, (N, SIZES[-1]))


def with_value(shape, position, value, dtype=np.float64):
    array = np.zeros(shape, dtype=dtype)
    array[position] = value
    return array


# What a method is called with, around the X and Y under test.
METHODS = {
    "forward": lambda net, X, Y: net.forward(X),
    "predict": lambda net, X, Y: net.predict(X),
    "compute_loss": lambda net, X, Y: net.compute_loss(X, Y),
    "gradients": lambda net, X, Y: net.gradients(X, Y),
    "step": lambda net, X, Y: net.step(X, Y, 0.5),
    "fit": lambda net, X, Y: net.fit(X, Y, epochs=2, lr=0.5, batch_size=2, seed=0),
}
WITH_TARGETS = ["compute_loss", "gradients", "step", "fit"]

BAD_X = {
    "too wide": (np.zeros((N, 4)), ValueError, r"X must have shape \(n_samples, 3\) for this network, got shape \(5, 4\)"),
    "too narrow": (np.zeros((N, 2)), ValueError, r"X must have shape \(n_samples, 3\)"),
    "one sample too wide": (np.zeros(4), ValueError, r"X must have shape \(3,\) for this network, got shape \(4,\)"),
    "3-D": (np.zeros((N, 3, 1)), ValueError, r"X must be 2-D \(n_samples, 3\) or one sample \(3,\), got shape \(5, 3, 1\)"),
    "0-D": (np.float64(1.0), ValueError, r"X must"),  # the message: test_messages_report_the_shape_received
    "NaN": (with_value((N, 3), (2, 1), np.nan), ValueError, r"X must contain only finite numbers"),
    "inf": (with_value((N, 3), (0, 0), np.inf), ValueError, r"X must contain only finite numbers"),
    "-inf": (with_value((N, 3), (4, 2), -np.inf), ValueError, r"X must contain only finite numbers"),
    "NaN in float32 data": (with_value((N, 3), (1, 1), np.nan, np.float32), ValueError, r"X must contain only finite"),
    "empty batch": (np.zeros((0, 3)), ValueError, r"X must hold at least one sample, got shape \(0, 3\)"),
    "empty list": ([], ValueError, r"X must have shape \(3,\)"),
    "strings": (np.array([["a", "b", "c"]] * N), TypeError, r"X must hold real numbers, got an array of dtype <U1"),
    "a string": ("abc", TypeError, r"X must hold real numbers"),
    "objects": (np.array([[1.0, None, 2.0]] * N, dtype=object), TypeError, r"X must hold real numbers, got an array of dtype object"),
    "None": (None, TypeError, r"X must hold real numbers"),
    "complex": (np.zeros((N, 3), dtype=complex), TypeError, r"X must hold real numbers, got an array of dtype complex128"),
    "datetimes": (np.zeros((N, 3), dtype="datetime64[s]"), TypeError, r"X must hold real numbers"),
    "ragged list": ([[1.0, 2.0, 3.0], [1.0, 2.0]], ValueError, r"X must be a rectangular array of numbers"),
}

BAD_Y = {
    "too wide": (np.zeros((N, 3)), ValueError, r"Y must have shape \(5, 2\) to match X and the network's 2 output\(s\), got shape \(5, 3\)"),
    "too few rows": (np.zeros((N - 1, 2)), ValueError, r"Y must have shape \(5, 2\).* got shape \(4, 2\)"),
    "too many rows": (np.zeros((N + 1, 2)), ValueError, r"Y must have shape \(5, 2\)"),
    "1-D with two outputs": (np.zeros(N), ValueError, r"Y must have shape \(5, 2\) to match .* got shape \(5,\)"),
    "transposed": (np.zeros((2, N)), ValueError, r"Y must have shape \(5, 2\)"),
    "3-D": (np.zeros((N, 2, 1)), ValueError, r"Y must have shape \(5, 2\)"),
    "0-D": (0.5, ValueError, r"Y must have shape \(5, 2\)"),
    "NaN": (with_value((N, 2), (3, 1), np.nan), ValueError, r"Y must contain only finite numbers"),
    "inf": (with_value((N, 2), (0, 0), np.inf), ValueError, r"Y must contain only finite numbers"),
    "-inf": (with_value((N, 2), (4, 0), -np.inf), ValueError, r"Y must contain only finite numbers"),
    "empty": (np.zeros((0, 2)), ValueError, r"Y must have shape \(5, 2\)"),
    "strings": (np.array([["0", "1"]] * N), TypeError, r"Y must hold real numbers"),
    "objects": (np.array([[0.0, None]] * N, dtype=object), TypeError, r"Y must hold real numbers"),
    "complex": (np.zeros((N, 2), dtype=np.complex64), TypeError, r"Y must hold real numbers, got an array of dtype complex64"),
    "None": (None, TypeError, r"Y must hold real numbers"),
    "ragged list": ([[0.0, 1.0]] * (N - 1) + [[0.0]], ValueError, r"Y must be a rectangular array of numbers"),
}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("case", list(BAD_X))
def test_bad_x(net, method, case):
    X, exception, match = BAD_X[case]
    _, Y = good_data()
    before = snapshot(net)
    numeric = isinstance(X, np.ndarray) and X.dtype.kind in "biufcM"
    X_before = X.tobytes() if numeric else None
    with pytest.raises(exception, match=match):
        METHODS[method](net, X, Y)
    assert snapshot(net) == before
    if numeric:
        assert X.tobytes() == X_before  # the input is untouched


@pytest.mark.parametrize("method", WITH_TARGETS)
@pytest.mark.parametrize("case", list(BAD_Y))
def test_bad_y(net, method, case):
    Y, exception, match = BAD_Y[case]
    X, _ = good_data()
    before = snapshot(net)
    with pytest.raises(exception, match=match):
        METHODS[method](net, X, Y)
    assert snapshot(net) == before


@pytest.mark.parametrize("method", WITH_TARGETS)
def test_y_of_a_one_output_network(dtype, method):
    net = fastprop.Network([3, 1], seed=0, dtype=dtype)
    X, _ = good_data()
    before = snapshot(net)
    for Y, match in [(np.zeros((N, 2)), r"Y must have shape \(5, 1\) or \(5,\) to match X"),
                     (np.zeros(N - 1), r"Y must have shape \(5, 1\) or \(5,\)"),
                     (np.zeros((1, N)), r"Y must have shape \(5, 1\) or \(5,\)")]:
        with pytest.raises(ValueError, match=match):
            METHODS[method](net, X, Y)
    assert snapshot(net) == before


def test_messages_report_the_shape_received():
    # _validation promises messages that say "what was expected and what was
    # received": the shape the caller passed, not the one after conversion.
    net = fastprop.Network(SIZES, seed=0)
    X, _ = good_data()
    with pytest.raises(ValueError, match=r"X must be 2-D \(n_samples, 3\) or one sample \(3,\), got shape \(\)"):
        net.forward(np.float64(1.0))  # a scalar is neither (n, 3) nor (3,)
    one_output = fastprop.Network([3, 1], seed=0)
    with pytest.raises(ValueError, match=r"Y must have shape \(5, 1\) or \(5,\) .* got shape \(4,\)$"):
        one_output.compute_loss(X, np.zeros(4))


@pytest.mark.parametrize("method", list(METHODS))
def test_values_that_overflow_in_float32(method):
    # 1e39 is finite in float64 and becomes inf when rounded to float32.
    X, Y = good_data()
    X_big = X.copy()
    X_big[1, 2] = 1e39
    net32 = fastprop.Network(SIZES, seed=0, dtype=np.float32)
    before = snapshot(net32)
    with pytest.raises(ValueError, match=r"X must contain only finite numbers in float32"):
        METHODS[method](net32, X_big, Y)
    assert snapshot(net32) == before
    if method in WITH_TARGETS:
        Y_big = Y.copy()
        Y_big[0, 0] = -1e39
        with pytest.raises(ValueError, match=r"Y must contain only finite numbers in float32"):
            METHODS[method](net32, X, Y_big)
        assert snapshot(net32) == before
    # The same values are fine for a float64 network.
    METHODS[method](fastprop.Network(SIZES, seed=0), X_big, Y)


# --- learning rate, epochs, batch size, shuffle, seed, callback --------------------

BAD_LR = [
    (0, ValueError, r"lr must be a finite positive number, got 0"),
    (0.0, ValueError, r"lr must be a finite positive number"),
    (-0.1, ValueError, r"lr must be a finite positive number, got -0\.1"),
    (-1, ValueError, r"lr must be a finite positive number"),
    (float("nan"), ValueError, r"lr must be a finite positive number, got nan"),
    (np.float32("nan"), ValueError, r"lr must be a finite positive number"),
    (float("inf"), ValueError, r"lr must be a finite positive number, got inf"),
    (-float("inf"), ValueError, r"lr must be a finite positive number"),
    (1e400, ValueError, r"lr must be a finite positive number"),
    ("0.1", TypeError, r"lr must be a real number, got '0\.1'"),
    (True, TypeError, r"lr must be a real number, got True"),
    (np.True_, TypeError, r"lr must be a real number"),
    (None, TypeError, r"needs a learning rate, lr=\.\.\., or an optimizer, "
                      r"optimizer=fastprop\.SGD\(\.\.\.\) or fastprop\.Adam\(\.\.\.\)"),
    (0.1 + 0j, TypeError, r"lr must be a real number"),
    ([0.1], TypeError, r"lr must be a real number"),
    (np.array([0.1]), TypeError, r"lr must be a real number"),
]


@pytest.mark.parametrize("lr, exception, match", BAD_LR, ids=[repr(c[0]) for c in BAD_LR])
@pytest.mark.parametrize("method", ["step", "fit"])
def test_bad_learning_rate(net, method, lr, exception, match):
    X, Y = good_data()
    before = snapshot(net)
    with pytest.raises(exception, match=match):
        if method == "step":
            net.step(X, Y, lr)
        else:
            net.fit(X, Y, epochs=2, lr=lr)
    assert snapshot(net) == before


def test_epochs_whose_losses_could_not_be_held_are_refused_before_training(net):
    X, Y = good_data()
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"epochs=1099511627776 \(one float64 loss per epoch\) needs "
                                         r"8.19e\+03 GiB of memory; this machine has "):
        net.fit(X, Y, epochs=2**40, lr=0.5)
    assert snapshot(net) == before


@pytest.mark.parametrize("progress", ["no", 0, 1, None, "False"])
def test_progress_must_be_a_bool(net, progress):
    X, Y = good_data()
    before = snapshot(net)
    with pytest.raises(TypeError, match=f"progress must be True or False, got {re.escape(repr(progress))}"):
        net.fit(X, Y, epochs=2, lr=0.5, progress=progress)
    assert snapshot(net) == before


@pytest.mark.parametrize("callback", [lambda epoch: None, lambda: None, lambda epoch, loss, extra: None])
def test_a_callback_that_cannot_take_epoch_and_loss_is_refused_before_training(net, callback):
    X, Y = good_data()
    before = snapshot(net)
    with pytest.raises(TypeError, match=r"callback must be callable as callback\(epoch, loss\), but "
                                        r"'<lambda>'\(.*\) cannot be"):
        net.fit(X, Y, epochs=2, lr=0.5, callback=callback)
    assert snapshot(net) == before          # it used to fail after the first epoch had run


def test_callbacks_with_defaults_or_varargs_and_builtins_are_accepted(net):
    X, Y = good_data()
    seen = []
    net.fit(X, Y, epochs=2, lr=0.5, callback=lambda *arguments: seen.append(arguments))
    net.fit(X, Y, epochs=2, lr=0.5, callback=lambda epoch, loss, extra=None: seen.append(epoch))
    net.fit(X, Y, epochs=1, lr=0.5, callback=max)       # a builtin: no signature to check
    assert len(seen) == 4


@pytest.mark.parametrize("method", ["fit", "step", "forward"])
@pytest.mark.parametrize("which", ["X", "Y"])
def test_masked_arrays_are_refused(net, method, which):
    X, Y = good_data()
    masked = np.ma.masked_array(X if which == "X" else Y, mask=False)
    masked.mask = np.zeros(masked.shape, dtype=bool)
    masked.mask[0, 0] = True
    X, Y = (masked, Y) if which == "X" else (X, masked)
    if method == "forward" and which == "Y":
        pytest.skip("forward takes no targets")
    before = snapshot(net)
    with pytest.raises(TypeError, match=f"{which} must be a plain array, got a masked array"):
        {"fit": lambda: net.fit(X, Y, epochs=1, lr=0.5), "step": lambda: net.step(X, Y, 0.5),
         "forward": lambda: net.forward(X)}[method]()
    assert snapshot(net) == before


BAD_LR_IN_DTYPE = [
    # An int beyond float64 (float(10**400) raises OverflowError): a ValueError like the others.
    (np.float64, 10**400, r"lr must be a finite positive number, got 1(0){19}\.\.\.\(401 characters\)"),
    # float32 computes lr in float32: beyond its largest finite value lr is infinite there
    # (XOR then trained to NaN weights), below its smallest subnormal it is zero.
    (np.float32, 1e39, r"lr must be at most 3\.403e\+38 for a float32 network \(larger is infinite in float32\), got 1e\+39"),
    (np.float32, 3.5e38, r"lr must be at most 3\.403e\+38 for a float32 network"),
    (np.float32, 1e-46, r"lr must be at least 1\.401e-45 for a float32 network \(smaller rounds to zero in float32\)"),
]


@pytest.mark.parametrize("dtype, lr, match", BAD_LR_IN_DTYPE, ids=[f"{np.dtype(c[0])}-{str(c[1])[:12]}"
                                                                    for c in BAD_LR_IN_DTYPE])
@pytest.mark.parametrize("method", ["step", "fit"])
def test_the_learning_rate_is_checked_in_the_networks_dtype(dtype, lr, match, method):
    net = fastprop.Network(SIZES, seed=0, dtype=dtype)
    X, Y = good_data()
    before = snapshot(net)
    with pytest.raises(ValueError, match=match):
        if method == "step":
            net.step(X, Y, lr)
        else:
            net.fit(X, Y, epochs=2, lr=lr)
    assert snapshot(net) == before
    net.step(X, Y, float(np.finfo(dtype).smallest_subnormal))   # the smallest is accepted


BAD_FIT_ARGUMENTS = [
    (dict(epochs=-1), ValueError, r"epochs must be >= 0, got -1"),
    (dict(epochs=1.5), TypeError, r"epochs must be an integer, got 1\.5"),
    (dict(epochs=2.0), TypeError, r"epochs must be an integer, got 2\.0"),
    (dict(epochs="3"), TypeError, r"epochs must be an integer, got '3'"),
    (dict(epochs=True), TypeError, r"epochs must be an integer, got True"),
    (dict(epochs=None), TypeError, r"epochs must be an integer, got None"),
    (dict(epochs=np.float64(3)), TypeError, r"epochs must be an integer"),
    (dict(batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    (dict(batch_size=-2), ValueError, r"batch_size must be >= 1, got -2"),
    (dict(batch_size=1.5), TypeError, r"batch_size must be an integer, got 1\.5"),
    (dict(batch_size=2.0), TypeError, r"batch_size must be an integer"),
    (dict(batch_size="2"), TypeError, r"batch_size must be an integer"),
    (dict(batch_size=True), TypeError, r"batch_size must be an integer, got True"),
    (dict(shuffle="yes"), TypeError, r"shuffle must be True or False, got 'yes'"),
    (dict(shuffle=1), TypeError, r"shuffle must be True or False, got 1"),
    (dict(shuffle=None), TypeError, r"shuffle must be True or False, got None"),
    (dict(seed=-1, batch_size=2), TypeError, r"seed must be None, a non-negative integer or a numpy Generator, got -1"),
    (dict(seed="abc", batch_size=2), TypeError, r"seed must be None, a non-negative integer or a numpy Generator, got 'abc'"),
    (dict(seed=1.5, batch_size=2), TypeError, r"seed must be .* got 1\.5"),
    (dict(callback=5), TypeError, r"callback must be callable as callback\(epoch, loss\), got 5"),
    (dict(callback="print"), TypeError, r"callback must be callable"),
    (dict(callback=[print]), TypeError, r"callback must be callable"),
]


@pytest.mark.parametrize("changes, exception, match", BAD_FIT_ARGUMENTS,
                         ids=[repr(c[0]) for c in BAD_FIT_ARGUMENTS])
def test_bad_fit_arguments(net, changes, exception, match):
    X, Y = good_data()
    arguments = dict(epochs=2, lr=0.5)
    arguments.update(changes)
    before = snapshot(net)
    with pytest.raises(exception, match=match):
        net.fit(X, Y, **arguments)
    assert snapshot(net) == before


def test_valid_unusual_fit_arguments_are_accepted(net):
    # The counterparts of the bad cases that must keep working.
    X, Y = good_data()
    net.fit(X, Y, epochs=np.int64(1), lr=np.float32(0.5), batch_size=np.int32(2), shuffle=np.bool_(False))
    net.fit(X, Y, epochs=1, lr=1, batch_size=2, seed=np.random.default_rng(0))
    net.fit(X, Y, epochs=1, lr=0.5, callback=print)


def test_bad_data_is_checked_before_anything_runs():
    # A callback is never called, nor a progress bar drawn, when an argument is bad.
    X, Y = good_data()
    net = fastprop.Network(SIZES, seed=0)
    calls = []
    for changes in (dict(X=np.full((N, 3), np.nan)), dict(lr=-1.0), dict(batch_size=0)):
        arguments = dict(X=X, Y=Y, epochs=3, lr=0.5, batch_size=2, callback=lambda e, l: calls.append(e))
        arguments.update(changes)
        with pytest.raises(ValueError):
            net.fit(**arguments)
    assert calls == []


# --- constructing a network --------------------------------------------------------

BAD_SIZES = [
    ([], ValueError, r"sizes must list at least an input and an output width, got \[\]"),
    ([3], ValueError, r"sizes must list at least an input and an output width, got \[3\]"),
    ((3,), ValueError, r"sizes must list at least an input and an output width"),
    ([3, 0, 1], ValueError, r"sizes\[1\] must be >= 1, got 0"),
    ([0, 1], ValueError, r"sizes\[0\] must be >= 1, got 0"),
    ([3, -2], ValueError, r"sizes\[1\] must be >= 1, got -2"),
    ([3, 2.0], TypeError, r"sizes\[1\] must be an integer, got 2\.0"),
    ([3, 2.5], TypeError, r"sizes\[1\] must be an integer, got 2\.5"),
    (["3", 2], TypeError, r"sizes\[0\] must be an integer, got '3'"),
    ([True, 2], TypeError, r"sizes\[0\] must be an integer, got True"),
    ([3, None], TypeError, r"sizes\[1\] must be an integer, got None"),
    (np.array([3.0, 2.0]), TypeError, r"sizes\[0\] must be an integer"),
    ("32", TypeError, r"sizes must be a sequence of integers such as \[2, 2, 1\], got '32'"),
    (32, TypeError, r"sizes must be a sequence of integers"),
    (None, TypeError, r"sizes must be a sequence of integers"),
    ((s for s in (3, 2)), TypeError, r"sizes must be a sequence of integers"),
    # A set or a dict has no order of layers ({2, 1} iterates as 1, 2).
    ({2, 1}, TypeError, r"sizes must be a sequence of integers such as \[2, 2, 1\], got \{1, 2\}"),
    ({2: 0, 1: 0}, TypeError, r"sizes must be a sequence of integers"),
    # Refused before allocating, with the memory needed (MemoryError escaped before).
    ([2**40, 1], ValueError, r"a network of sizes \[1099511627776, 1\] \(1,099,511,627,777 "
                             r"parameters\) needs [\d.e+]+ GiB of memory; this machine has "),
]


@pytest.mark.parametrize("sizes, exception, match", BAD_SIZES, ids=[repr(c[0])[:20] for c in BAD_SIZES])
def test_bad_sizes(sizes, exception, match):
    with pytest.raises(exception, match=match):
        fastprop.Network(sizes, seed=0)


@pytest.mark.skipif((fastprop._validation.physical_memory_bytes() or 0) >= 80 * 2**30,
                    reason="this machine could hold the weights")
def test_a_network_larger_than_memory_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"a network of sizes \[100000, 100000\] \(10,000,100,000 "
                                         r"parameters\) needs [\d.e+]+ GiB of memory; this machine has "):
        fastprop.Network([10**5, 10**5], seed=0)


@pytest.mark.parametrize("loss", ["mae", "SSE", "", None, 1, ["sse"]])
def test_unknown_loss(loss):
    with pytest.raises(ValueError,
                       match=r"loss must be one of 'sse', 'mse', 'bce', 'cross_entropy', got "):
        fastprop.Network(SIZES, seed=0, loss=loss)
    with pytest.raises(ValueError, match=r"loss must be one of 'sse', 'mse', 'bce', 'cross_entropy'"):
        fastprop.Network.from_weights([np.ones((2, 3))], [np.zeros(2)], loss=loss)


@pytest.mark.parametrize("dtype_argument, exception, match", [
    (np.int32, ValueError, r"dtype must be float32 or float64, got int32"),
    (np.float16, ValueError, r"dtype must be float32 or float64, got float16"),
    (np.longdouble, ValueError, r"dtype must be float32 or float64"),
    (np.complex128, ValueError, r"dtype must be float32 or float64, got complex128"),
    (bool, ValueError, r"dtype must be float32 or float64, got bool"),
    ("float", ValueError, None),  # np.dtype("float") is float64: accepted, see below
    ("no such type", TypeError, r"dtype must be numpy\.float32 or numpy\.float64, got 'no such type'"),
    (3.5, TypeError, r"dtype must be numpy\.float32 or numpy\.float64"),
])
def test_bad_dtype(dtype_argument, exception, match):
    if match is None:
        assert fastprop.Network(SIZES, seed=0, dtype=dtype_argument).dtype == np.float64
        return
    with pytest.raises(exception, match=match):
        fastprop.Network(SIZES, seed=0, dtype=dtype_argument)
    with pytest.raises(exception, match=match):
        fastprop.Network.from_weights([np.ones((2, 3))], [np.zeros(2)], dtype=dtype_argument)


@pytest.mark.parametrize("seed", [-1, "abc", 1.5, [1, -2], object()])
def test_bad_seed(seed):
    with pytest.raises(TypeError, match=r"seed must be None, a non-negative integer or a numpy Generator"):
        fastprop.Network(SIZES, seed=seed)


# --- from_weights --------------------------------------------------------------------

def good_weights():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))], [rng.normal(size=4), rng.normal(size=2)]


def replaced(arrays, index, value):
    arrays = list(arrays)
    arrays[index] = value
    return arrays


def nan_at(array, position, value=np.nan):
    array = array.copy()
    array[position] = value
    return array


W, B = good_weights()
BAD_FROM_WEIGHTS = {
    "weights do not chain": (replaced(W, 1, np.zeros((2, 3))), B, ValueError,
                             r"weights\[1\] must have 4 columns to take the 4 outputs of layer 0, got shape \(2, 3\)"),
    "weights transposed": (replaced(W, 1, W[1].T.copy()), B, ValueError, r"weights\[1\] must have 4 columns"),
    "bias too short": (W, replaced(B, 0, np.zeros(3)), ValueError,
                       r"biases\[0\] must have shape \(4,\) to match weights\[0\] of shape \(4, 3\), got shape \(3,\)"),
    "bias 2-D": (W, replaced(B, 1, np.zeros((2, 1))), ValueError, r"biases\[1\] must have shape \(2,\)"),
    "bias scalar": (W, replaced(B, 1, 0.0), ValueError, r"biases\[1\] must have shape \(2,\)"),
    "one bias too few": (W, B[:1], ValueError, r"biases must have one entry per layer: got 2 weight matrices and 1 bias vectors"),
    "one bias too many": (W[:1], B, ValueError, r"biases must have one entry per layer"),
    "no layers": ([], [], ValueError, r"weights must hold at least one layer, got an empty list"),
    "weights 1-D": (replaced(W, 0, np.zeros(3)), B, ValueError, r"weights\[0\] must be a non-empty 2-D array \(n_out, n_in\), got shape \(3,\)"),
    "weights 3-D": (replaced(W, 0, np.zeros((4, 3, 1))), B, ValueError, r"weights\[0\] must be a non-empty 2-D array"),
    "weights empty": (replaced(W, 0, np.zeros((0, 3))), replaced(B, 0, np.zeros(0)), ValueError,
                      r"weights\[0\] must be a non-empty 2-D array .* got shape \(0, 3\)"),
    "weights with no inputs": (replaced(W, 0, np.zeros((4, 0))), B, ValueError, r"weights\[0\] must be a non-empty 2-D array"),
    "ragged weights": (replaced(W, 0, [[1.0, 2.0, 3.0], [1.0, 2.0]]), B, ValueError,
                       r"weights\[0\] must be a rectangular array of numbers"),
    "ragged biases": (W, replaced(B, 0, [1.0, [2.0, 3.0], 4.0, 5.0]), ValueError,
                      r"biases\[0\] must be a rectangular array of numbers"),
    "NaN weight": (replaced(W, 1, nan_at(W[1], (1, 2))), B, ValueError,
                   r"weights\[1\] must contain only finite numbers \(found NaN or infinity\)"),
    "inf weight": (replaced(W, 0, nan_at(W[0], (0, 0), np.inf)), B, ValueError, r"weights\[0\] must contain only finite"),
    "NaN bias": (W, replaced(B, 1, nan_at(B[1], 0)), ValueError, r"biases\[1\] must contain only finite numbers"),
    "-inf bias": (W, replaced(B, 0, nan_at(B[0], 3, -np.inf)), ValueError, r"biases\[0\] must contain only finite"),
    "string weights": (replaced(W, 0, np.full((4, 3), "1")), B, TypeError, r"weights\[0\] must hold real numbers, got an array of dtype <U1"),
    "object biases": (W, replaced(B, 0, np.array([1.0, None, 2.0, 3.0], dtype=object)), TypeError,
                      r"biases\[0\] must hold real numbers, got an array of dtype object"),
    "complex weights": (replaced(W, 1, W[1].astype(complex)), B, TypeError, r"weights\[1\] must hold real numbers"),
    "None weights": (replaced(W, 0, None), B, TypeError, r"weights\[0\] must hold real numbers"),
    "weights as one array": (np.zeros((2, 2, 2)), B, TypeError, r"weights must be a list with one array per layer, got ndarray"),
    "biases as one array": (W[:1], np.zeros((1, 4)), TypeError, r"biases must be a list with one array per layer, got ndarray"),
    "weights as a dict": ({0: W[0]}, B[:1], TypeError, r"weights must be a list with one array per layer, got dict"),
    "weights None": (None, B, TypeError, r"weights must be a list with one array per layer, got NoneType"),
}


@pytest.mark.parametrize("case", list(BAD_FROM_WEIGHTS))
def test_bad_from_weights(case):
    weights, biases, exception, match = BAD_FROM_WEIGHTS[case]
    inputs = [a for arrays in (weights, biases) if isinstance(arrays, list) for a in arrays
              if isinstance(a, np.ndarray) and a.dtype.kind in "biufc"]
    before = [a.tobytes() for a in inputs]
    with pytest.raises(exception, match=match):
        fastprop.Network.from_weights(weights, biases)
    assert [a.tobytes() for a in inputs] == before  # the inputs are untouched


def test_from_weights_values_that_overflow_in_float32():
    weights, biases = good_weights()
    big = replaced(weights, 0, nan_at(weights[0], (1, 1), 1e39))
    with pytest.raises(ValueError, match=r"weights\[0\] must contain only finite numbers"):
        fastprop.Network.from_weights(big, biases, dtype=np.float32)
    big_bias = replaced([b.astype(np.float64) for b in biases], 1, np.array([0.0, -1e39]))
    with pytest.raises(ValueError, match=r"biases\[1\] must contain only finite numbers"):
        fastprop.Network.from_weights(weights, big_bias, dtype=np.float32)
    assert fastprop.Network.from_weights(big, biases).dtype == np.float64  # fine in float64


# --- after an error, the network still works ----------------------------------------

def test_network_works_normally_after_rejected_calls(dtype):
    net = fastprop.Network(SIZES, seed=0, dtype=dtype)
    twin = fastprop.Network(SIZES, seed=0, dtype=dtype)
    X, Y = good_data()
    for bad in (lambda: net.fit(X, Y, epochs=2, lr=-1), lambda: net.step(X, np.full_like(Y, np.nan), 0.1),
                lambda: net.fit(X[:, :2], Y, epochs=2, lr=0.1), lambda: net.gradients(X, Y[:3])):
        with pytest.raises(ValueError):
            bad()
    assert snapshot(net) == snapshot(twin)
    np.testing.assert_array_equal(net.fit(X, Y, epochs=3, lr=0.5, batch_size=2, seed=1),
                                  twin.fit(X, Y, epochs=3, lr=0.5, batch_size=2, seed=1))
    assert snapshot(net) == snapshot(twin)


def test_a_full_batch_whose_buffers_outgrow_the_data_is_warned_about():
    # [2, 4096, 1] on 2000 samples of 2 inputs: 32 kB of data, 2000 x (2 x 4097) float64
    # = 131 MB of activations and deltas for one full batch.
    net = fastprop.Network([2, 4096, 1], seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0, 1, (2000, 2)), rng.uniform(0, 1, (2000, 1))
    with pytest.warns(RuntimeWarning, match=r"training in batches of 2000 rows \(activations and "
                                             r"deltas of every layer for a batch\) needs 125 MiB of "
                                             r"buffers, more than the training data's 46.9 KiB; a "
                                             r"smaller batch_size bounds it"):
        net.fit(X, Y, epochs=1, lr=0.1)
    with warnings.catch_warnings():
        # (this wide sse network saturates its output at lr=0.1: a ConvergenceWarning, rightly)
        warnings.simplefilter("error", RuntimeWarning)
        net.fit(X, Y, epochs=1, lr=0.1, batch_size=200)          # 12.5 MiB: no warning


def test_batch_buffers_larger_than_memory_are_refused_before_training():
    net = fastprop.Network([1, 2**16, 1], seed=0)
    X = np.zeros((2**20, 1))
    before = snapshot(net)
    # 2**20 rows x 2 x (2**16 + 1) float64: 1 TiB of buffers for one full batch.
    with pytest.raises(ValueError, match=r"training in batches of 1048576 rows \(activations and "
                                         r"deltas of every layer for a batch\) needs [\d.e+]+ GiB of "
                                         r"memory; this machine has "):
        net.fit(X, X, epochs=1, lr=0.1)
    assert snapshot(net) == before


@pytest.mark.parametrize("dtype, value", [(np.float64, 1e308), (np.float32, 3e38)])
def test_finite_inputs_that_overflow_a_layer_raise_floating_point_error(dtype, value):
    # Inputs near the dtype's largest value: the first layer's sums of terms of both signs
    # overflow to inf - inf = NaN, which forward returned silently.
    # Each term 2 * value overflows, to +inf and -inf: their sum is NaN.
    net = fastprop.Network.from_weights([np.array([[2.0, -2.0], [1.0, 0.5], [0.0, 1.0]]),
                                         np.array([[1.0, -1.0, 1.0]])],
                                        [np.zeros(3), np.zeros(1)], dtype=dtype)
    X = np.array([[value, value]], dtype=dtype)
    for call in (net.forward, net.predict, lambda X: net.compute_loss(X, [0.5]),
                 lambda X: net.gradients(X, [0.5])):
        with pytest.raises(FloatingPointError, match=r"the pre-activations of layer 0 \(0 is the "
                                                      rf"first after the inputs\) overflow {np.dtype(dtype).name}"):
            call(X)
    assert np.isfinite(net.forward(np.array([[1e3, -1e3]], dtype=dtype))).all()   # saturates: fine
