"""Every number the tutorials of docs/worked-examples.md print, checked through fastprop.

The tutorials are Step by Step ("Backpropagation Step by Step": one neuron, a
1-1-1 chain, a 1-2-1 network), NumPy XOR (the matrix form and a column-major
NumPy class) and Forward & Backpropagation (a 2-2-1 network worked number by
number); the ``seed_*`` functions of ``fastprop.examples`` and the test names
number them 000, 001 and 002 in that order.

Each figure is asserted to the number of digits the tutorial prints it with:
``rounds_to("0.5933")`` accepts values within half a unit of the last printed
digit (here ±5e-5), never more. The same assertions run three times: through
the pure-Python ``fastprop.reference`` and through the compiled
``fastprop.Network`` in float64 and float32; the Network runs go once through
the kernels' plain loops and once through BLAS GEMM (the ``matmul_path``
fixture of conftest.py).

Where a tutorial's own arithmetic is wrong (see docs/worked-examples.md and
the comments marked ERRATUM), the test asserts the correct value and names the
printed figure that differs.
"""
import math

import numpy as np
import pytest

import fastprop
from fastprop import examples, reference


def rounds_to(figure: str):
    """A value printed as ``figure``: within half a unit of its last decimal digit."""
    decimals = len(figure.partition(".")[2])
    return pytest.approx(float(figure), abs=0.5 * 10.0 ** -decimals)


def logit(a):
    """z = ln(a / (1 − a)), the pre-activation that σ mapped to a."""
    return math.log(a / (1.0 - a))


# --- three ways of running a worked example ----------------------------------

class ReferenceRun:
    """The example through fastprop.reference (plain Python floats)."""

    name = "reference"

    def __init__(self, example):
        self.example = example
        self.X, self.Y = [example.x], [example.y]

    def activations(self):
        """[A_1, …, A_L] for the example's one sample, each a 1-D sequence."""
        return [layer[0] for layer in reference.forward(self.example.weights, self.example.biases, self.X)[1:]]

    def loss(self):
        return reference.loss(self.example.weights, self.example.biases, self.X, self.Y)

    def gradients(self):
        return reference.gradients(self.example.weights, self.example.biases, self.X, self.Y)

    def step(self):
        """(new weights, new biases, loss before the step)."""
        return reference.step(self.example.weights, self.example.biases, self.X, self.Y, self.example.lr)


class NetworkRun:
    """The example through the compiled fastprop.Network, in one dtype."""

    def __init__(self, example, dtype):
        self.example, self.dtype = example, np.dtype(dtype)
        self.name = self.dtype.name
        self.X = np.array([example.x], dtype=self.dtype)
        self.Y = np.array([example.y], dtype=self.dtype)

    def network(self, n_layers=None):
        """The example's network, or only its first ``n_layers`` layers."""
        n_layers = n_layers or len(self.example.weights)
        truncated = self.example._replace(weights=self.example.weights[:n_layers],
                                          biases=self.example.biases[:n_layers])
        net = examples.network_from_example(truncated, dtype=self.dtype)
        assert net.dtype == self.dtype
        return net

    def activations(self):
        # The hidden activations are the outputs of the network cut after that layer.
        x = np.array(self.example.x, dtype=self.dtype)
        return [self.network(n).forward(x) for n in range(1, len(self.example.weights) + 1)]

    def loss(self):
        return self.network().compute_loss(self.X, self.Y)

    def gradients(self):
        return self.network().gradients(self.X, self.Y)

    def step(self):
        net = self.network()
        loss_before = net.step(self.X, self.Y, self.example.lr)
        return net.weights, net.biases, loss_before


RUNS = ["reference", "float64", "float32"]


def make_run(kind, example):
    return ReferenceRun(example) if kind == "reference" else NetworkRun(example, kind)


# --- Step by Step tutorial, example 1: one neuron ----------------------------

@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("kind", RUNS)
def test_seed_000_example_1_one_neuron(kind):
    example = examples.seed_000_example_1()
    assert example.y == [1.5]  # the text says y = 1, but computes with y = 1.5
    run = make_run(kind, example)

    # Forward pass: ŷ = σ(0.3·0.5 + 0.1) = σ(0.25) ≈ 0.56, L = ½ (1.5 − 0.56)² = 0.44
    (y_hat,), = run.activations()
    assert logit(y_hat) == rounds_to("0.25")
    assert y_hat == rounds_to("0.56")
    assert run.loss() == rounds_to("0.44")

    # The factors of the chain rule
    assert y_hat - 1.5 == rounds_to("-0.94")           # ∂L/∂ŷ = −(y − ŷ)
    assert y_hat * (1 - y_hat) == rounds_to("0.25")    # ∂ŷ/∂z = 0.56·0.44
    assert 1 - y_hat == rounds_to("0.44")

    grads_W, grads_b = run.gradients()
    dw, db = grads_W[0][0][0], grads_b[0][0]
    # ERRATUM: printed ∂L/∂w = −0.94·0.25·0.5 = −0.118 and ∂L/∂b = −0.235 multiply
    # factors already rounded to two digits; the exact values are −0.1154152 and
    # −0.2308303 (−0.93782·0.24613·0.5 and −0.93782·0.24613); to 5 digits the
    # first rounds to −0.11542 (−0.11541 would be truncated).
    assert dw == rounds_to("-0.11542")
    assert db == rounds_to("-0.23083")

    new_weights, new_biases, loss_before = run.step()
    assert loss_before == rounds_to("0.44")
    assert new_weights[0][0][0] == rounds_to("0.312")   # 0.3 − 0.1·(−0.1154152) = 0.3115415
    # ERRATUM: printed b_new = 0.1 − 0.1·(−0.235) = 0.125 carries the rounded
    # gradient; 0.1 − 0.1·(−0.2308303) = 0.1230830.
    assert new_biases[0][0] == rounds_to("0.12308")


# --- Step by Step tutorial, example 2: two neurons in a chain (1-1-1) --------

@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("kind", RUNS)
def test_seed_000_example_2_two_neuron_chain(kind):
    example = examples.seed_000_example_2()
    run = make_run(kind, example)

    (a2,), (y_hat,) = run.activations()
    assert logit(a2) == rounds_to("0.25")               # z² = 0.3·0.5 + 0.1
    assert a2 == rounds_to("0.56")                      # a² = σ(0.25)
    # ERRATUM: the text later writes "z³ = … = σ(0.25) ≈ 0.56", confusing z³ with
    # a²; z³ = 0.2·0.56 + 0.4 ≈ 0.512, as it printed a few lines before.
    assert logit(y_hat) == rounds_to("0.512")
    assert y_hat == rounds_to("0.625")
    assert run.loss() == rounds_to("0.38")              # ½ (1.5 − 0.625)²

    assert y_hat - 1.5 == rounds_to("-0.875")           # ∂L/∂ŷ
    # ERRATUM: ∂ŷ/∂z³ = ŷ(1 − ŷ) = 0.625·0.375 = 0.2343; the text prints 0.235
    # in its first computation, and later 0.64·(1 − 0.64) ≈ 0.23 after evaluating
    # σ at 0.56 instead of z³ = 0.512 (σ(0.512) = 0.625, not 0.64). The 0.23 is
    # right to its two digits only by luck.
    assert y_hat * (1 - y_hat) == rounds_to("0.234")
    assert y_hat * (1 - y_hat) == rounds_to("0.23")
    assert y_hat == rounds_to("0.63")                   # printed 0.64 = σ(0.56)
    assert a2 * (1 - a2) == rounds_to("0.25")           # ∂a²/∂z² = 0.56·(1 − 0.56)

    grads_W, grads_b = run.gradients()
    dw1, dw2 = grads_W[0][0][0], grads_W[1][0][0]
    db1, db2 = grads_b[0][0], grads_b[1][0]
    # ERRATUM: printed ∂L/∂w² = (−0.875)·0.235·0.5 = −0.103 multiplies by x = 0.5;
    # the chain rule needs ∂z³/∂w² = a² = 0.562: (−0.8746)·0.2343·0.5622 = −0.11519.
    assert dw2 == rounds_to("-0.11519")
    assert db2 == rounds_to("-0.205")                   # (−0.875)·0.235, right to 3 digits
    assert dw1 == rounds_to("-0.005")                   # (−0.875)·0.23·0.2·0.25·0.5
    assert db1 == rounds_to("-0.01")                    # (−0.875)·0.23·0.2·0.25·1

    new_weights, new_biases, loss_before = run.step()
    assert loss_before == rounds_to("0.38")
    assert new_weights[0][0][0] == rounds_to("0.3005")  # 0.3 − 0.1·(−0.005)
    assert new_biases[0][0] == rounds_to("0.101")       # 0.1 − 0.1·(−0.01)
    # ERRATUM: printed w²_new = 0.2 − 0.1·(−0.103) = 0.2103 inherits the wrong
    # gradient; 0.2 − 0.1·(−0.11519) = 0.21152.
    assert new_weights[1][0][0] == rounds_to("0.2115")
    # ERRATUM: printed b²_new = 0.4 − 0.1·(−0.205) = 0.3795 is a sign slip:
    # subtracting a negative gradient raises the bias, 0.4 + 0.0205 = 0.4205.
    assert new_biases[1][0] == rounds_to("0.4205")


# --- Step by Step tutorial, example 3: two neurons in one hidden layer (1-2-1)

def central_difference_gradients(weights, biases, X, Y, h=1e-6):
    """∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h for every weight and bias, with reference.loss."""
    def numeric(params, index):
        original = params[index]
        params[index] = original + h
        plus = reference.loss(weights, biases, X, Y)
        params[index] = original - h
        minus = reference.loss(weights, biases, X, Y)
        params[index] = original
        return (plus - minus) / (2 * h)

    grads_W = [[[numeric(row, k) for k in range(len(row))] for row in W] for W in weights]
    grads_b = [[numeric(b, j) for j in range(len(b))] for b in biases]
    return grads_W, grads_b


@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 1e-14), (np.float32, 1e-5, 1e-7)])
def test_seed_000_example_3_one_two_one_structure(dtype, rtol, atol):
    # The tutorial gives only equations for this network, with index typos (it
    # writes two output biases b₁⁽²⁾, b₂⁽²⁾ for one output neuron): here the
    # structure is checked instead. Same x = 0.5, y = 1.5 as examples 1 and 2;
    # the weights are arbitrary, the two hidden neurons feed the output with
    # weights of opposite sign.
    weights = [[[0.3], [-0.2]], [[0.2, -0.5]]]
    biases = [[0.1, 0.25], [0.4]]
    X, Y = [[0.5]], [[1.5]]

    expected_W, expected_b = reference.gradients(weights, biases, X, Y)
    numeric_W, numeric_b = central_difference_gradients(weights, biases, X, Y)
    for got, want in zip(expected_W + expected_b, numeric_W + numeric_b):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)

    net = fastprop.Network.from_weights([np.array(W, dtype) for W in weights],
                                        [np.array(b, dtype) for b in biases], loss="sse")
    assert net.sizes == (1, 2, 1)
    grads_W, grads_b = net.gradients(np.array(X, dtype), np.array(Y, dtype))
    assert [g.shape for g in grads_W] == [(2, 1), (1, 2)]
    assert [g.shape for g in grads_b] == [(2,), (1,)]
    for got, want in zip(grads_W + grads_b, expected_W + expected_b):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    # The hidden neurons have weights of opposite sign into the output, so their
    # gradients must differ in sign too: the two neurons are not mixed up.
    assert np.sign(grads_b[0][0]) == -np.sign(grads_b[0][1])


# --- Forward & Backpropagation tutorial: the 2-2-1 network worked number by number

@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("kind", RUNS)
def test_seed_002_forward(kind):
    run = make_run(kind, examples.seed_002())
    (a_h1, a_h2), (y_hat,) = run.activations()
    assert logit(a_h1) == rounds_to("0.3775")   # 0.05·0.15 + 0.10·0.20 + 0.35
    assert logit(a_h2) == rounds_to("0.3925")   # 0.05·0.25 + 0.10·0.30 + 0.35
    assert a_h1 == rounds_to("0.5933")
    assert a_h2 == rounds_to("0.5969")
    assert logit(y_hat) == rounds_to("1.1059")  # 0.5933·0.40 + 0.5969·0.45 + 0.60
    assert y_hat == rounds_to("0.7514")
    assert run.loss() == rounds_to("0.2748")    # 0.5·(0.01 − 0.7514)²


@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("kind", RUNS)
def test_seed_002_gradients(kind):
    run = make_run(kind, examples.seed_002())
    (a_h1, a_h2), (y_hat,) = run.activations()
    (W1_grad, W2_grad), (b1_grad, b2_grad) = run.gradients()
    w5, w6 = 0.40, 0.45

    # Output layer
    assert y_hat - 0.01 == rounds_to("0.7414")             # ∂L/∂ŷ
    assert 1 - y_hat == rounds_to("0.2486")
    assert y_hat * (1 - y_hat) == rounds_to("0.1868")      # ∂ŷ/∂z_out
    delta_out = b2_grad[0]                                 # ∂L/∂z_out = ∂L/∂b2
    assert delta_out == rounds_to("0.1385")                # 0.7414·0.1868
    assert W2_grad[0][0] == rounds_to("0.0822")            # w5: 0.7414·0.1868·0.5933
    assert W2_grad[0][1] == rounds_to("0.0827")            # w6: 0.7414·0.1868·0.5969

    # Hidden neuron h1 (w1, w2)
    assert 1 - a_h1 == rounds_to("0.4067")
    assert a_h1 * (1 - a_h1) == rounds_to("0.2413")        # ∂a_h1/∂z_h1
    assert delta_out * w5 == rounds_to("0.0554")           # 0.1385·0.40
    # ERRATUM: the w2 paragraph opens with "0.0555 * 0.2413 * 0.10"; the product
    # 0.1385·0.40 is 0.0554 (as its own step-by-step list says).
    assert b1_grad[0] == rounds_to("0.0134")               # δ_h1 = 0.0554·0.2413
    assert W1_grad[0][0] == rounds_to("0.00067")           # w1: 0.0134·0.05
    # ERRATUM: printed ∂L/∂w2 ≈ 0.00135, but 0.0134·0.10 = 0.00134 (exactly
    # 0.0133679·0.10 = 0.00133679): the printed last digit is wrong.
    assert W1_grad[0][1] == rounds_to("0.00134")

    # Hidden neuron h2 (w3, w4)
    assert 1 - a_h2 == rounds_to("0.4031")
    # ERRATUM: printed ∂a_h2/∂z_h2 = 0.5969·0.4031 ≈ 0.2407; the product is
    # 0.24061 (exactly 0.596884·0.403116 = 0.240614), so 0.2406.
    assert a_h2 * (1 - a_h2) == rounds_to("0.2406")
    assert delta_out * w6 == rounds_to("0.0623")           # 0.1385·0.45
    assert b1_grad[1] == rounds_to("0.0150")               # δ_h2 = 0.0623·0.2407
    assert W1_grad[1][1] == rounds_to("0.00150")           # w4: 0.0150·0.10
    assert W1_grad[1][0] == rounds_to("0.00075")           # w3: 0.0150·0.05

    # The shared hidden bias b1: its gradient is the sum over the neurons it feeds.
    assert b1_grad[0] + b1_grad[1] == rounds_to("0.0284")  # 0.0134 + 0.0150


@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("kind", RUNS)
def test_seed_002_updates(kind):
    example = examples.seed_002()
    run = make_run(kind, example)
    (W1_new, W2_new), (b1_new, b2_new), loss_before = run.step()
    assert example.lr == 0.5
    assert loss_before == rounds_to("0.2748")

    # w5, w6: printed to 4 digits in the text and to 5 in its table.
    assert W2_new[0][0] == rounds_to("0.3589")    # 0.40 − 0.5·0.0822
    assert W2_new[0][1] == rounds_to("0.4087")    # 0.45 − 0.5·0.0827
    # ERRATUM: the table's 0.35890 and 0.40865 subtract the gradients rounded to
    # 0.0822 and 0.0827; with the exact 0.0821670 and 0.0826676 the new values are
    # 0.3589165 and 0.4086662, i.e. 0.35892 and 0.40867 to the table's 5 digits.
    assert W2_new[0][0] == rounds_to("0.35892")
    assert W2_new[0][1] == rounds_to("0.40867")

    assert W1_new[1][1] == rounds_to("0.2993")    # w4: 0.30 − 0.5·0.00150
    assert W1_new[1][1] == rounds_to("0.29925")
    assert W1_new[1][0] == rounds_to("0.2496")    # w3: 0.25 − 0.5·0.00075
    assert W1_new[1][0] == rounds_to("0.249625")
    # ERRATUM: printed w2_new ≈ 0.199325 uses the wrong gradient 0.00135;
    # 0.20 − 0.5·0.00133679 = 0.1993316, i.e. 0.199332.
    assert W1_new[0][1] == rounds_to("0.199332")
    # ERRATUM: printed w1_new ≈ 0.149665 = 0.15 − 0.5·0.00067 uses the gradient
    # rounded to 0.00067; 0.15 − 0.5·0.000668396 = 0.1496658, i.e. 0.149666.
    assert W1_new[0][0] == rounds_to("0.149666")

    # b2: printed "0.60 − 0.5·0.1385 = 0.60 − 0.0693 ≈ 0.5307".
    # ERRATUM: 0.5·0.1385 is 0.06925, which the text rounds up to 0.0693; with the
    # exact gradient 0.13849856, 0.5·0.13849856 = 0.0692493 and
    # 0.60 − 0.0692493 = 0.5307507, which is 0.5308 to the 4 digits printed.
    assert 0.60 - b2_new[0] == rounds_to("0.0692")
    assert b2_new[0] == rounds_to("0.5308")

    # b1 is one parameter shared by both hidden neurons in the tutorial; fastprop
    # has one bias per neuron, each updated by its own gradient (0.0134, 0.0150).
    # The tutorial's shared update is 0.35 − 0.5·(0.0134 + 0.0150).
    bias_gradient_sum = (0.35 - b1_new[0]) / example.lr + (0.35 - b1_new[1]) / example.lr
    assert bias_gradient_sum == rounds_to("0.0284")
    assert example.lr * bias_gradient_sum == rounds_to("0.0142")
    assert 0.35 - example.lr * bias_gradient_sum == rounds_to("0.3358")
    assert b1_new[0] == rounds_to("0.3433")       # 0.35 − 0.5·0.0134 (not printed)
    assert b1_new[1] == rounds_to("0.3425")       # 0.35 − 0.5·0.0150 (not printed)


@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("kind", ["float64", "float32"])
def test_seed_002_is_the_same_for_sse_and_mse_with_one_sample(kind):
    # The tutorial calls its loss MSE but uses ½(y − ŷ)²; with one sample fastprop's
    # "mse" (the "sse" divided by the number of samples) is the same thing.
    example = examples.seed_002()
    run = NetworkRun(example, kind)
    sse_net = run.network()
    mse_net = fastprop.Network.from_weights(sse_net.weights, sse_net.biases, loss="mse")
    assert mse_net.loss == "mse"
    assert mse_net.compute_loss(run.X, run.Y) == sse_net.compute_loss(run.X, run.Y)
    for got, want in zip(sum(mse_net.gradients(run.X, run.Y), []),
                         sum(sse_net.gradients(run.X, run.Y), [])):
        np.testing.assert_array_equal(got, want)


# --- NumPy XOR tutorial: the matrix form and its column-major NumPy class ----

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)


class SimpleNeuralNetwork:
    """The NumPy XOR tutorial's class, transcribed: samples are the COLUMNS of X, updates summed."""

    def __init__(self, input_size, hidden_size, output_size):
        self.W1 = np.random.randn(hidden_size, input_size)
        self.b1 = np.random.randn(hidden_size, 1)
        self.W2 = np.random.randn(output_size, hidden_size)
        self.b2 = np.random.randn(output_size, 1)

    def forward(self, X):
        self.z1 = np.dot(self.W1, X) + self.b1
        self.a1 = sigmoid(self.z1)
        self.z2 = np.dot(self.W2, self.a1) + self.b2
        self.a2 = sigmoid(self.z2)
        return self.a2

    def backward(self, X, y, learning_rate):
        delta2 = (self.a2 - y) * sigmoid_derivative(self.a2)                 # δ² = (a² − y)·σ'(z²)
        delta1 = np.dot(self.W2.T, delta2) * sigmoid_derivative(self.a1)     # δ¹ = (W²)ᵀδ² ⊙ σ'(z¹)
        self.W2 -= learning_rate * np.dot(delta2, self.a1.T)
        self.b2 -= learning_rate * np.sum(delta2, axis=1, keepdims=True)
        self.W1 -= learning_rate * np.dot(delta1, X.T)
        self.b1 -= learning_rate * np.sum(delta1, axis=1, keepdims=True)
        return delta1, delta2  # (added, so the test can compare the deltas)

    def train(self, X, y, epochs, learning_rate):
        for _ in range(epochs):
            self.forward(X)
            self.backward(X, y, learning_rate)


def seed_001_problem(name):
    """(the tutorial's network with fixed weights, X, Y) with samples as ROWS of X and Y."""
    rng = np.random.default_rng(1)
    if name == "xor-2-2-1":
        X, Y = examples.xor_data()
        sizes = (2, 2, 1)
    else:  # a wider problem: 3 inputs, 4 hidden, 2 outputs, 5 samples
        sizes = (3, 4, 2)
        X = rng.uniform(-1.0, 1.0, size=(5, 3))
        Y = rng.uniform(0.0, 1.0, size=(5, 2))
    seed_net = SimpleNeuralNetwork(*sizes)
    seed_net.W1 = rng.standard_normal((sizes[1], sizes[0]))
    seed_net.b1 = rng.standard_normal((sizes[1], 1))
    seed_net.W2 = rng.standard_normal((sizes[2], sizes[1]))
    seed_net.b2 = rng.standard_normal((sizes[2], 1))
    return seed_net, X, Y


def fastprop_copy(seed_net, dtype=np.float64):
    return fastprop.Network.from_weights(
        [seed_net.W1.astype(dtype), seed_net.W2.astype(dtype)],
        [seed_net.b1.ravel().astype(dtype), seed_net.b2.ravel().astype(dtype)],
        loss="sse",
    )


def assert_same_parameters(net, seed_net, rtol, atol):
    W1, W2 = net.weights
    b1, b2 = net.biases
    np.testing.assert_allclose(W1, seed_net.W1, rtol=rtol, atol=atol)
    np.testing.assert_allclose(W2, seed_net.W2, rtol=rtol, atol=atol)
    np.testing.assert_allclose(b1, seed_net.b1.ravel(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(b2, seed_net.b2.ravel(), rtol=rtol, atol=atol)


PROBLEMS = ["xor-2-2-1", "wide-3-4-2"]


@pytest.mark.parametrize("problem", PROBLEMS)
def test_seed_001_deltas_are_the_reference_deltas_transposed(problem):
    seed_net, X, Y = seed_001_problem(problem)
    weights = [seed_net.W1.tolist(), seed_net.W2.tolist()]
    biases = [seed_net.b1.ravel().tolist(), seed_net.b2.ravel().tolist()]
    A = reference.forward(weights, biases, X.tolist())
    delta2_rows = reference.output_delta(A[2], Y.tolist())
    delta1_rows = reference.hidden_delta(delta2_rows, weights[1], A[1])

    seed_net.forward(X.T)
    delta1, delta2 = seed_net.backward(X.T, Y.T, learning_rate=0.1)
    np.testing.assert_allclose(np.array(delta2_rows).T, delta2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.array(delta1_rows).T, delta1, rtol=1e-12, atol=1e-15)


@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 1e-14), (np.float32, 1e-5, 1e-6)])
@pytest.mark.parametrize("problem", PROBLEMS)
def test_seed_001_one_step_matches_the_column_major_class(problem, dtype, rtol, atol):
    seed_net, X, Y = seed_001_problem(problem)
    net = fastprop_copy(seed_net, dtype)
    weights, biases = [seed_net.W1.tolist(), seed_net.W2.tolist()], [
        seed_net.b1.ravel().tolist(), seed_net.b2.ravel().tolist()]

    seed_net.forward(X.T)                      # samples as columns
    seed_net.backward(X.T, Y.T, learning_rate=0.1)
    net.step(X.astype(dtype), Y.astype(dtype), 0.1)   # samples as rows, sse: summed
    assert_same_parameters(net, seed_net, rtol, atol)

    new_weights, new_biases, _ = reference.step(weights, biases, X.tolist(), Y.tolist(), 0.1)
    for got, want in zip(new_weights + new_biases,
                         [seed_net.W1, seed_net.W2, seed_net.b1.ravel(), seed_net.b2.ravel()]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.usefixtures("matmul_path")
@pytest.mark.parametrize("problem", PROBLEMS)
def test_seed_001_full_batch_training_matches_the_column_major_class(problem):
    seed_net, X, Y = seed_001_problem(problem)
    net = fastprop_copy(seed_net)
    seed_net.train(X.T, Y.T, epochs=200, learning_rate=0.1)
    losses = net.fit(X, Y, epochs=200, lr=0.1, batch_size=None, shuffle=False)
    assert len(losses) == 200
    # 200 full-batch steps, each agreeing to rounding: the difference grows only
    # by rounding, far below 1e-10.
    assert_same_parameters(net, seed_net, rtol=1e-10, atol=1e-12)
