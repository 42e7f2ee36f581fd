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
import math

LOSSES = ("sse", "mse", "bce", "cross_entropy")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")     # hidden layers
OUTPUTS = ("sigmoid", "identity", "softmax")               # the output layer
# The output each loss is defined with here (sse and mse: either).
LOSS_OUTPUTS = {"sse": ("sigmoid", "identity"), "mse": ("sigmoid", "identity"),
                "bce": ("sigmoid",), "cross_entropy": ("softmax",)}


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), evaluated without overflow for any finite z."""
    # e^(−|z|) lies in (0, 1], so it never overflows; for z < 0 the identity
    # σ(z) = e^z / (1 + e^z) = e·s gives the same value. The compiled kernel uses
    # exactly this formula, so both agree to rounding.
    e = math.exp(-abs(z))
    s = 1.0 / (1.0 + e)
    return s if z >= 0 else e * s


def activation(name, z):
    """f(z) for a hidden layer's function: σ(z), tanh(z), max(z, 0) or z."""
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    if name == "identity":
        return z
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def derivative_from_output(name, a):
    """f'(z) from a = f(z): a·(1 − a) for σ, 1 − a² for tanh, 1 if a > 0 else 0 for relu
    (so 0 at z = 0), 1 for the identity."""
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return 1.0 if a > 0 else 0.0
    if name == "identity":
        return 1.0
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def softmax(z_row):
    """softmax(z)ⱼ = e^(zⱼ − m) / Σₖ e^(zₖ − m), m = max z (the same value, without overflow)."""
    m = max(z_row)
    exps = [math.exp(z - m) for z in z_row]
    total = sum(exps)
    return [e / total for e in exps]


def dense_forward(A_in, W, b, activation_name="sigmoid"):
    """A_out[i][j] = f(Σₖ A_in[i][k]·W[j][k] + b[j]); for "softmax", each row's softmax."""
    Z = [[sum(w * a for w, a in zip(w_row, row, strict=True)) + b_j
          for w_row, b_j in zip(W, b, strict=True)]
         for row in A_in]
    if activation_name == "softmax":
        return [softmax(z_row) for z_row in Z]
    return [[activation(activation_name, z) for z in z_row] for z_row in Z]


def dense_sigmoid_forward(A_in, W, b):
    """A_out[i][j] = σ(Σₖ A_in[i][k]·W[j][k] + b[j])."""
    return dense_forward(A_in, W, b, "sigmoid")


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


def bce(Z, Y):
    """L = Σᵢ Σⱼ −[y log σ(z) + (1 − y) log(1 − σ(z))] = Σ max(z, 0) − z·y + log(1 + e^(−|z|)),
    from the output layer's z (the second form has no log 0 and no overflow)."""
    return sum(max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
               for z_row, y_row in zip(Z, Y, strict=True)
               for z, y in zip(z_row, y_row, strict=True))


def cross_entropy(Z, Y):
    """L = Σᵢ −Σⱼ y[i][j]·log softmax(z[i])ⱼ, with log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m)."""
    total = 0.0
    for z_row, y_row in zip(Z, Y, strict=True):
        m = max(z_row)
        log_total = math.log(sum(math.exp(z - m) for z in z_row))
        total -= sum(y * (z - m - log_total) for z, y in zip(z_row, y_row, strict=True) if y)
    return total


def hidden_delta(delta_next, W_next, A, activation_name="sigmoid"):
    """δ_l[i][k] = (Σⱼ δ_{l+1}[i][j]·W_{l+1}[j][k])·f'(z[i][k]), f' from a = f(z): for σ,
    a[i][k]·(1 − a[i][k])."""
    return [
        [sum(d * W_next[j][k] for j, d in enumerate(d_row))
         * derivative_from_output(activation_name, a)
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


def _layer_functions(n_layers, activation, output):
    """Each layer's function: activation (one name, or one per hidden layer), then output."""
    hidden = [activation] * (n_layers - 1) if isinstance(activation, str) else list(activation)
    if len(hidden) != n_layers - 1:
        raise ValueError(f"activation needs {n_layers - 1} names, one per hidden layer")
    return hidden + [output]


def forward(weights, biases, X, activation="sigmoid", output="sigmoid"):
    """[A_0, A_1, …, A_L] with A_0 = X and A_l = f_l(A_{l-1} W_lᵀ + b_l)."""
    functions = _layer_functions(len(weights), activation, output)
    activations = [[[float(v) for v in row] for row in X]]
    for W, b, name in zip(weights, biases, functions, strict=True):
        activations.append(dense_forward(activations[-1], W, b, name))
    return activations


def _batch_scale(loss_name, n_samples):
    """1 for "sse" (summed over the batch), 1/n for the others (averaged)."""
    if loss_name == "sse":
        return 1.0
    if loss_name in LOSSES:
        return 1.0 / n_samples
    raise ValueError(f"unknown loss {loss_name!r}; expected one of {LOSSES}")


def _output_z(weights, biases, A_before_output):
    """The output layer's z = A_{L-1} W_Lᵀ + b_L."""
    return dense_forward(A_before_output, weights[-1], biases[-1], "identity")


def _summed_loss(loss_name, weights, biases, A, Y):
    """The loss summed over the batch: ½ Σ (y − a)² for sse and mse, else from z."""
    if loss_name in ("sse", "mse"):
        return sse(A[-1], Y)
    Z = _output_z(weights, biases, A[-2])
    return bce(Z, Y) if loss_name == "bce" else cross_entropy(Z, Y)


def _output_delta(loss_name, output, A_out, Y):
    """δ_L = ∂L/∂z_L (before the batch's scale): (a − y)·f'(z) for sse and mse, and a − y
    for bce with σ and cross-entropy with the softmax (the output's derivative cancels)."""
    if loss_name in ("sse", "mse"):
        return [[(a - y) * derivative_from_output(output, a)
                 for a, y in zip(a_row, y_row, strict=True)]
                for a_row, y_row in zip(A_out, Y, strict=True)]
    return [[a - y for a, y in zip(a_row, y_row, strict=True)]
            for a_row, y_row in zip(A_out, Y, strict=True)]


def _check_pair(loss_name, output):
    if loss_name not in LOSS_OUTPUTS:
        raise ValueError(f"unknown loss {loss_name!r}; expected one of {LOSSES}")
    if output not in LOSS_OUTPUTS[loss_name]:
        raise ValueError(f"loss {loss_name!r} takes output {LOSS_OUTPUTS[loss_name]}, "
                         f"got {output!r}")


def loss(weights, biases, X, Y, loss="sse", activation="sigmoid", output="sigmoid"):
    """"sse": L = ½ Σ (y − ŷ)²; "mse": the same divided by the number of samples; "bce",
    "cross_entropy": their sums above divided by the number of samples."""
    _check_pair(loss, output)
    scale = _batch_scale(loss, len(X))
    A = forward(weights, biases, X, activation, output)
    return scale * _summed_loss(loss, weights, biases, A, Y)


def _loss_and_gradients(weights, biases, X, Y, loss_name, activation="sigmoid",
                        output="sigmoid"):
    """L and (∂L/∂W_l, ∂L/∂b_l) for every layer, backpropagating δ from the output."""
    _check_pair(loss_name, output)
    functions = _layer_functions(len(weights), activation, output)
    scale = _batch_scale(loss_name, len(X))
    A = forward(weights, biases, X, activation, output)
    loss_value = scale * _summed_loss(loss_name, weights, biases, A, Y)
    delta = _output_delta(loss_name, output, A[-1], Y)
    grads_W, grads_b = [], []
    for layer in reversed(range(len(weights))):
        grad_W, grad_b = weight_gradient(delta, A[layer])
        grads_W.insert(0, [[scale * g for g in row] for row in grad_W])
        grads_b.insert(0, [scale * g for g in grad_b])
        if layer > 0:
            delta = hidden_delta(delta, weights[layer], A[layer], functions[layer - 1])
    return loss_value, grads_W, grads_b


def gradients(weights, biases, X, Y, loss="sse", activation="sigmoid", output="sigmoid"):
    """(∂L/∂W_l, ∂L/∂b_l) for every layer: ∂L/∂W_l = δ_lᵀ A_{l-1}, ∂L/∂b_l = Σᵢ δ_l[i]."""
    _, grads_W, grads_b = _loss_and_gradients(weights, biases, X, Y, loss, activation, output)
    return grads_W, grads_b


def step(weights, biases, X, Y, lr, loss="sse", activation="sigmoid", output="sigmoid"):
    """One gradient-descent step θ_new = θ − α·∂L/∂θ; returns (weights, biases, L before)."""
    loss_before, grads_W, grads_b = _loss_and_gradients(weights, biases, X, Y, loss, activation,
                                                        output)
    new_weights = [sgd_update(W, g, lr) for W, g in zip(weights, grads_W, strict=True)]
    new_biases = [sgd_update(b, g, lr) for b, g in zip(biases, grads_b, strict=True)]
    return new_weights, new_biases, loss_before


# --- optimizers: one update of a parameter θ (a vector or a matrix) from its gradient g -----

def _elementwise(function, *arrays):
    """function applied element by element to vectors or matrices (lists of rows)."""
    if arrays[0] and isinstance(arrays[0][0], (list, tuple)):
        return [_elementwise(function, *rows) for rows in zip(*arrays, strict=True)]
    return [function(*values) for values in zip(*arrays, strict=True)]


def sgd_update_with_momentum(param, grad, buffer, lr, momentum=0.0, nesterov=False,
                             weight_decay=0.0):
    """(θ, b) after one step of SGD as torch.optim.SGD (dampening 0):
    g ← g + λθ;  b ← g on the first step (buffer None), μb + g after;
    g ← g + μb with Nesterov momentum, b without;  θ ← θ − αg."""
    grad = _elementwise(lambda g, p: g + weight_decay * p, grad, param)
    if momentum == 0:
        return _elementwise(lambda p, g: p - lr * g, param, grad), None
    buffer = grad if buffer is None else _elementwise(lambda b, g: momentum * b + g, buffer, grad)
    direction = (_elementwise(lambda g, b: g + momentum * b, grad, buffer) if nesterov
                 else buffer)
    return _elementwise(lambda p, d: p - lr * d, param, direction), buffer


def adam_update(param, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    """(θ, m, v) after step t (from 1) of Adam with decoupled weight decay, as
    torch.optim.AdamW: θ ← θ(1 − αλ);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    θ ← θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)."""
    param = _elementwise(lambda p: p * (1 - lr * weight_decay), param)
    m = _elementwise(lambda m_, g: beta1 * m_ + (1 - beta1) * g, m, grad)
    v = _elementwise(lambda v_, g: beta2 * v_ + (1 - beta2) * g * g, v, grad)
    correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
    param = _elementwise(
        lambda p, m_, v_: p - lr / correction1 * m_ / (math.sqrt(v_) / math.sqrt(correction2)
                                                       + eps), param, m, v)
    return param, m, v
