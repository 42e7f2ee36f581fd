"""The JAX baseline: the same dense sigmoid network, plain SGD, compiled by XLA; for the
classification cases relu layers, the cross-entropy of the softmax (``jax.nn.log_softmax``)
on integer labels and Adam (torch's formulas, written out: no optax needed).

JAX is optional (``pip install '.[bench]'``): this module imports it only when a
network is built, so importing the module never needs jax.

The whole training is one ``jax.jit``-compiled call: each epoch is a
``jax.lax.scan`` over the full batches followed by one step on the short last
batch, if any (60 000 % 128 = 96 rows in cases C and D), and the epochs are a
``jax.lax.fori_loop`` around it, so even case A's 10 000 one-batch epochs never
return to Python. The compiled executable is built ahead of time from the
shapes alone, when the network is built (``compile_seconds``), so a timed
``train`` never compiles; it is cached per shape, dtype and loss. The data is
put on JAX's device (a copy: ``device_data``) before training, as the other
implementations get theirs in their input format before theirs.

The loss follows fastprop's convention (CONTRIBUTING.md): ``"sse"`` is
½ Σ (y − ŷ)² over the batch, ``"mse"`` the same divided by the batch size.
Gradients are ``jax.grad``'s; the sigmoid is ``jax.nn.sigmoid``.

float64 needs JAX's 64-bit mode, which is process-wide: building any network
here turns it on (``jax_enable_x64``), and every array is given its dtype
explicitly, so float32 networks stay float32.
"""
from __future__ import annotations

import functools
import time

import numpy as np


def jax_is_available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def _import_jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _batch_loss(parameters, X, Y, loss, activation="sigmoid"):
    import jax
    import jax.numpy as jnp

    weights, biases = parameters
    hidden = jax.nn.relu if activation == "relu" else jax.nn.sigmoid
    a = X
    for layer, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W.T + b
        a = hidden(z) if layer < len(weights) - 1 else z
    if loss == "cross_entropy":         # Y: labels
        log_probabilities = jax.nn.log_softmax(a, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_probabilities, Y[:, None], axis=1))
    half_sse = 0.5 * jnp.sum((jax.nn.sigmoid(a) - Y) ** 2)
    return half_sse / X.shape[0] if loss == "mse" else half_sse


def _sgd_step(state, X, Y, learning_rate, loss, activation, optimizer):
    """One step on the carried state: the parameters, or for Adam (parameters, m, v, t)."""
    import jax
    import jax.numpy as jnp

    if optimizer != "adam":
        gradients = jax.grad(_batch_loss)(state, X, Y, loss, activation)
        return jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, state, gradients)
    parameters, m, v, t = state
    gradients = jax.grad(_batch_loss)(parameters, X, Y, loss, activation)
    t = t + 1
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = jax.tree_util.tree_map(lambda m_, g: m_ + (1 - beta1) * (g - m_), m, gradients)
    v = jax.tree_util.tree_map(lambda v_, g: v_ * beta2 + (1 - beta2) * g * g, v, gradients)
    # the bias corrections in float64, as Python computes them for PyTorch, then the dtype's
    steps = t.astype(jnp.float64)
    step_size = (learning_rate / (1 - beta1 ** steps)).astype(learning_rate.dtype)
    correction = jnp.sqrt(1 - beta2 ** steps).astype(learning_rate.dtype)
    parameters = jax.tree_util.tree_map(
        lambda p, m_, v_: p - step_size * m_ / (jnp.sqrt(v_) / correction + eps), parameters, m, v)
    return parameters, m, v, t


def _training(state, X_batches, Y_batches, X_last, Y_last, learning_rate, *, epochs, loss,
              activation="sigmoid", optimizer="sgd"):
    """``epochs`` epochs: a scan over the full batches, then the short last batch (if it has rows)."""
    import jax

    def full_batch_step(state, batch):
        X, Y = batch
        return _sgd_step(state, X, Y, learning_rate, loss, activation, optimizer), None

    def epoch(_, state):
        if X_batches.shape[0]:
            state, _ = jax.lax.scan(full_batch_step, state, (X_batches, Y_batches))
        if X_last.shape[0]:
            state = _sgd_step(state, X_last, Y_last, learning_rate, loss, activation, optimizer)
        return state

    return jax.lax.fori_loop(0, epochs, epoch, state)


def split_into_batches(n_samples: int, batch_size: int) -> tuple[int, int]:
    """(number of full batches, rows of the short last batch, 0 if none)."""
    return n_samples // batch_size, n_samples % batch_size


@functools.lru_cache(maxsize=None)
def _compiled_training(layer_sizes: tuple[int, ...], dtype_name: str, n_samples: int, batch_size: int,
                       epochs: int, loss: str, activation: str = "sigmoid", optimizer: str = "sgd"):
    """The XLA executable of a whole training, and the seconds its compilation took."""
    jax = _import_jax()
    dtype = np.dtype(dtype_name)
    full_batches, last_rows = split_into_batches(n_samples, batch_size)
    n_in, n_out = layer_sizes[0], layer_sizes[-1]

    def shape(*dims, of=dtype):
        return jax.ShapeDtypeStruct(dims, of)

    parameters = ([shape(o, i) for i, o in zip(layer_sizes[:-1], layer_sizes[1:])],
                  [shape(o) for o in layer_sizes[1:]])
    state = (parameters, parameters, parameters, shape(of=np.int32)) if optimizer == "adam" \
        else parameters
    if loss == "cross_entropy":       # labels
        targets = shape(full_batches, batch_size, of=np.int32), shape(last_rows, of=np.int32)
    else:
        targets = shape(full_batches, batch_size, n_out), shape(last_rows, n_out)
    training = jax.jit(functools.partial(_training, epochs=epochs, loss=loss,
                                         activation=activation, optimizer=optimizer))
    start = time.perf_counter()
    compiled = training.lower(state, shape(full_batches, batch_size, n_in), targets[0],
                              shape(last_rows, n_in), targets[1], shape()).compile()
    return compiled, time.perf_counter() - start


class JaxScanNetwork:
    def __init__(self, weights, biases, loss="sse", dtype=np.float64, *, n_samples: int, batch_size: int,
                 epochs: int, activation: str = "sigmoid", optimizer: str = "sgd"):
        if loss not in ("sse", "mse", "cross_entropy"):
            raise ValueError(f"loss must be 'sse', 'mse' or 'cross_entropy', not {loss!r}")
        jax = _import_jax()
        self._jax = jax
        self.dtype = np.dtype(dtype)
        self.labels = loss == "cross_entropy"
        self.n_samples, self.batch_size, self.epochs = n_samples, min(batch_size or n_samples, n_samples), epochs
        layer_sizes = (weights[0].shape[1],) + tuple(W.shape[0] for W in weights)
        self._compiled, self.compile_seconds = _compiled_training(
            layer_sizes, self.dtype.name, n_samples, self.batch_size, epochs, loss, activation,
            optimizer)
        self._parameters = ([jax.numpy.asarray(W, dtype=self.dtype) for W in weights],
                            [jax.numpy.asarray(b, dtype=self.dtype) for b in biases])
        self._adam = optimizer == "adam"
        if self._adam:
            zeros = jax.tree_util.tree_map(jax.numpy.zeros_like, self._parameters)
            self._parameters = (self._parameters, zeros, zeros, jax.numpy.asarray(0, np.int32))

    def device_data(self, X, Y):
        """``X``, ``Y`` (NumPy, ``n_samples`` rows) on JAX's device, cut into the full batches and the
        short last one: JAX's own input format, the step before training (a copy, not timed)."""
        if len(X) != self.n_samples or len(Y) != self.n_samples:
            raise ValueError(f"compiled for {self.n_samples} samples, got {len(X)} and {len(Y)}")
        full_batches, _ = split_into_batches(self.n_samples, self.batch_size)
        split = full_batches * self.batch_size
        X_batches = X[:split].reshape(full_batches, self.batch_size, X.shape[1])
        if self.labels:
            Y = Y.astype(np.int32)
            Y_batches = Y[:split].reshape(full_batches, self.batch_size)
        else:
            Y_batches = Y[:split].reshape(full_batches, self.batch_size, Y.shape[1])
        return self._jax.block_until_ready(self._jax.device_put((X_batches, Y_batches, X[split:], Y[split:])))

    def train(self, X_batches, Y_batches, X_last, Y_last, learning_rate):
        """The whole training on data from ``device_data``, blocking until it is done."""
        trained = self._compiled(self._parameters, X_batches, Y_batches, X_last, Y_last,
                                 self._jax.numpy.asarray(learning_rate, dtype=self.dtype))
        self._parameters = self._jax.block_until_ready(trained)

    def parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        weights, biases = self._parameters[0] if self._adam else self._parameters
        return [np.array(W) for W in weights], [np.array(b) for b in biases]
