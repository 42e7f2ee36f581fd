"""fastprop.reference against values worked by hand and against finite differences.

The hand-worked cases use inputs chosen so that every sigmoid is exact:
σ(0) = 1/2, σ(ln 3) = 1/(1 + 1/3) = 3/4, σ(−ln 3) = 1/4. The arithmetic is in
the comments, so each expected number can be checked with pencil and paper.
"""
import ast
import inspect
import math
import random

import pytest

from fastprop import reference

LN3 = math.log(3.0)  # σ(LN3) = 0.75, σ(−LN3) = 0.25


# --- sigmoid -----------------------------------------------------------------

def test_sigmoid_hand_values():
    assert reference.sigmoid(0.0) == 0.5
    assert reference.sigmoid(-0.0) == 0.5
    # σ(ln 3) = 1 / (1 + e^(−ln 3)) = 1 / (1 + 1/3) = 3/4
    assert reference.sigmoid(LN3) == pytest.approx(0.75, abs=1e-15)
    # σ(−ln 3) = e^(−ln 3)·σ(ln 3) = (1/3)·(3/4) = 1/4
    assert reference.sigmoid(-LN3) == pytest.approx(0.25, abs=1e-15)
    # σ(0.25) = 1 / (1 + e^(−0.25)) = 1 / 1.7788007831 = 0.5621765009 (Step by Step tutorial)
    assert reference.sigmoid(0.25) == pytest.approx(0.5621765009, abs=1e-10)


@pytest.mark.parametrize("z, expected", [
    (1e308, 1.0),    # e^(−1e308) underflows to 0: σ = 1/(1 + 0) = 1
    (-1e308, 0.0),   # the naive 1/(1 + e^(1e308)) would raise OverflowError
    (1e4, 1.0),
    (-1e4, 0.0),
    (0.0, 0.5),
])
def test_sigmoid_is_finite_and_exact_at_extremes(z, expected):
    value = reference.sigmoid(z)
    assert math.isfinite(value)
    assert 0.0 <= value <= 1.0
    assert value == expected


def test_sigmoid_keeps_relative_precision_in_the_negative_tail():
    # For z ≪ 0, σ(z) = e^z / (1 + e^z) ≈ e^z; computing it as 1 − σ(−z) would
    # give exactly 0 here. The stable formula keeps full relative precision.
    for z in (-40.0, -300.0, -700.0):
        assert reference.sigmoid(z) == pytest.approx(math.exp(z), rel=1e-14)
    assert reference.sigmoid(-745.0) > 0.0  # e^(−745) is a subnormal double


@pytest.mark.parametrize("z", [0.0, 1e-12, 0.1, 0.25, 1.0, LN3, 2.5, 10.0, 36.0, 1e4, 1e308])
def test_sigmoid_symmetry(z):
    # σ(−z) = 1 − σ(z); the subtraction 1 − σ(z) is itself rounded to within
    # one unit in the last place of 1 (2⁻⁵³ ≈ 1.1e-16), hence the tolerance.
    assert reference.sigmoid(-z) == pytest.approx(1.0 - reference.sigmoid(z), abs=2.3e-16)


def test_sigmoid_is_monotonic_on_a_grid():
    values = [reference.sigmoid(z / 8.0) for z in range(-400, 401)]
    assert all(a <= b for a, b in zip(values, values[1:]))


# --- the building blocks, by hand --------------------------------------------

def test_dense_sigmoid_forward_by_hand():
    A_in = [[1.0, 2.0],
            [0.0, 0.0]]
    W = [[0.5, -0.25],   # neuron 1
         [LN3, 0.0]]     # neuron 2
    b = [0.0, -LN3]
    # sample 1: z₁ = 0.5·1 − 0.25·2 + 0 = 0 → 0.5;  z₂ = ln3·1 + 0·2 − ln3 = 0 → 0.5
    # sample 2: z₁ = 0 → 0.5;                      z₂ = −ln3 → 0.25
    A_out = reference.dense_sigmoid_forward(A_in, W, b)
    assert len(A_out) == 2 and all(len(row) == 2 for row in A_out)
    for got, want in zip(A_out, [[0.5, 0.5], [0.5, 0.25]]):
        assert got == pytest.approx(want, abs=1e-15)


def test_output_delta_by_hand():
    A = [[0.75, 0.5],
         [0.25, 0.5]]
    Y = [[1.0, 0.0],
         [0.0, 0.5]]
    # (a − y)·a·(1 − a):
    # (0.75 − 1)·0.75·0.25 = −0.046875;   (0.5 − 0)·0.5·0.5 = 0.125
    # (0.25 − 0)·0.25·0.75 = 0.046875;    (0.5 − 0.5)·… = 0
    assert reference.output_delta(A, Y) == [[-0.046875, 0.125], [0.046875, 0.0]]


def test_sse_by_hand():
    A = [[0.75, 0.5],
         [0.25, 0.5]]
    Y = [[1.0, 0.0],
         [0.0, 0.5]]
    # ½ (0.25² + 0.5² + 0.25² + 0²) = ½ (0.0625 + 0.25 + 0.0625) = 0.1875
    assert reference.sse(A, Y) == 0.1875


def test_hidden_delta_by_hand():
    delta_next = [[0.1, -0.2]]         # one sample, two neurons in the next layer
    W_next = [[1.0, 2.0],              # next layer's weights, shape (2 next, 2 here)
              [3.0, 4.0]]
    A = [[0.5, 0.75]]
    # δ_next·W_next = [0.1·1 − 0.2·3, 0.1·2 − 0.2·4] = [−0.5, −0.6]
    # a·(1 − a)     = [0.25, 0.1875]
    # δ             = [−0.125, −0.1125]
    got = reference.hidden_delta(delta_next, W_next, A)
    assert got[0] == pytest.approx([-0.125, -0.1125], abs=1e-15)


def test_weight_gradient_by_hand():
    delta = [[1.0, 2.0],               # 2 samples × 2 neurons
             [3.0, 4.0]]
    A_prev = [[1.0, 0.0, 2.0],         # 2 samples × 3 inputs
              [0.5, 1.0, 0.0]]
    # grad_W[j][k] = Σᵢ δ[i][j]·A_prev[i][k]
    # j = 0: [1·1 + 3·0.5, 1·0 + 3·1, 1·2 + 3·0] = [2.5, 3, 2]
    # j = 1: [2·1 + 4·0.5, 2·0 + 4·1, 2·2 + 4·0] = [4, 4, 4]
    # grad_b[j] = Σᵢ δ[i][j] = [1 + 3, 2 + 4] = [4, 6]
    grad_W, grad_b = reference.weight_gradient(delta, A_prev)
    assert grad_W == [[2.5, 3.0, 2.0], [4.0, 4.0, 4.0]]
    assert grad_b == [4.0, 6.0]


def test_sgd_update_vector_and_matrix():
    # 1 − 0.5·0.5 = 0.75; 2 − 0.5·(−1) = 2.5
    assert reference.sgd_update([1.0, 2.0], [0.5, -1.0], 0.5) == [0.75, 2.5]
    assert reference.sgd_update([[1.0, 2.0], [3.0, 4.0]], [[2.0, 0.0], [-2.0, 4.0]], 0.25) == [
        [0.5, 2.0], [3.5, 3.0]]


def test_forward_returns_every_layer():
    weights = [[[0.5, -0.25], [LN3, 0.0]], [[LN3, -LN3]]]
    biases = [[0.0, -LN3], [0.0]]
    X = [[1.0, 2.0], [0.0, 0.0]]
    A = reference.forward(weights, biases, X)
    assert len(A) == 3
    assert A[0] == X
    assert A[0] is not X  # a copy, as plain floats
    # layer 1 as in test_dense_sigmoid_forward_by_hand: [[0.5, 0.5], [0.5, 0.25]]
    # layer 2, sample 1: z = ln3·0.5 − ln3·0.5 = 0 → 0.5
    #          sample 2: z = ln3·0.5 − ln3·0.25 = ln3/4 → 1/(1 + 3^(−1/4))
    assert A[2][0] == pytest.approx([0.5], abs=1e-15)
    assert A[2][1] == pytest.approx([1.0 / (1.0 + 3.0 ** -0.25)], abs=1e-15)
    assert all(type(v) is float for layer in A for row in layer for v in row)


# A one-neuron network (w = ln 3, b = 0) and two samples:
#   x = 1, y = 1: a = σ(ln 3) = 0.75, δ = (0.75 − 1)·0.75·0.25 = −0.046875
#   x = 0, y = 0: a = σ(0)    = 0.5,  δ = (0.5 − 0)·0.5·0.5   =  0.125
# sse  L = ½ (0.25² + 0.5²) = ½ (0.0625 + 0.25) = 0.15625
#      ∂L/∂w = −0.046875·1 + 0.125·0 = −0.046875
#      ∂L/∂b = −0.046875 + 0.125     =  0.078125
# mse  everything divided by n = 2: 0.078125, −0.0234375, 0.0390625
ONE_NEURON = ([[[LN3]]], [[0.0]], [[1.0], [0.0]], [[1.0], [0.0]])


def test_loss_and_gradients_by_hand_sse():
    weights, biases, X, Y = ONE_NEURON
    assert reference.loss(weights, biases, X, Y) == pytest.approx(0.15625, abs=1e-15)
    grads_W, grads_b = reference.gradients(weights, biases, X, Y, loss="sse")
    assert grads_W[0][0][0] == pytest.approx(-0.046875, abs=1e-15)
    assert grads_b[0][0] == pytest.approx(0.078125, abs=1e-15)


def test_loss_and_gradients_by_hand_mse():
    weights, biases, X, Y = ONE_NEURON
    assert reference.loss(weights, biases, X, Y, loss="mse") == pytest.approx(0.078125, abs=1e-15)
    grads_W, grads_b = reference.gradients(weights, biases, X, Y, loss="mse")
    assert grads_W[0][0][0] == pytest.approx(-0.0234375, abs=1e-15)
    assert grads_b[0][0] == pytest.approx(0.0390625, abs=1e-15)


@pytest.mark.parametrize("loss_name, dW, db, loss_before", [
    ("sse", -0.046875, 0.078125, 0.15625),
    ("mse", -0.0234375, 0.0390625, 0.078125),
])
def test_step_by_hand(loss_name, dW, db, loss_before):
    weights, biases, X, Y = ONE_NEURON
    new_weights, new_biases, before = reference.step(weights, biases, X, Y, 0.5, loss=loss_name)
    assert before == pytest.approx(loss_before, abs=1e-15)
    # w_new = ln3 − 0.5·∂L/∂w,  b_new = 0 − 0.5·∂L/∂b
    assert new_weights[0][0][0] == pytest.approx(LN3 - 0.5 * dW, abs=1e-15)
    assert new_biases[0][0] == pytest.approx(-0.5 * db, abs=1e-15)
    assert weights == [[[LN3]]] and biases == [[0.0]]  # the inputs are not modified


@pytest.mark.parametrize("function", ["loss", "gradients", "step"])
def test_unknown_loss_is_rejected(function):
    weights, biases, X, Y = ONE_NEURON
    extra = (0.1,) if function == "step" else ()
    with pytest.raises(ValueError, match="unknown loss"):
        getattr(reference, function)(weights, biases, X, Y, *extra, loss="cross-entropy")


def test_reference_does_not_import_numpy():
    tree = ast.parse(inspect.getsource(reference))
    imported = {alias.name.split(".")[0]
                for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    imported |= {node.module.split(".")[0]
                 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "numpy" not in imported


# --- gradients against central finite differences ----------------------------

def random_problem(sizes, n_samples, seed):
    """Weights, biases, inputs and targets drawn from a seeded Python RNG."""
    rng = random.Random(seed)
    weights = [[[rng.gauss(0.0, 1.0) for _ in range(n_in)] for _ in range(n_out)]
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [[rng.gauss(0.0, 1.0) for _ in range(n_out)] for n_out in sizes[1:]]
    X = [[rng.uniform(-2.0, 2.0) for _ in range(sizes[0])] for _ in range(n_samples)]
    Y = [[rng.random() for _ in range(sizes[-1])] for _ in range(n_samples)]
    return weights, biases, X, Y


def central_difference(f, params, index, h=1e-6):
    """(f(θ + h) − f(θ − h)) / 2h for the parameter params[index] (modified in place, restored)."""
    original = params[index]
    params[index] = original + h
    plus = f()
    params[index] = original - h
    minus = f()
    params[index] = original
    return (plus - minus) / (2.0 * h)


SHAPES = [
    (1, 1, 1),        # Step by Step tutorial, example 2: width-1 layers everywhere
    (1, 2, 1),        # Step by Step tutorial, example 3
    (2, 2, 1),        # Forward & Backpropagation tutorial
    (3, 1, 2),        # width-1 hidden layer between wider ones
    (2, 3, 4, 2),     # two hidden layers, several outputs
    (4, 2),           # no hidden layer
]


@pytest.mark.parametrize("loss_name", ["sse", "mse"])
@pytest.mark.parametrize("n_samples", [1, 5])
@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
def test_gradients_match_central_differences(sizes, n_samples, loss_name):
    weights, biases, X, Y = random_problem(sizes, n_samples, seed=10 * len(sizes) + n_samples)
    grads_W, grads_b = reference.gradients(weights, biases, X, Y, loss=loss_name)

    def current_loss():
        return reference.loss(weights, biases, X, Y, loss=loss_name)

    # Truncation error of the central difference is O(h²) ≈ 1e-12 and rounding
    # error about 1e-16 / h ≈ 1e-10, so agreement to 1e-8 checks every gradient.
    for layer, (W, b) in enumerate(zip(weights, biases)):
        for j, row in enumerate(W):
            for k in range(len(row)):
                numeric = central_difference(current_loss, row, k)
                assert grads_W[layer][j][k] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (layer, j, k)
        for j in range(len(b)):
            numeric = central_difference(current_loss, b, j)
            assert grads_b[layer][j] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (layer, j)


@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
def test_mse_is_sse_divided_by_batch_size(sizes):
    weights, biases, X, Y = random_problem(sizes, 3, seed=7)
    assert reference.loss(weights, biases, X, Y, loss="mse") == pytest.approx(
        reference.loss(weights, biases, X, Y, loss="sse") / 3, rel=1e-15)
    sse_W, sse_b = reference.gradients(weights, biases, X, Y, loss="sse")
    mse_W, mse_b = reference.gradients(weights, biases, X, Y, loss="mse")
    for s, m in zip(sse_W, mse_W):
        for s_row, m_row in zip(s, m):
            assert m_row == pytest.approx([v / 3 for v in s_row], rel=1e-15)
    for s, m in zip(sse_b, mse_b):
        assert m == pytest.approx([v / 3 for v in s], rel=1e-15)


def test_step_moves_against_the_gradient_and_lowers_a_small_loss():
    weights, biases, X, Y = random_problem((2, 3, 1), 4, seed=3)
    new_weights, new_biases, before = reference.step(weights, biases, X, Y, 0.1)
    grads_W, grads_b = reference.gradients(weights, biases, X, Y)
    assert before == reference.loss(weights, biases, X, Y)
    for W, W_new, G in zip(weights, new_weights, grads_W):
        for row, row_new, g_row in zip(W, W_new, G):
            assert row_new == pytest.approx([w - 0.1 * g for w, g in zip(row, g_row)], abs=1e-15)
    for b, b_new, g in zip(biases, new_biases, grads_b):
        assert b_new == pytest.approx([v - 0.1 * d for v, d in zip(b, g)], abs=1e-15)
    assert reference.loss(new_weights, new_biases, X, Y) < before
