"""The textbook: backpropagation for dense networks in plain Python.

Everything here is written with Python floats, lists of lists and ``math.exp``
(no NumPy), one formula per function, so that it can be read next to the
tutorials of docs/worked-examples.md and used to check the compiled kernels
number for number.

Notation (as in CONTRIBUTING.md): samples are rows, so ``X`` is a list of
``n_samples`` rows of ``n_in`` floats; the weights of a layer are a list of
``n_out`` rows of ``n_in`` floats and its biases a list of ``n_out`` floats.
``A[0] = X`` and ``A[l] = f(A[l-1] Wₗᵀ + bₗ)``, f the sigmoid σ unless another
activation is named (the tutorials' networks are sigmoid everywhere).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeAlias, cast

# Plain Python numbers: a vector is a list of floats, a matrix a list of rows.
Vector: TypeAlias = list[float]
Matrix: TypeAlias = list[list[float]]
Rows: TypeAlias = Sequence[Sequence[float]]

LOSSES = ("sse", "mse", "bce", "cross_entropy")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")     # hidden layers
OUTPUTS = ("sigmoid", "identity", "softmax")               # the output layer
# The output each loss is defined with here (sse and mse: either).
LOSS_OUTPUTS = {"sse": ("sigmoid", "identity"), "mse": ("sigmoid", "identity"),
                "bce": ("sigmoid",), "cross_entropy": ("softmax",)}


def sigmoid(z: float) -> float:
    """σ(z) = 1 / (1 + e^(−z)), evaluated without overflow for any finite z.

    Parameters
    ----------
    z : float
        A pre-activation.

    Returns
    -------
    float
        σ(z), in [0, 1].

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.sigmoid(0.0)
    0.5
    >>> print(f"{reference.sigmoid(0.25):.9f}")
    0.562176501
    """
    # e^(−|z|) lies in (0, 1], so it never overflows; for z < 0 the identity
    # σ(z) = e^z / (1 + e^z) = e·s gives the same value. The compiled kernel uses
    # exactly this formula, so both agree to rounding.
    e = math.exp(-abs(z))
    s = 1.0 / (1.0 + e)
    return s if z >= 0 else e * s


def activation(name: str, z: float) -> float:
    """f(z) for a hidden layer's function: σ(z), tanh(z), max(z, 0) or z.

    Parameters
    ----------
    name : {"sigmoid", "tanh", "relu", "identity"}
        The function.
    z : float
        A pre-activation.

    Returns
    -------
    float
        f(z).

    Raises
    ------
    ValueError
        If ``name`` is not one of the four.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.activation("relu", -2.0), reference.activation("identity", -2.0)
    (0.0, -2.0)
    """
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    if name == "identity":
        return z
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def derivative_from_output(name: str, a: float) -> float:
    """f'(z) from a = f(z): a·(1 − a) for σ, 1 − a² for tanh, 1 if a > 0 else 0 for relu
    (so 0 at z = 0), 1 for the identity.

    Parameters
    ----------
    name : {"sigmoid", "tanh", "relu", "identity"}
        The function f.
    a : float
        Its value f(z).

    Returns
    -------
    float
        f'(z).

    Raises
    ------
    ValueError
        If ``name`` is not one of the four.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.derivative_from_output("sigmoid", 0.5)
    0.25
    """
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return 1.0 if a > 0 else 0.0
    if name == "identity":
        return 1.0
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def softmax(z_row: Sequence[float]) -> Vector:
    """softmax(z)ⱼ = e^(zⱼ − m) / Σₖ e^(zₖ − m), m = max z (the same value, without overflow).

    Parameters
    ----------
    z_row : sequence of float, of length n_outputs
        One sample's pre-activations.

    Returns
    -------
    list of float, of length n_outputs
        Probabilities summing to 1.

    Examples
    --------
    >>> from fastprop import reference
    >>> [round(p, 6) for p in reference.softmax([1.0, 2.0, 3.0])]
    [0.090031, 0.244728, 0.665241]
    """
    m = max(z_row)
    exps = [math.exp(z - m) for z in z_row]
    total = sum(exps)
    return [e / total for e in exps]


def dense_forward(A_in: Rows, W: Rows, b: Sequence[float],
                  activation_name: str = "sigmoid") -> Matrix:
    """A_out[i][j] = f(Σₖ A_in[i][k]·W[j][k] + b[j]); for "softmax", each row's softmax.

    Parameters
    ----------
    A_in : list of rows, shape (n_samples, n_in)
        The layer's inputs, samples as rows.
    W : list of rows, shape (n_out, n_in)
        The layer's weights.
    b : list of float, shape (n_out,)
        The layer's biases.
    activation_name : str, default "sigmoid"
        "sigmoid", "tanh", "relu", "identity" or "softmax".

    Returns
    -------
    list of rows, shape (n_samples, n_out)
        The layer's outputs.

    Raises
    ------
    ValueError
        If the lengths do not match, or the function is unknown.

    Examples
    --------
    >>> from fastprop import reference
    >>> A = reference.dense_forward([[0.05, 0.10]], [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35])
    >>> [round(a, 9) for a in A[0]]
    [0.593269992, 0.596884378]
    """
    Z = [[sum(w * a for w, a in zip(w_row, row, strict=True)) + b_j
          for w_row, b_j in zip(W, b, strict=True)]
         for row in A_in]
    if activation_name == "softmax":
        return [softmax(z_row) for z_row in Z]
    return [[activation(activation_name, z) for z in z_row] for z_row in Z]


def dense_sigmoid_forward(A_in: Rows, W: Rows, b: Sequence[float]) -> Matrix:
    """A_out[i][j] = σ(Σₖ A_in[i][k]·W[j][k] + b[j]): ``dense_forward`` with the sigmoid.

    Parameters
    ----------
    A_in : list of rows, shape (n_samples, n_in)
        The layer's inputs.
    W : list of rows, shape (n_out, n_in)
        The layer's weights.
    b : list of float, shape (n_out,)
        The layer's biases.

    Returns
    -------
    list of rows, shape (n_samples, n_out)
        The layer's outputs.

    Examples
    --------
    >>> from fastprop import reference
    >>> print(f"{reference.dense_sigmoid_forward([[0.5]], [[0.3]], [0.1])[0][0]:.9f}")
    0.562176501
    """
    return dense_forward(A_in, W, b, "sigmoid")


def output_delta(A: Rows, Y: Rows) -> Matrix:
    """δ_L = ∂L/∂z_L = (a − y)·a·(1 − a), for L = ½ Σ (y − a)² and a sigmoid output.

    Parameters
    ----------
    A : list of rows, shape (n_samples, n_outputs)
        The network's outputs.
    Y : list of rows, shape (n_samples, n_outputs)
        The targets.

    Returns
    -------
    list of rows, shape (n_samples, n_outputs)
        The output layer's delta.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.output_delta([[0.5]], [[1.0]])
    [[-0.125]]
    """
    # σ'(z) = σ(z)·(1 − σ(z)) = a·(1 − a): the derivative is taken from the
    # activation already computed in the forward pass, so z need not be kept.
    return [[(a - y) * a * (1.0 - a) for a, y in zip(a_row, y_row, strict=True)]
            for a_row, y_row in zip(A, Y, strict=True)]


def sse(A: Rows, Y: Rows) -> float:
    """L = ½ Σᵢ Σⱼ (y[i][j] − a[i][j])².

    Parameters
    ----------
    A : list of rows, shape (n_samples, n_outputs)
        The network's outputs.
    Y : list of rows, shape (n_samples, n_outputs)
        The targets.

    Returns
    -------
    float
        Half the sum of squared errors.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.sse([[0.5, 1.0]], [[1.0, 0.0]])
    0.625
    """
    return 0.5 * sum((y - a) ** 2
                     for a_row, y_row in zip(A, Y, strict=True)
                     for a, y in zip(a_row, y_row, strict=True))


def bce(Z: Rows, Y: Rows) -> float:
    """L = Σᵢ Σⱼ −[y log σ(z) + (1 − y) log(1 − σ(z))] = Σ max(z, 0) − z·y + log(1 + e^(−|z|)),
    from the output layer's z (the second form has no log 0 and no overflow).

    Parameters
    ----------
    Z : list of rows, shape (n_samples, n_outputs)
        The output layer's pre-activations.
    Y : list of rows, shape (n_samples, n_outputs)
        The targets, in [0, 1].

    Returns
    -------
    float
        The binary cross-entropy summed over samples and outputs.

    Examples
    --------
    >>> from fastprop import reference
    >>> print(f"{reference.bce([[0.0]], [[1.0]]):.6f}")
    0.693147
    """
    return sum(max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
               for z_row, y_row in zip(Z, Y, strict=True)
               for z, y in zip(z_row, y_row, strict=True))


def cross_entropy(Z: Rows, Y: Rows) -> float:
    """L = Σᵢ −Σⱼ y[i][j]·log softmax(z[i])ⱼ, with log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m).

    Parameters
    ----------
    Z : list of rows, shape (n_samples, n_outputs)
        The output layer's pre-activations.
    Y : list of rows, shape (n_samples, n_outputs)
        One-hot or probability rows.

    Returns
    -------
    float
        The categorical cross-entropy summed over samples.

    Examples
    --------
    >>> from fastprop import reference
    >>> print(f"{reference.cross_entropy([[0.0, 0.0]], [[1.0, 0.0]]):.6f}")
    0.693147
    """
    total = 0.0
    for z_row, y_row in zip(Z, Y, strict=True):
        m = max(z_row)
        log_total = math.log(sum(math.exp(z - m) for z in z_row))
        total -= sum(y * (z - m - log_total) for z, y in zip(z_row, y_row, strict=True) if y)
    return total


def hidden_delta(delta_next: Rows, W_next: Rows, A: Rows,
                 activation_name: str = "sigmoid") -> Matrix:
    """δ_l[i][k] = (Σⱼ δ_{l+1}[i][j]·W_{l+1}[j][k])·f'(z[i][k]), f' from a = f(z): for σ,
    a[i][k]·(1 − a[i][k]).

    Parameters
    ----------
    delta_next : list of rows, shape (n_samples, n_next)
        The next layer's delta.
    W_next : list of rows, shape (n_next, n_units)
        The next layer's weights.
    A : list of rows, shape (n_samples, n_units)
        This layer's outputs.
    activation_name : str, default "sigmoid"
        This layer's function.

    Returns
    -------
    list of rows, shape (n_samples, n_units)
        This layer's delta.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.hidden_delta([[1.0]], [[2.0]], [[0.5]])
    [[0.5]]
    """
    return [
        [sum(d * W_next[j][k] for j, d in enumerate(d_row))
         * derivative_from_output(activation_name, a)
         for k, a in enumerate(a_row)]
        for d_row, a_row in zip(delta_next, A, strict=True)
    ]


def weight_gradient(delta: Rows, A_prev: Rows) -> tuple[Matrix, Vector]:
    """∂L/∂W[j][k] = Σᵢ δ[i][j]·A_prev[i][k];  ∂L/∂b[j] = Σᵢ δ[i][j].

    Parameters
    ----------
    delta : list of rows, shape (n_samples, n_out)
        The layer's delta.
    A_prev : list of rows, shape (n_samples, n_in)
        The layer's inputs.

    Returns
    -------
    grad_W : list of rows, shape (n_out, n_in)
        ∂L/∂W.
    grad_b : list of float, shape (n_out,)
        ∂L/∂b.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.weight_gradient([[1.0], [2.0]], [[0.5, 1.0], [0.25, 0.0]])
    ([[1.0, 1.0]], [3.0])
    """
    n_out, n_in = len(delta[0]), len(A_prev[0])
    pairs = list(zip(delta, A_prev, strict=True))
    grad_W = [[sum(d_row[j] * a_row[k] for d_row, a_row in pairs) for k in range(n_in)]
              for j in range(n_out)]
    grad_b = [sum(d_row[j] for d_row in delta) for j in range(n_out)]
    return grad_W, grad_b


def sgd_update(param: Sequence[float] | Rows, grad: Sequence[float] | Rows,
               lr: float) -> Vector | Matrix:
    """θ_new = θ − α·∂L/∂θ, for θ a vector or a matrix (list of rows).

    Parameters
    ----------
    param : list of float, or list of rows
        θ.
    grad : list of float, or list of rows
        ∂L/∂θ, of θ's shape.
    lr : float
        α, the learning rate.

    Returns
    -------
    list of float, or list of rows
        θ − α·∂L/∂θ, of θ's shape.

    Examples
    --------
    >>> from fastprop import reference
    >>> reference.sgd_update([1.0, 2.0], [0.5, -1.0], 0.5)
    [0.75, 2.5]
    """
    return _elementwise(lambda p, g: p - lr * g, param, grad)


def _layer_functions(n_layers: int, activation: str | Sequence[str], output: str) -> list[str]:
    """Each layer's function: activation (one name, or one per hidden layer), then output."""
    hidden = [activation] * (n_layers - 1) if isinstance(activation, str) else list(activation)
    if len(hidden) != n_layers - 1:
        raise ValueError(f"activation needs {n_layers - 1} names, one per hidden layer")
    return hidden + [output]


def forward(weights: Sequence[Rows], biases: Sequence[Sequence[float]], X: Rows,
            activation: str | Sequence[str] = "sigmoid", output: str = "sigmoid") -> list[Matrix]:
    """[A_0, A_1, …, A_L] with A_0 = X and A_l = f_l(A_{l-1} W_lᵀ + b_l).

    Parameters
    ----------
    weights : list of matrices, each of shape (n_out, n_in)
        One weight matrix per layer.
    biases : list of vectors, each of shape (n_out,)
        One bias vector per layer.
    X : list of rows, shape (n_samples, n_inputs)
        The samples.
    activation : str or list of str, default "sigmoid"
        The hidden layers' function, or one per hidden layer.
    output : str, default "sigmoid"
        The output layer's function.

    Returns
    -------
    list of matrices
        Every layer's outputs, the inputs first: ``A[l]`` of shape (n_samples, sizes[l]).

    Raises
    ------
    ValueError
        If the shapes do not match, or a function is unknown.

    Examples
    --------
    >>> from fastprop import examples, reference
    >>> example = examples.seed_002()
    >>> A = reference.forward(example.weights, example.biases, [example.x])
    >>> print(f"{A[-1][0][0]:.9f}")
    0.751365070
    """
    functions = _layer_functions(len(weights), activation, output)
    activations = [[[float(v) for v in row] for row in X]]
    for W, b, name in zip(weights, biases, functions, strict=True):
        activations.append(dense_forward(activations[-1], W, b, name))
    return activations


def _batch_scale(loss_name: str, n_samples: int) -> float:
    """1 for "sse" (summed over the batch), 1/n for the others (averaged)."""
    if loss_name == "sse":
        return 1.0
    if loss_name in LOSSES:
        return 1.0 / n_samples
    raise ValueError(f"unknown loss {loss_name!r}; expected one of {LOSSES}")


def _output_z(weights: Sequence[Rows], biases: Sequence[Sequence[float]],
              A_before_output: Rows) -> Matrix:
    """The output layer's z = A_{L-1} W_Lᵀ + b_L."""
    return dense_forward(A_before_output, weights[-1], biases[-1], "identity")


def _summed_loss(loss_name: str, weights: Sequence[Rows], biases: Sequence[Sequence[float]],
                 A: Sequence[Rows], Y: Rows) -> float:
    """The loss summed over the batch: ½ Σ (y − a)² for sse and mse, else from z."""
    if loss_name in ("sse", "mse"):
        return sse(A[-1], Y)
    Z = _output_z(weights, biases, A[-2])
    return bce(Z, Y) if loss_name == "bce" else cross_entropy(Z, Y)


def _output_delta(loss_name: str, output: str, A_out: Rows, Y: Rows) -> Matrix:
    """δ_L = ∂L/∂z_L (before the batch's scale): (a − y)·f'(z) for sse and mse, and a − y
    for bce with σ and cross-entropy with the softmax (the output's derivative cancels)."""
    if loss_name in ("sse", "mse"):
        return [[(a - y) * derivative_from_output(output, a)
                 for a, y in zip(a_row, y_row, strict=True)]
                for a_row, y_row in zip(A_out, Y, strict=True)]
    return [[a - y for a, y in zip(a_row, y_row, strict=True)]
            for a_row, y_row in zip(A_out, Y, strict=True)]


def _check_pair(loss_name: str, output: str) -> None:
    if loss_name not in LOSS_OUTPUTS:
        raise ValueError(f"unknown loss {loss_name!r}; expected one of {LOSSES}")
    if output not in LOSS_OUTPUTS[loss_name]:
        raise ValueError(f"loss {loss_name!r} takes output {LOSS_OUTPUTS[loss_name]}, "
                         f"got {output!r}")


def loss(weights: Sequence[Rows], biases: Sequence[Sequence[float]], X: Rows, Y: Rows,
         loss: str = "sse", activation: str | Sequence[str] = "sigmoid",
         output: str = "sigmoid") -> float:
    """The network's loss on (X, Y).

    "sse": L = ½ Σ (y − ŷ)²; "mse": the same divided by the number of samples; "bce",
    "cross_entropy": their sums above divided by the number of samples.

    Parameters
    ----------
    weights : list of list of list of float
        One weight matrix per layer, input side first, each a list of ``n_out`` rows of
        ``n_in`` floats.
    biases : list of list of float
        One bias vector per layer, each a list of ``n_out`` floats.
    X : list of list of float
        The samples: ``n_samples`` rows of ``n_inputs`` floats.
    Y : list of list of float
        The targets: ``n_samples`` rows of ``n_outputs`` floats.
    loss : {"sse", "mse", "bce", "cross_entropy"}, default "sse"
        The loss; "sse" and "mse" go with a sigmoid or identity output, "bce" with a
        sigmoid output and "cross_entropy" with a softmax output.
    activation : str or list of str, default "sigmoid"
        The hidden layers' function ("sigmoid", "tanh", "relu" or "identity"), or one
        per hidden layer.
    output : {"sigmoid", "identity", "softmax"}, default "sigmoid"
        The output layer's function.

    Returns
    -------
    float
        L.

    Raises
    ------
    ValueError
        If the loss is unknown, or does not go with ``output``.

    Examples
    --------
    >>> from fastprop import examples, reference
    >>> example = examples.seed_002()
    >>> L = reference.loss(example.weights, example.biases, [example.x], [example.y])
    >>> print(f"{L:.9f}")
    0.274811083
    """
    _check_pair(loss, output)
    scale = _batch_scale(loss, len(X))
    A = forward(weights, biases, X, activation, output)
    return scale * _summed_loss(loss, weights, biases, A, Y)


def _loss_and_gradients(weights: Sequence[Rows], biases: Sequence[Sequence[float]], X: Rows,
                        Y: Rows, loss_name: str, activation: str | Sequence[str] = "sigmoid",
                        output: str = "sigmoid") -> tuple[float, list[Matrix], list[Vector]]:
    """L and (∂L/∂W_l, ∂L/∂b_l) for every layer, backpropagating δ from the output."""
    _check_pair(loss_name, output)
    functions = _layer_functions(len(weights), activation, output)
    scale = _batch_scale(loss_name, len(X))
    A = forward(weights, biases, X, activation, output)
    loss_value = scale * _summed_loss(loss_name, weights, biases, A, Y)
    delta = _output_delta(loss_name, output, A[-1], Y)
    grads_W: list[Matrix] = []
    grads_b: list[Vector] = []
    for layer in reversed(range(len(weights))):
        grad_W, grad_b = weight_gradient(delta, A[layer])
        grads_W.insert(0, [[scale * g for g in row] for row in grad_W])
        grads_b.insert(0, [scale * g for g in grad_b])
        if layer > 0:
            delta = hidden_delta(delta, weights[layer], A[layer], functions[layer - 1])
    return loss_value, grads_W, grads_b


def gradients(weights: Sequence[Rows], biases: Sequence[Sequence[float]], X: Rows, Y: Rows,
              loss: str = "sse", activation: str | Sequence[str] = "sigmoid",
              output: str = "sigmoid") -> tuple[list[Matrix], list[Vector]]:
    """(∂L/∂W_l, ∂L/∂b_l) for every layer: ∂L/∂W_l = δ_lᵀ A_{l-1}, ∂L/∂b_l = Σᵢ δ_l[i].

    Parameters
    ----------
    weights : list of list of list of float
        One weight matrix per layer, input side first, each a list of ``n_out`` rows of
        ``n_in`` floats.
    biases : list of list of float
        One bias vector per layer, each a list of ``n_out`` floats.
    X : list of list of float
        The samples: ``n_samples`` rows of ``n_inputs`` floats.
    Y : list of list of float
        The targets: ``n_samples`` rows of ``n_outputs`` floats.
    loss : {"sse", "mse", "bce", "cross_entropy"}, default "sse"
        The loss; "sse" and "mse" go with a sigmoid or identity output, "bce" with a
        sigmoid output and "cross_entropy" with a softmax output.
    activation : str or list of str, default "sigmoid"
        The hidden layers' function ("sigmoid", "tanh", "relu" or "identity"), or one
        per hidden layer.
    output : {"sigmoid", "identity", "softmax"}, default "sigmoid"
        The output layer's function.

    Returns
    -------
    grads_W : list of matrices, each of shape (n_out, n_in)
        ∂L/∂W, layer by layer.
    grads_b : list of vectors, each of shape (n_out,)
        ∂L/∂b, layer by layer.

    Raises
    ------
    ValueError
        As :func:`loss`.

    Examples
    --------
    >>> from fastprop import examples, reference
    >>> example = examples.seed_002()
    >>> grads_W, grads_b = reference.gradients(example.weights, example.biases,
    ...                                        [example.x], [example.y])
    >>> print(f"{grads_W[1][0][0]:.9f}")  # ∂L/∂w5 in the tutorial
    0.082167041
    """
    _, grads_W, grads_b = _loss_and_gradients(weights, biases, X, Y, loss, activation, output)
    return grads_W, grads_b


def step(weights: Sequence[Rows], biases: Sequence[Sequence[float]], X: Rows, Y: Rows,
         lr: float, loss: str = "sse", activation: str | Sequence[str] = "sigmoid",
         output: str = "sigmoid") -> tuple[list[Matrix], list[Vector], float]:
    """One gradient-descent step θ_new = θ − α·∂L/∂θ.

    Parameters
    ----------
    weights : list of list of list of float
        One weight matrix per layer, input side first, each a list of ``n_out`` rows of
        ``n_in`` floats.
    biases : list of list of float
        One bias vector per layer, each a list of ``n_out`` floats.
    X : list of list of float
        The samples: ``n_samples`` rows of ``n_inputs`` floats.
    Y : list of list of float
        The targets: ``n_samples`` rows of ``n_outputs`` floats.
    lr : float
        α, the learning rate.
    loss : {"sse", "mse", "bce", "cross_entropy"}, default "sse"
        The loss; "sse" and "mse" go with a sigmoid or identity output, "bce" with a
        sigmoid output and "cross_entropy" with a softmax output.
    activation : str or list of str, default "sigmoid"
        The hidden layers' function ("sigmoid", "tanh", "relu" or "identity"), or one
        per hidden layer.
    output : {"sigmoid", "identity", "softmax"}, default "sigmoid"
        The output layer's function.

    Returns
    -------
    new_weights : list of matrices
        The weights after the step.
    new_biases : list of vectors
        The biases after the step.
    loss_before : float
        L before the step.

    Raises
    ------
    ValueError
        As :func:`loss`.

    Examples
    --------
    >>> from fastprop import examples, reference
    >>> example = examples.seed_002()
    >>> weights, biases, L = reference.step(example.weights, example.biases,
    ...                                     [example.x], [example.y], example.lr)
    >>> print(f"{weights[1][0][0]:.9f}")  # w5 after the step
    0.358916480
    """
    loss_before, grads_W, grads_b = _loss_and_gradients(weights, biases, X, Y, loss, activation,
                                                        output)
    new_weights = [cast(Matrix, sgd_update(W, g, lr))
                   for W, g in zip(weights, grads_W, strict=True)]
    new_biases = [cast(Vector, sgd_update(b, g, lr)) for b, g in zip(biases, grads_b, strict=True)]
    return new_weights, new_biases, loss_before


# --- optimizers: one update of a parameter θ (a vector or a matrix) from its gradient g -----

def _elementwise(function: Callable[..., float], *arrays: Sequence[float] | Rows
                 ) -> Vector | Matrix:
    """function applied element by element to vectors or matrices (lists of rows)."""
    if arrays[0] and isinstance(arrays[0][0], (list, tuple)):
        return [cast(Vector, _elementwise(function, *rows))
                for rows in zip(*arrays, strict=True)]
    return [function(*values) for values in zip(*arrays, strict=True)]


def sgd_update_with_momentum(param: Sequence[float] | Rows, grad: Sequence[float] | Rows,
                             buffer: Sequence[float] | Rows | None, lr: float,
                             momentum: float = 0.0, nesterov: bool = False,
                             weight_decay: float = 0.0
                             ) -> tuple[Vector | Matrix, Sequence[float] | Rows | None]:
    """(θ, b) after one step of SGD as torch.optim.SGD (dampening 0).

    g ← g + λθ;  b ← g on the first step (buffer None), μb + g after;
    g ← g + μb with Nesterov momentum, b without;  θ ← θ − αg.

    Parameters
    ----------
    param : list of float, or list of rows
        θ.
    grad : list of float, or list of rows
        g, of θ's shape.
    buffer : list of float, list of rows, or None
        The momentum buffer b (None before the first step).
    lr : float
        α.
    momentum : float, default 0
        μ (0: no buffer).
    nesterov : bool, default False
        Nesterov momentum.
    weight_decay : float, default 0
        λ.

    Returns
    -------
    param : list of float, or list of rows
        θ after the step.
    buffer : list of float, list of rows, or None
        b after the step (None without momentum).

    Examples
    --------
    >>> from fastprop import reference
    >>> param, buffer = reference.sgd_update_with_momentum([1.0], [1.0], None, 0.1, momentum=0.9)
    >>> param, buffer
    ([0.9], [1.0])
    >>> param, buffer = reference.sgd_update_with_momentum(param, [1.0], buffer, 0.1, momentum=0.9)
    >>> [round(p, 12) for p in param], buffer
    ([0.71], [1.9])
    """
    grad = _elementwise(lambda g, p: g + weight_decay * p, grad, param)
    if momentum == 0:
        return _elementwise(lambda p, g: p - lr * g, param, grad), None
    buffer = grad if buffer is None else _elementwise(lambda b, g: momentum * b + g, buffer, grad)
    direction = (_elementwise(lambda g, b: g + momentum * b, grad, buffer) if nesterov
                 else buffer)
    return _elementwise(lambda p, d: p - lr * d, param, direction), buffer


def adam_update(param: Sequence[float] | Rows, grad: Sequence[float] | Rows,
                m: Sequence[float] | Rows, v: Sequence[float] | Rows, t: int, lr: float,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                weight_decay: float = 0.0) -> tuple[Vector | Matrix, Vector | Matrix,
                                                    Vector | Matrix]:
    """(θ, m, v) after step t (from 1) of Adam with decoupled weight decay, as torch.optim.AdamW.

    θ ← θ(1 − αλ);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    θ ← θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).

    Parameters
    ----------
    param : list of float, or list of rows
        θ.
    grad : list of float, or list of rows
        g, of θ's shape.
    m, v : list of float, or list of rows
        The first and second moments (zeros before the first step).
    t : int
        The step, counting from 1.
    lr : float
        α.
    beta1, beta2 : float
        β₁ and β₂.
    eps : float
        ε.
    weight_decay : float
        λ.

    Returns
    -------
    param, m, v : list of float, or list of rows
        θ, m and v after the step.

    Examples
    --------
    >>> from fastprop import reference
    >>> param, m, v = reference.adam_update([1.0], [0.5], [0.0], [0.0], t=1, lr=0.1)
    >>> print(f"{param[0]:.6f}")  # the first step moves each θ by about lr
    0.900000
    """
    param = _elementwise(lambda p: p * (1 - lr * weight_decay), param)
    m = _elementwise(lambda m_, g: beta1 * m_ + (1 - beta1) * g, m, grad)
    v = _elementwise(lambda v_, g: beta2 * v_ + (1 - beta2) * g * g, v, grad)
    correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
    param = _elementwise(
        lambda p, m_, v_: p - lr / correction1 * m_ / (math.sqrt(v_) / math.sqrt(correction2)
                                                       + eps), param, m, v)
    return param, m, v
