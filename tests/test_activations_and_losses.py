"""Networks with other activations, outputs and losses (``activation=``, ``output=``,
``loss=``): the contract's constructors, attributes and errors; gradients against
central finite differences for every activation x (output, loss) pair in both dtypes;
the same against the plain-Python reference on every product route; labels against
one-hot rows; targets an output cannot reach; initialisation; save and load.

Tolerances are those of test_finite_differences.py (its docstring derives them): float64
gradients within 1e-7 * max(1, |L|) absolutely and 1e-6 relatively of the central
difference with h = 1e-6; float32 gradients within 1e-5 of the largest float64 gradient
of the same weights and data.
"""
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastprop
from fastprop import reference

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
PAIRS = (("sigmoid", "sse"), ("sigmoid", "mse"), ("identity", "sse"), ("identity", "mse"),
         ("sigmoid", "bce"), ("softmax", "cross_entropy"))


def targets_for(rng, output, n, n_out, labels=False):
    """Targets each output can take: [0, 1] for the sigmoid, any for the identity, and
    probability rows or labels for the softmax."""
    if output == "softmax":
        if labels:
            return rng.integers(0, n_out, n)
        return rng.dirichlet(np.ones(n_out), n)
    if output == "identity":
        return rng.uniform(-3, 3, (n, n_out))
    return rng.uniform(0, 1, (n, n_out))


@st.composite
def problems(draw, output, max_depth=3, max_width=4):
    """A random small architecture (widths from 1; 2 outputs or more for the softmax),
    parameters, a batch and targets its output can take."""
    depth = draw(st.integers(1, max_depth))
    sizes = [draw(st.integers(1, max_width)) for _ in range(depth + 1)]
    if output == "softmax":
        sizes[-1] = max(2, sizes[-1])
    n = draw(st.sampled_from([1, 1, 2, 3, 5]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    weights = [rng.uniform(-1.5, 1.5, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, n_out) for n_out in sizes[1:]]
    X = rng.uniform(-2, 2, (n, sizes[0]))
    labels = output == "softmax" and draw(st.booleans())
    return weights, biases, X, targets_for(rng, output, n, sizes[-1], labels)


def build(weights, biases, activation, output, loss, dtype=np.float64):
    return fastprop.Network.from_weights(weights, biases, loss=loss, dtype=dtype,
                                         activation=activation, output=output)


def central_differences(weights, biases, X, Y, activation, output, loss, h=1e-6,
                        dtype=np.float64):
    """(L(θ + h) − L(θ − h)) / (the step actually taken) for every weight and bias, the
    losses computed by networks of dtype."""
    weights = [w.astype(dtype) for w in weights]
    biases = [b.astype(dtype) for b in biases]
    gradients = []
    for array in weights + biases:
        gradient = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            original = array[index]
            losses, steps = [], []
            for sign in (1, -1):
                array[index] = original + array.dtype.type(sign * h)
                steps.append(float(array[index]) - float(original))
                losses.append(build(weights, biases, activation, output, loss,
                                    dtype).compute_loss(X, Y))
            array[index] = original
            gradient[index] = (losses[0] - losses[1]) / (steps[0] - steps[1])
        gradients.append(gradient)
    return gradients[:len(weights)], gradients[len(weights):]


def hidden_preactivations(weights, biases, X):
    """Every hidden layer's z of a relu network, in float64."""
    zs, layer_input = [], np.asarray(X, np.float64)
    for W, b in zip(weights[:-1], biases[:-1]):
        zs.append(layer_input @ np.asarray(W, np.float64).T + np.asarray(b, np.float64))
        layer_input = np.maximum(zs[-1], 0)
    return zs


def away_from_the_kinks(weights, biases, X, h, margin=1e-4, dtype=np.float32):
    """For every weight and bias (in central_differences' layout), whether the relu network's
    loss is smooth over [θ - h, θ + h] in that parameter: no hidden pre-activation changes
    sign between the two ends and θ, and none is within margin of 0 (where the kernel's
    rounding and float64's could disagree on the side)."""
    weights = [w.astype(dtype) for w in weights]
    biases = [b.astype(dtype) for b in biases]
    signs = [np.sign(z) for z in hidden_preactivations(weights, biases, X)]
    masks = []
    for array in weights + biases:
        mask = np.ones(array.shape, dtype=bool)
        for index in np.ndindex(array.shape):
            original = array[index]
            for value in (original, original + array.dtype.type(h),
                          original - array.dtype.type(h)):
                array[index] = value
                zs = hidden_preactivations(weights, biases, X)
                if any((np.abs(z) < margin).any() or (np.sign(z) != sign).any()
                       for z, sign in zip(zs, signs)):
                    mask[index] = False
            array[index] = original
        masks.append(mask)
    return masks[:len(weights)], masks[len(weights):]


def in_float32(weights, biases, X, Y, output):
    """A problem's numbers rounded to float32 (labels kept; probability rows renormalised
    so that they still sum to 1 in float32)."""
    weights = [w.astype(np.float32) for w in weights]
    biases = [b.astype(np.float32) for b in biases]
    if np.asarray(Y).dtype.kind == "f":
        Y = np.asarray(Y).astype(np.float32)
        if output == "softmax":
            Y = (Y / Y.sum(axis=1, keepdims=True)).astype(np.float32)
    return weights, biases, X.astype(np.float32), Y


def one_hot(labels, n_out):
    return np.eye(n_out)[labels] if labels.ndim == 1 else labels


# --- the contract ---------------------------------------------------------------

def test_the_contracts_networks():
    net = fastprop.Network([64, 64, 10], activation="relu", output="softmax",
                           loss="cross_entropy", seed=0)
    assert (net.activation, net.output, net.loss) == ("relu", "softmax", "cross_entropy")
    assert repr(net) == ("Network(sizes=[64, 64, 10], activation='relu', output='softmax', "
                         "loss='cross_entropy', dtype=float64)")
    net = fastprop.Network([30, 32, 1], output="sigmoid", loss="bce")
    assert (net.activation, net.output, net.loss) == ("sigmoid", "sigmoid", "bce")
    net = fastprop.Network([8, 16, 1], activation="tanh", output="identity", loss="mse")
    assert (net.activation, net.output, net.loss) == ("tanh", "identity", "mse")
    net = fastprop.Network([3, 5, 4, 2], activation=["relu", "tanh"], output="identity",
                           loss="mse", seed=1)
    assert net.activation == ["relu", "tanh"]
    assert "activation=['relu', 'tanh']" in repr(net)
    net.activation.append("x")                     # a copy: the network is unchanged
    assert net.activation == ["relu", "tanh"]


@pytest.mark.parametrize("arguments, match", [
    (dict(activation="swish"), r"activation must be one of 'sigmoid', 'tanh', 'relu', "
                               r"'identity', got 'swish'"),
    (dict(activation="softmax"), r"activation must be one of .* got 'softmax' \(the softmax is "
                                 r"an output: output='softmax'\)"),
    (dict(activation=["relu"]), r"activation must be one name or a list of 2 \(one per hidden "
                                r"layer\), got a list of 1"),
    (dict(activation=["relu", "tan"]), r"activation\[1\] must be one of .* got 'tan'"),
    (dict(output="linear"), r"output must be one of 'sigmoid', 'identity', 'softmax', "
                            r"got 'linear'"),
    (dict(output="softmax"), r"output='softmax' does not go with loss='sse'; the valid pairs"),
    (dict(output="identity", loss="bce"), r"output='identity' does not go with loss='bce'"),
    (dict(output="sigmoid", loss="cross_entropy"),
     r"output='sigmoid' does not go with loss='cross_entropy'.*loss='cross_entropy' with "
     r"output 'softmax'"),
    (dict(output="softmax", loss="mse"), r"output='softmax' does not go with loss='mse'"),
])
def test_unknown_names_and_invalid_pairs(arguments, match):
    with pytest.raises(ValueError, match=match):
        fastprop.Network([2, 3, 4, 2], **arguments)
    with pytest.raises(ValueError, match=match):
        fastprop.Network.from_weights([np.ones((3, 2)), np.ones((4, 3)), np.ones((2, 4))],
                                      [np.zeros(3), np.zeros(4), np.zeros(2)], **arguments)


def test_activation_of_the_wrong_type_and_a_one_output_softmax():
    with pytest.raises(TypeError, match=r"activation must be a name such as 'relu' or a list"):
        fastprop.Network([2, 3, 1], activation=None)
    with pytest.raises(ValueError, match=r"output='softmax' needs at least 2 outputs.*"
                                         r"output='sigmoid' with loss='bce'"):
        fastprop.Network([2, 3, 1], output="softmax", loss="cross_entropy")


def test_initialisation_is_he_for_relu_layers_and_glorot_for_the_others():
    sizes = [400, 300, 200, 10]
    net = fastprop.Network(sizes, activation=["relu", "tanh"], output="softmax",
                           loss="cross_entropy", seed=3)
    # U(-r, r) has its maximum close to r for 120 000 draws: r = sqrt(6/400) for the relu
    # layer (He), sqrt(6/(300 + 200)) and sqrt(6/(200 + 10)) for the others (Glorot).
    limits = [np.sqrt(6 / 400), np.sqrt(6 / 500), np.sqrt(6 / 210)]
    for weights, limit in zip(net.weights, limits):
        assert np.abs(weights).max() <= limit
        assert np.abs(weights).max() > 0.99 * limit
        # a uniform's standard deviation is r / sqrt(3)
        assert weights.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    # The sigmoid network draws as before: the same generator calls, the same weights.
    default = fastprop.Network([2, 2, 1], seed=0)
    generator = np.random.default_rng(0)
    expected = [generator.uniform(-np.sqrt(6 / 4), np.sqrt(6 / 4), (2, 2)),
                generator.uniform(-np.sqrt(6 / 3), np.sqrt(6 / 3), (1, 2))]
    for got, want in zip(default.weights, expected):
        np.testing.assert_array_equal(got, want)


# --- targets ----------------------------------------------------------------------

def test_fit_refuses_targets_a_sigmoid_output_cannot_reach():
    X = np.zeros((4, 2))
    net = fastprop.Network([2, 3, 1], seed=0)
    weights = net.weights
    for Y in (np.array([0, 1, 5, 2]), np.array([0.5, -3, 0.2, 1.0])):
        with pytest.raises(ValueError, match=r"a sigmoid output cannot reach them.*"
                                             r"output='identity'.*scale the targets"):
            net.fit(X, Y, epochs=1, lr=0.1)
    for got, want in zip(net.weights, weights):
        np.testing.assert_array_equal(got, want)
    # Integer labels against one sigmoid output: the message points to the softmax.
    with pytest.raises(ValueError, match=r"for class labels use output='softmax' with "
                                         r"loss='cross_entropy'"):
        net.fit(X, np.array([0, 3, 9, 2]), epochs=1, lr=0.1)
    # bce takes probabilities everywhere, its loss included.
    bce = fastprop.Network([2, 3, 1], loss="bce", seed=0)
    with pytest.raises(ValueError, match=r"a sigmoid output cannot reach them"):
        bce.compute_loss(X, np.array([0, 1, 2, 1]))
    # The squared error's single evaluations take any target (the tutorials' worked
    # example steps towards y = 1.5); an identity output trains on any.
    assert net.compute_loss(X, np.array([0, 1, 5, 2])) > 0
    identity = fastprop.Network([2, 3, 1], output="identity", loss="mse", seed=0)
    identity.fit(X, np.array([0, 1, 5, 2]), epochs=1, lr=0.01)


def test_cross_entropy_targets_and_labels_are_checked():
    net = fastprop.Network([2, 4, 3], output="softmax", loss="cross_entropy", seed=0)
    X = np.zeros((3, 2))
    weights = net.weights
    cases = [
        (np.array([0, 1, 3]), ValueError, r"Y as class labels must be integers from 0 to 2 "
                                          r"\(one per output\), got values from 0 to 3"),
        (np.array([0, -1, 2]), ValueError, r"from 0 to 2 .*got values from -1 to 2"),
        (np.array([0.0, 1.5, 2.0]), ValueError, r"Y as class labels must hold integers from "
                                                r"0 to 2, got non-integer values"),
        (np.array([True, False, True]), TypeError, r"must hold integers, got booleans"),
        (np.array([0, 1]), ValueError, r"Y as class labels must have shape \(3,\), got "
                                       r"shape \(2,\)"),
        (np.full((3, 3), 0.5), ValueError, r"must be one-hot or probability rows .* "
                                           r"row 0 sums to 1.5"),
        (np.array([[1.5, -0.5, 0]] * 3), ValueError, r"a negative value \(-0.5\)"),
        (np.zeros((3, 2)), ValueError, r"Y must have shape \(3, 3\)"),
    ]
    for Y, exception, match in cases:
        with pytest.raises(exception, match=match):
            net.fit(X, Y, epochs=1, lr=0.1)
        with pytest.raises(exception, match=match):
            net.compute_loss(X, Y)
    for got, want in zip(net.weights, weights):
        np.testing.assert_array_equal(got, want)
    # Integer-valued floats are labels too.
    assert net.compute_loss(X, np.array([0.0, 2.0, 1.0])) == net.compute_loss(X, [0, 2, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shuffle, batch_size", [(False, None), (True, 7), (False, 4)])
def test_labels_train_bit_for_bit_as_one_hot_rows(dtype, shuffle, batch_size):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 5))
    labels = rng.integers(0, 3, 30)
    results = []
    for Y in (labels, np.eye(3)[labels]):
        net = fastprop.Network([5, 6, 3], activation="relu", output="softmax",
                               loss="cross_entropy", seed=2, dtype=dtype)
        history = net.fit(X, Y, epochs=3, lr=0.5, batch_size=batch_size, shuffle=shuffle,
                          seed=9)
        results.append((history, net.weights, net.biases, net.compute_loss(X, Y),
                        net.gradients(X, Y)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for first, second in zip(results[0][1] + results[0][2], results[1][1] + results[1][2]):
        np.testing.assert_array_equal(first, second)
    assert results[0][3] == results[1][3]
    for first, second in zip(sum(results[0][4], []), sum(results[1][4], [])):
        np.testing.assert_array_equal(first, second)


# --- forward, loss and gradients -------------------------------------------------------

@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("output, loss", PAIRS)
@given(data=st.data())
def test_float64_gradients_match_central_differences(activation, output, loss, data):
    weights, biases, X, Y = data.draw(problems(output))
    net = build(weights, biases, activation, output, loss)
    L = net.compute_loss(X, Y)
    grads_W, grads_b = net.gradients(X, Y)
    fd_W, fd_b = central_differences(weights, biases, X, Y, activation, output, loss)
    # relu: as in the float32 test below, parameters whose step of h = 1e-6 crosses a kink
    # (or comes within 1e-9 of one) are left out: rare at this h, but not impossible.
    smooth = (sum(away_from_the_kinks(weights, biases, X, h=1e-6, margin=1e-9,
                                      dtype=np.float64), [])
              if activation == "relu" else [np.ones(g.shape, bool) for g in fd_W + fd_b])
    for got, want, mask in zip(grads_W + grads_b, fd_W + fd_b, smooth):
        np.testing.assert_allclose(got[mask], want[mask], rtol=1e-6,
                                   atol=1e-7 * max(1.0, abs(L)))


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("output, loss", PAIRS)
@given(data=st.data())
def test_forward_loss_and_gradients_match_the_reference_on_every_route(
        matmul_path, activation, output, loss, data):
    weights, biases, X, Y = data.draw(problems(output))
    net = build(weights, biases, activation, output, loss)
    lists = [w.tolist() for w in weights], [b.tolist() for b in biases]
    targets = one_hot(np.asarray(Y), X.shape[1] if False else weights[-1].shape[0]).tolist()
    expected_A = reference.forward(*lists, X.tolist(), activation, output)[-1]
    np.testing.assert_allclose(net.forward(X), expected_A, rtol=1e-12, atol=1e-14)
    expected_L = reference.loss(*lists, X.tolist(), targets, loss, activation, output)
    assert net.compute_loss(X, Y) == pytest.approx(expected_L, rel=1e-12, abs=1e-14)
    expected_W, expected_b = reference.gradients(*lists, X.tolist(), targets, loss, activation,
                                                 output)
    grads_W, grads_b = net.gradients(X, Y)
    for got, want in zip(grads_W + grads_b, expected_W + expected_b):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("output, loss", PAIRS)
@given(data=st.data())
def test_float32_gradients_match_float64_gradients(activation, output, loss, data):
    # The very same numbers in both dtypes: float32 weights and data, widened.
    weights, biases, X, Y = in_float32(*data.draw(problems(output)), output)
    grads32 = build(weights, biases, activation, output, loss, np.float32).gradients(X, Y)
    grads64 = build(weights, biases, activation, output, loss, np.float64).gradients(
        X.astype(np.float64), np.asarray(Y).astype(np.float64) if np.asarray(Y).dtype.kind == "f"
        else Y)
    largest = max(float(np.abs(g).max()) for g in sum(grads64, []))
    for got, want in zip(sum(grads32, []), sum(grads64, [])):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * max(1.0, largest))


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("output, loss", PAIRS)
def test_a_step_and_a_fit_follow_the_reference(matmul_path, activation, output, loss):
    # A seed fixed per case (Python's str hash changes from one process to the next).
    rng = np.random.default_rng(zlib.crc32(f"{activation} {output} {loss}".encode()))
    sizes = [3, 5, 4, 3]
    weights = [rng.uniform(-1, 1, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-0.5, 0.5, n_out) for n_out in sizes[1:]]
    X = rng.uniform(-2, 2, (8, 3))
    Y = targets_for(rng, output, 8, 3)
    net = build(weights, biases, activation, output, loss)
    # A step size that converges: an unbounded output takes a small one (with 0.02, 56 of
    # 1000 seeds of an all-identity network with the summed loss diverged in two epochs;
    # with 0.005, none).
    lr = 0.005 if output == "identity" else 0.3
    loss_before = net.step(X, Y, lr)
    new_W, new_b, expected_before = reference.step([w.tolist() for w in weights],
                                                   [b.tolist() for b in biases], X.tolist(),
                                                   Y.tolist(), lr, loss, activation, output)
    assert loss_before == pytest.approx(expected_before, rel=1e-12)
    for got, want in zip(net.weights + net.biases, new_W + new_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    # Two epochs in batches of 3 (the last short), in order: the reference's steps.
    history = net.fit(X, Y, epochs=2, lr=lr, batch_size=3, shuffle=False)
    for epoch in range(2):
        total = 0.0
        for start in range(0, 8, 3):
            rows = slice(start, start + 3)
            new_W, new_b, before = reference.step(new_W, new_b, X[rows].tolist(),
                                                  Y[rows].tolist(), lr, loss, activation,
                                                  output)
            total += before * (1 if loss == "sse" else len(X[rows]))
        assert history[epoch] == pytest.approx(total * (1 if loss == "sse" else 1 / 8),
                                               rel=1e-11)
    for got, want in zip(net.weights + net.biases, new_W + new_b):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


def test_softmax_outputs_sum_to_one_and_predict_gives_them():
    net = fastprop.Network([4, 8, 5], activation="tanh", output="softmax",
                           loss="cross_entropy", seed=1)
    X = np.random.default_rng(0).standard_normal((20, 4)) * 10
    outputs = net.predict(X)
    assert outputs.shape == (20, 5) and np.all(outputs >= 0)
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=0, atol=1e-15 * 5 * 4)
    # One sample may take other routes than twenty (the same values to rounding).
    np.testing.assert_allclose(net.predict(X[0]), outputs[0], rtol=1e-15, atol=0)


def test_losses_are_finite_for_any_finite_logits():
    # Weights large enough to push z to 1e4: log(0) and exp overflow are nowhere.
    X = np.array([[1.0, -1.0], [-1.0, 1.0]])
    big = [np.array([[1e4, -1e4], [-1e4, 1e4], [5e3, 0.0]]), np.array([[1.0, -1.0, 0.0]])]
    bce = fastprop.Network.from_weights(big, [np.zeros(3), np.zeros(1)], loss="bce",
                                        activation="identity")
    # hidden z = (2e4, -2e4, 5e3) and its negative, output z = 4e4 and -4e4: both samples
    # wrong, each by max(z, 0) - z y + log1p(exp(-|z|)) = 4e4 (+ e^-40000, nothing)
    assert bce.compute_loss(X, np.array([0.0, 1.0])) == 4e4
    ce = fastprop.Network.from_weights([big[0], np.eye(3)], [np.zeros(3), np.zeros(3)],
                                       loss="cross_entropy", output="softmax",
                                       activation="identity")
    # z = (2e4, -2e4, 5e3), label 1: log s - (z_1 - max z) = 0 + 4e4; the same for the other
    value = ce.compute_loss(X, np.array([1, 0]))
    assert value == 4e4
    for gradient in sum(ce.gradients(X, np.array([1, 0])), []):
        assert np.all(np.isfinite(gradient))


# --- save and load ---------------------------------------------------------------

@pytest.mark.parametrize("arguments", [
    dict(activation="relu", output="softmax", loss="cross_entropy"),
    dict(activation=["tanh", "identity"], output="identity", loss="mse"),
    dict(output="sigmoid", loss="bce"),
])
def test_save_and_load_keep_the_functions(tmp_path, arguments):
    net = fastprop.Network([3, 4, 4, 2], seed=5, **arguments)
    net.save(tmp_path / "model.npz")
    loaded = fastprop.load(tmp_path / "model.npz")
    assert (loaded.activation, loaded.output, loaded.loss) == (net.activation, net.output,
                                                              net.loss)
    X = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_a_sigmoid_network_writes_the_files_of_before(tmp_path):
    # Files of sigmoid networks hold no function entries, so earlier versions read them.
    fastprop.Network([2, 2, 1], seed=0).save(tmp_path / "plain.npz")
    with np.load(tmp_path / "plain.npz", allow_pickle=False) as archive:
        assert "activations" not in archive.files and "output" not in archive.files
    fastprop.Network([2, 2, 1], seed=0, activation="tanh").save(tmp_path / "tanh.npz")
    with np.load(tmp_path / "tanh.npz", allow_pickle=False) as archive:
        assert list(archive["activations"]) == ["tanh"] and str(archive["output"]) == "sigmoid"


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("output, loss", PAIRS)
@given(data=st.data())
def test_float32_gradients_match_float32_central_differences(activation, output, loss, data):
    # As test_finite_differences.py's float32 test: h = 1e-2 (rounding of the two float32
    # losses about 6e-8 |L| / 1e-2, truncation h^2/6 |L'''|), tolerance 1e-3 max(1, |L|).
    # For relu, only the parameters whose step of h keeps every hidden pre-activation on
    # its side of the kink (and 1e-4 away from it) are compared: across the kink a
    # difference quotient is no derivative (on these problems, 99% of the parameters are
    # compared: 3893 of 3927 over 200 drawn alike).
    weights, biases, X, Y = in_float32(*data.draw(problems(output)), output)
    net = build(weights, biases, activation, output, loss, np.float32)
    L = net.compute_loss(X, Y)
    grads_W, grads_b = net.gradients(X, Y)
    # Richardson's extrapolation of the differences at h and h/2 cancels their h^2 term:
    # with identity layers |L'''| can reach hundreds, and h^2/6 |L'''| alone then exceeds
    # the tolerance (hypothesis found 4-4-4-1 identity/bce: 2.8e-3 at h = 1e-2 alone).
    coarse = central_differences(weights, biases, X, Y, activation, output, loss, h=1e-2,
                                 dtype=np.float32)
    fine = central_differences(weights, biases, X, Y, activation, output, loss, h=5e-3,
                               dtype=np.float32)
    fd_W, fd_b = ([(4 * f - c) / 3 for f, c in zip(fine_part, coarse_part)]
                  for fine_part, coarse_part in zip(fine, coarse))
    smooth = (sum(away_from_the_kinks(weights, biases, X, h=1e-2), [])
              if activation == "relu" else [np.ones(g.shape, bool) for g in fd_W + fd_b])
    for got, want, mask in zip(grads_W + grads_b, fd_W + fd_b, smooth):
        np.testing.assert_allclose(got[mask], want[mask], rtol=0, atol=1e-3 * max(1.0, abs(L)))
