"""The textbook: backpropagation for dense sigmoid networks in plain Python.

Everything here is written with Python floats, lists of lists and ``math.exp``
(no NumPy), one formula per function, so that it can be read next to the
tutorials of docs/worked-examples.md and used to check the compiled kernels
number for number.

Notation (as in CONTRIBUTING.md): samples are rows, so ``X`` is a list of
``n_samples`` rows of ``n_in`` floats; the weights of a layer are a list of
``n_out`` rows of ``n_in`` floats and its biases a list of ``n_out`` floats.
``A[0] = X`` and ``A[l] = σ(A[l-1] Wₗᵀ + bₗ)``.
"""
import math

LOSSES = ("sse", "mse")


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), evaluated without overflow for any finite z."""
    # e^(−|z|) lies in (0, 1], so it never overflows; for z < 0 the identity
    # σ(z) = e^z / (1 + e^z) = e·s gives the same value. The compiled kernel uses
    # exactly this formula, so both agree to rounding.
    e = math.exp(-abs(z))
    s = 1.0 / (1.0 + e)
    return s if z >= 0 else e * s


def dense_sigmoid_forward(A_in, W, b):
    """A_out[i][j] = σ(Σₖ A_in[i][k]·W[j][k] + b[j])."""
    return [
        [sigmoid(sum(w * a for w, a in zip(w_row, row, strict=True)) + b_j)
         for w_row, b_j in zip(W, b, strict=True)]
        for row in A_in
    ]


def output_delta(A, Y):
    """δ_L = ∂L/∂z_L = (a − y)·a·(1 − a), for L = ½ Σ (y − a)²."""
    # σ'(z) = σ(z)·(1 − σ(z)) = a·(1 − a): the derivative is taken from the
    # activation already computed in the forward pass, so z need not be kept.
    return [[(a - y) * a * (1.0 - a) for a, y in zip(a_row, y_row, strict=True)]
            for a_row, y_row in zip(A, Y, strict=True)]


def sse(A, Y):
    """L = ½ Σᵢ Σⱼ (y[i][j] − a[i][j])²."""
    return 0.5 * sum((y - a) ** 2
                     for a_row, y_row in zip(A, Y, strict=True)
                     for a, y in zip(a_row, y_row, strict=True))


def hidden_delta(delta_next, W_next, A):
    """δ_l[i][k] = (Σⱼ δ_{l+1}[i][j]·W_{l+1}[j][k])·a[i][k]·(1 − a[i][k])."""
    return [
        [sum(d * W_next[j][k] for j, d in enumerate(d_row)) * a * (1.0 - a)
         for k, a in enumerate(a_row)]
        for d_row, a_row in zip(delta_next, A, strict=True)
    ]


def weight_gradient(delta, A_prev):
    """∂L/∂W[j][k] = Σᵢ δ[i][j]·A_prev[i][k];  ∂L/∂b[j] = Σᵢ δ[i][j]."""
    n_out, n_in = len(delta[0]), len(A_prev[0])
    pairs = list(zip(delta, A_prev, strict=True))
    grad_W = [[sum(d_row[j] * a_row[k] for d_row, a_row in pairs) for k in range(n_in)]
              for j in range(n_out)]
    grad_b = [sum(d_row[j] for d_row in delta) for j in range(n_out)]
    return grad_W, grad_b


def sgd_update(param, grad, lr):
    """θ_new = θ − α·∂L/∂θ, for θ a vector or a matrix (list of rows)."""
    if param and isinstance(param[0], (list, tuple)):
        return [sgd_update(p_row, g_row, lr) for p_row, g_row in zip(param, grad, strict=True)]
    return [p - lr * g for p, g in zip(param, grad, strict=True)]


def forward(weights, biases, X):
    """[A_0, A_1, …, A_L] with A_0 = X and A_l = σ(A_{l-1} W_lᵀ + b_l)."""
    activations = [[[float(v) for v in row] for row in X]]
    for W, b in zip(weights, biases, strict=True):
        activations.append(dense_sigmoid_forward(activations[-1], W, b))
    return activations


def _batch_scale(loss_name, n_samples):
    """1 for "sse" (summed over the batch), 1/n for "mse" (averaged)."""
    if loss_name == "sse":
        return 1.0
    if loss_name == "mse":
        return 1.0 / n_samples
    raise ValueError(f"unknown loss {loss_name!r}; expected one of {LOSSES}")


def loss(weights, biases, X, Y, loss="sse"):
    """"sse": L = ½ Σ (y − ŷ)²;  "mse": the same divided by the number of samples."""
    scale = _batch_scale(loss, len(X))
    return scale * sse(forward(weights, biases, X)[-1], Y)


def _loss_and_gradients(weights, biases, X, Y, loss_name):
    """L and (∂L/∂W_l, ∂L/∂b_l) for every layer, backpropagating δ from the output."""
    scale = _batch_scale(loss_name, len(X))
    A = forward(weights, biases, X)
    loss_value = scale * sse(A[-1], Y)
    delta = output_delta(A[-1], Y)
    grads_W, grads_b = [], []
    for layer in reversed(range(len(weights))):
        grad_W, grad_b = weight_gradient(delta, A[layer])
        grads_W.insert(0, [[scale * g for g in row] for row in grad_W])
        grads_b.insert(0, [scale * g for g in grad_b])
        if layer > 0:
            delta = hidden_delta(delta, weights[layer], A[layer])
    return loss_value, grads_W, grads_b


def gradients(weights, biases, X, Y, loss="sse"):
    """(∂L/∂W_l, ∂L/∂b_l) for every layer: ∂L/∂W_l = δ_lᵀ A_{l-1}, ∂L/∂b_l = Σᵢ δ_l[i]."""
    _, grads_W, grads_b = _loss_and_gradients(weights, biases, X, Y, loss)
    return grads_W, grads_b


def step(weights, biases, X, Y, lr, loss="sse"):
    """One gradient-descent step θ_new = θ − α·∂L/∂θ; returns (weights, biases, L before)."""
    loss_before, grads_W, grads_b = _loss_and_gradients(weights, biases, X, Y, loss)
    new_weights = [sgd_update(W, g, lr) for W, g in zip(weights, grads_W, strict=True)]
    new_biases = [sgd_update(b, g, lr) for b, g in zip(biases, grads_b, strict=True)]
    return new_weights, new_biases, loss_before
