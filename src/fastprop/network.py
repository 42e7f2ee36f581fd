"""``fastprop.Network``: a dense network trained by backpropagation.

This layer validates and converts what users pass (``np.ascontiguousarray`` to the
network's dtype, a copy only when the layout or dtype differ), allocates the
buffers the kernels write into, and calls the compiled kernels of
``fastprop._kernels``, which run without the GIL. All checks happen before any
state changes, so a call that raises leaves the network exactly as it was.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, NoReturn, ParamSpec, TypeVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _kernels
from ._validation import (
    Callback,
    FloatArray,
    LabelArray,
    allocate,
    as_float_array,
    as_real_array,
    as_samples,
    as_targets_or_labels,
    check_callback,
    check_count,
    check_dtype,
    check_fits_in_memory,
    check_functions,
    check_learning_rate,
    check_loss,
    check_sizes,
)
from ._usage import UsageGuard
from ._workspace import KERNEL_LOSS, Workspace
from .optimizers import _Optimizer, _State
from .persistence import ModelData, ModelFileError, read_model, write_model

if TYPE_CHECKING:
    import torch

    from .optimizers import SGD, Adam

_Parameters = ParamSpec("_Parameters")
_Result = TypeVar("_Result")
_Self = TypeVar("_Self", bound="Network")

# fit hands the compiled loop chunks of about this many multiply-adds (some tens
# of milliseconds), returning to Python in between: Ctrl-C, progress bars and
# callbacks are served there, at a cost that cannot be measured.
_CHUNK_MULTIPLY_ADDS = 50_000_000
# Cap on the sample orders drawn ahead for one chunk of shuffled epochs.
_MAX_ORDER_ENTRIES = 1 << 20


# Set in a thread by without_convergence_warnings: fit then leaves its convergence to the
# caller (fastprop.sklearn reports it as scikit-learn does). Per thread, unlike
# warnings.catch_warnings, which swaps the process's filters under every other thread.
_convergence_warnings = threading.local()


@contextlib.contextmanager
def without_convergence_warnings() -> Iterator[None]:
    """Within it, this thread's fits and steps warn no ConvergenceWarning (other threads'
    still do)."""
    before = getattr(_convergence_warnings, "off", False)
    _convergence_warnings.off = True
    try:
        yield
    finally:
        _convergence_warnings.off = before


class ConvergenceWarning(UserWarning):
    """A fit ended without converging: its loss above its first epoch's, or a sigmoid
    output saturated on the whole training set. The message names the likely cause."""


class TrainingDivergedError(FloatingPointError):
    """Training made the loss or the weights NaN or infinite (a learning rate too large for
    the network and data). The network is left as it was before the epoch (or step) that
    diverged.

    Parameters
    ----------
    message : str
        The error's message: what became NaN or infinite, with which learning rate, and
        what the network was restored to.
    epoch : int or None, default None
        The epoch of ``fit`` that diverged, counting from 0; None for ``step`` (and for a
        ``fit`` whose replay did not find the epoch). Kept as the ``epoch`` attribute.
    """

    def __init__(self, message: str, epoch: int | None = None) -> None:
        super().__init__(message)
        self.epoch = epoch


def _reads(method: Callable[Concatenate[_Self, _Parameters], _Result]
           ) -> Callable[Concatenate[_Self, _Parameters], _Result]:
    """The method reads the network: refused while another thread changes it (_usage)."""
    @functools.wraps(method)
    def reading(self: _Self, /, *args: _Parameters.args, **kwargs: _Parameters.kwargs) -> _Result:
        with self._usage.reading(method.__name__):
            return method(self, *args, **kwargs)
    return reading


def _writes(method: Callable[Concatenate[_Self, _Parameters], _Result]
            ) -> Callable[Concatenate[_Self, _Parameters], _Result]:
    """The method changes the network: one such call at a time, and no reader in another
    thread meanwhile (_usage)."""
    @functools.wraps(method)
    def writing(self: _Self, /, *args: _Parameters.args, **kwargs: _Parameters.kwargs) -> _Result:
        with self._usage.writing(method.__name__):
            return method(self, *args, **kwargs)
    return writing


class Network:
    """A fully connected network trained by backpropagation.

    The default is the tutorials' network: a sigmoid after every layer, the loss
    1/2 * sum of squared errors, plain gradient descent.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``[2, 2, 1]`` is 2 inputs, 2 hidden, 1 output.
    seed : int, numpy.random.Generator or None
        Seed for the initial weights. Weights of a layer with ``n_in`` inputs and
        ``n_out`` outputs are drawn from the Glorot/Xavier uniform distribution
        ``U(-r, r)``, ``r = sqrt(6 / (n_in + n_out))``, which keeps the variance of
        the signal roughly constant through sigmoid, tanh and identity layers (Glorot
        & Bengio, 2010), or, for a layer followed by relu, from the He/Kaiming uniform
        distribution, ``r = sqrt(6 / n_in)``, which does the same for relu's halved
        signal (He et al., 2015); biases start at zero. Values are drawn in float64
        and rounded to ``dtype``, so a float32 and a float64 network with the same seed
        start from the same weights up to rounding.
    dtype : numpy.float64 (default) or numpy.float32
        Every computation runs in this precision.
    loss : "sse" (default), "mse", "bce" or "cross_entropy"
        ``"sse"``: L = 1/2 * sum over samples and outputs of (y - y_hat)**2, the
        convention of the tutorials in docs/worked-examples.md, so gradients are
        sums over the batch. ``"mse"``: the same divided by the number of samples in
        the batch. ``"bce"`` (with a sigmoid output): the mean over the batch's samples
        of the sum over outputs of -[y log a + (1 - y) log(1 - a)]. ``"cross_entropy"``
        (with a softmax output): the mean over samples of -sum of y log softmax(z). Both
        are computed from the output layer's z, finite for any finite z, and their
        output delta is a - y.
    activation : "sigmoid" (default), "tanh", "relu" or "identity", or a list of one per
        hidden layer
        The function after each hidden layer.
    output : "sigmoid" (default), "identity" or "softmax"
        The function after the output layer. The valid pairs with ``loss``: "sse" or
        "mse" with "sigmoid" or "identity", "bce" with "sigmoid", "cross_entropy" with
        "softmax".

    Raises
    ------
    TypeError
        If ``sizes`` is not a sequence of integers, ``seed`` is not a seed, ``dtype`` is
        not a dtype, or ``activation`` is neither a name nor a list of names.
    ValueError
        If a width is below 1, fewer than two widths are given, ``dtype`` is neither
        float32 nor float64, a function or loss is unknown, ``output`` does not go with
        ``loss``, or the network would not fit in memory.

    See Also
    --------
    Network.from_weights : a network with given weights.
    fastprop.load : a network saved with ``Network.save``.

    Examples
    --------
    XOR, as the NumPy XOR tutorial trains it (fastprop.examples.XOR_TRAINING):

    >>> import numpy as np
    >>> import fastprop
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    >>> net = fastprop.Network([2, 4, 1], seed=0)
    >>> net
    Network(sizes=[2, 4, 1], activation='sigmoid', output='sigmoid', loss='sse', dtype=float64)
    >>> losses = net.fit(X, Y, epochs=5000, lr=1.0)
    >>> print(net.forward(X).round().ravel())
    [0. 1. 1. 0.]
    """

    def __init__(self, sizes: Sequence[int], seed: int | np.random.Generator | None = None,
                 dtype: DTypeLike = np.float64, loss: str = "sse",
                 activation: str | Sequence[str] = "sigmoid", output: str = "sigmoid") -> None:
        sizes = check_sizes(sizes)
        dtype = check_dtype(dtype)
        loss = check_loss(loss)
        hidden, output = check_functions(activation, output, loss, len(sizes) - 1, sizes[-1])
        parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        # The weights in dtype, and the largest layer's draw in float64 before rounding.
        largest = max(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        described = f"{list(sizes)} ({parameters:,} parameters)"
        if len(described) > 200:
            described = f"{described[:60]}... ({len(str(parameters))}-digit number of parameters)"
        check_fits_in_memory(parameters * dtype.itemsize + 8 * largest,
                             f"a network of sizes {described}")
        try:
            generator = np.random.default_rng(seed)
        except (TypeError, ValueError) as error:
            raise TypeError(f"seed must be None, a non-negative integer or a numpy Generator, "
                            f"got {seed!r}") from error
        weights: list[FloatArray] = []
        biases: list[FloatArray] = []
        try:
            for n_in, n_out, function in zip(sizes[:-1], sizes[1:], hidden + (output,)):
                limit = (np.sqrt(6.0 / n_in) if function == "relu"
                         else np.sqrt(6.0 / (n_in + n_out)))
                weights.append(generator.uniform(-limit, limit, size=(n_out, n_in)).astype(dtype))
                biases.append(np.zeros(n_out, dtype=dtype))
        except MemoryError as error:
            raise ValueError(f"a network of sizes {described} "
                             "needs more memory than could be allocated") from error
        self._set_state(sizes, dtype, loss, weights, biases, hidden, output, activation)

    @classmethod
    def from_torch(cls, module: torch.nn.Sequential, *, dtype: DTypeLike | None = None,
                   loss: str | None = None) -> Network:
        """A network with the layers of a ``torch.nn.Sequential`` of ``Linear`` layers and
        activations.

        Parameters
        ----------
        module : torch.nn.Sequential
            ``Linear`` layers, each followed by nothing or ``Identity`` (an identity layer),
            ``Sigmoid``, ``Tanh`` or ``ReLU`` (hidden layers), and by nothing, ``Identity``,
            ``Sigmoid`` or ``Softmax(dim=-1)`` after the last one (the output).
        dtype : {numpy.float32, numpy.float64}, optional
            The network's dtype; by default the module's (float32 or float64 throughout).
        loss : str, optional
            The loss; by default "sse" after a sigmoid, "mse" after the identity and
            "cross_entropy" after a softmax.

        Returns
        -------
        Network
            Copies of the module's weights and biases (``bias=False``: zero biases).

        Raises
        ------
        TypeError, ValueError
            For any other module, naming it and its position (see
            ``fastprop.export.network_from_torch`` for everything accepted and refused).
        """
        from .export import network_from_torch

        return network_from_torch(module, dtype=dtype, loss=loss)

    @classmethod
    def from_weights(cls, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike],
                     loss: str = "sse", dtype: DTypeLike | None = None,
                     activation: str | Sequence[str] = "sigmoid",
                     output: str = "sigmoid") -> Network:
        """A network with copies of the given weights and biases.

        Parameters
        ----------
        weights : list of array_like, each of shape (n_out, n_in)
            One weight matrix per layer, input layer first; layer ``l`` has as many
            columns as layer ``l - 1`` has rows.
        biases : list of array_like, each of shape (n_out,)
            One bias vector per layer.
        loss : str, default "sse"
            As for ``Network``.
        dtype : numpy.float32, numpy.float64 or None
            The network's dtype; None keeps float32 when every array is float32 and uses
            float64 otherwise.
        activation : str or list of str, default "sigmoid"
            As for ``Network``.
        output : str, default "sigmoid"
            As for ``Network``.

        Returns
        -------
        Network
            A network holding copies of the arrays (finite real numbers) in ``dtype``.

        Raises
        ------
        TypeError
            If ``weights`` or ``biases`` is not a list or tuple, or an array does not hold
            real numbers.
        ValueError
            If the lists are empty or of different lengths, the shapes do not chain, an
            entry is not finite, or ``loss``, ``activation`` or ``output`` is invalid.

        Examples
        --------
        >>> import fastprop
        >>> net = fastprop.Network.from_weights([[[0.3]]], [[0.1]])
        >>> net.sizes
        (1, 1)
        >>> print(f"{net.forward([0.5])[0]:.6f}")
        0.562177
        """
        loss = check_loss(loss)
        for name, arrays in (("weights", weights), ("biases", biases)):
            if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)):
                raise TypeError(f"{name} must be a list with one array per layer, "
                                f"got {type(arrays).__name__}")
        if len(weights) == 0:
            raise ValueError("weights must hold at least one layer, got an empty list")
        if len(biases) != len(weights):
            raise ValueError(f"biases must have one entry per layer: got {len(weights)} weight "
                             f"matrices and {len(biases)} bias vectors")
        raw_weights = [as_real_array(w, f"weights[{layer}]") for layer, w in enumerate(weights)]
        raw_biases = [as_real_array(b, f"biases[{layer}]") for layer, b in enumerate(biases)]
        if dtype is None:
            all_float32 = all(a.dtype == np.float32 for a in raw_weights + raw_biases)
            dtype = np.float32 if all_float32 else np.float64
        dtype = check_dtype(dtype)
        sizes: list[int] = []
        for layer, (w, b) in enumerate(zip(raw_weights, raw_biases)):
            if w.ndim != 2 or 0 in w.shape:
                raise ValueError(f"weights[{layer}] must be a non-empty 2-D array (n_out, n_in), "
                                 f"got shape {w.shape}")
            if layer == 0:
                sizes.append(w.shape[1])
            elif w.shape[1] != sizes[-1]:
                raise ValueError(f"weights[{layer}] must have {sizes[-1]} columns to take the "
                                 f"{sizes[-1]} outputs of layer {layer - 1}, got shape {w.shape}")
            if b.shape != (w.shape[0],):
                raise ValueError(f"biases[{layer}] must have shape ({w.shape[0]},) to match "
                                 f"weights[{layer}] of shape {w.shape}, got shape {b.shape}")
            sizes.append(w.shape[0])
        copied_weights = [as_float_array(w, f"weights[{layer}]", dtype, copy=True)
                          for layer, w in enumerate(raw_weights)]
        hidden, output = check_functions(activation, output, loss, len(sizes) - 1, sizes[-1])
        copied_biases = [as_float_array(b, f"biases[{layer}]", dtype, copy=True)
                         for layer, b in enumerate(raw_biases)]
        network = cls.__new__(cls)
        network._set_state(tuple(sizes), dtype, loss, copied_weights, copied_biases, hidden,
                           output, activation)
        return network

    def _set_state(self, sizes: tuple[int, ...], dtype: np.dtype[np.floating[Any]], loss: str,
                   weights: list[FloatArray], biases: list[FloatArray], hidden: tuple[str, ...],
                   output: str, activation: str | Sequence[str]) -> None:
        self._usage = UsageGuard()
        self._sizes = sizes
        self._dtype = dtype
        self._loss = loss
        self._weights = weights
        self._biases = biases
        self._hidden_functions = hidden
        self._output = output
        # As given: one name, or one per hidden layer (a list).
        self._activation: str | list[str] = (activation if isinstance(activation, str)
                                             else list(hidden))
        self._functions = list(hidden) + [output]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled (or copied) with parameters of its own: C-contiguous, writable arrays
        with the pickled bits, whatever the pickle gave (joblib hands read-only memory maps
        to its workers, and fit writes the weights in place)."""
        self.__dict__.update(state)
        for name in ("_weights", "_biases"):
            setattr(self, name, [np.array(array, dtype=self._dtype, order="C", copy=True)
                                 for array in state[name]])

    # ----------------------------------------------------------------- state
    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths, input first, as a tuple."""
        return self._sizes

    @property
    def dtype(self) -> np.dtype[np.floating[Any]]:
        """The dtype every computation runs in: float32 or float64."""
        return self._dtype

    @property
    def loss(self) -> str:
        """The loss: "sse", "mse", "bce" or "cross_entropy"."""
        return self._loss

    @property
    def activation(self) -> str | list[str]:
        """The hidden layers' function: one name, or a list of one per hidden layer."""
        return self._activation if isinstance(self._activation, str) else list(self._activation)

    @property
    def output(self) -> str:
        """The output layer's function: "sigmoid", "identity" or "softmax"."""
        return self._output

    @property
    @_reads
    def weights(self) -> list[FloatArray]:
        """Copies of the weight matrices, layer by layer, each ``(n_out, n_in)``."""
        return [w.copy() for w in self._weights]

    @property
    @_reads
    def biases(self) -> list[FloatArray]:
        """Copies of the bias vectors, layer by layer, each ``(n_out,)``."""
        return [b.copy() for b in self._biases]

    def __repr__(self) -> str:
        return (f"Network(sizes={list(self._sizes)}, activation={self._activation!r}, "
                f"output={self._output!r}, loss={self._loss!r}, dtype={self._dtype.name})")

    # ------------------------------------------------------------- inference
    @_reads
    def forward(self, X: ArrayLike) -> FloatArray:
        """The network's output for the samples X (``predict`` is the same method).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs) or (n_inputs,)
            Samples as rows, or one sample; finite real numbers, converted to the
            network's dtype (not copied when already a C-contiguous array of it).

        Returns
        -------
        ndarray of shape (n_samples, n_outputs) or (n_outputs,)
            The output layer's values, in the network's dtype; one row per sample, or
            one vector for one sample given as a vector.

        Raises
        ------
        ValueError
            If X does not have ``n_inputs`` columns, holds no sample or non-finite values,
            or its values overflow a layer's pre-activations.
        TypeError
            If X does not hold real numbers.

        Examples
        --------
        >>> import fastprop
        >>> net = fastprop.Network([2, 3, 1], seed=0)
        >>> net.forward([[0.0, 1.0], [1.0, 0.0]]).shape
        (2, 1)
        >>> net.forward([0.0, 1.0]).shape
        (1,)
        """
        samples, single_sample = as_samples(X, self._sizes[0], self._dtype)
        output = self._activations(samples)[-1]
        return output[0] if single_sample else output

    predict = forward

    def _activations(self, samples: FloatArray, output_z: bool = False) -> list[FloatArray]:
        """Every layer's activations for samples (output_z: the output layer's z instead of
        its outputs); FloatingPointError when finite inputs overflow a layer's
        pre-activations (a sum of inf and -inf is NaN: the sigmoid of an infinite z alone is
        0 or 1)."""
        activations = [np.empty((samples.shape[0], width), dtype=self._dtype)
                       for width in self._sizes[1:]]
        _kernels.network_forward(self._sizes, self._weights, self._biases, samples, activations,
                                 self._functions, output_z)
        if not _kernels.all_finite(activations[-1]):
            layer = next(index for index, values in enumerate(activations)
                         if not _kernels.all_finite(values))
            raise FloatingPointError(
                f"the pre-activations of layer {layer} (0 is the first after the inputs) "
                f"overflow {self._dtype.name} for these inputs: they are too large for this "
                "network (scale the inputs, or use float64)")
        return activations

    def _samples_and_targets(self, X: ArrayLike, Y: ArrayLike, training: bool = False
                             ) -> tuple[FloatArray, FloatArray | None, LabelArray | None]:
        """(samples, targets, labels): targets (n, n_out) or, for cross-entropy, class
        labels (n,) int64, the other None; training: targets a fit can reach (_validation)."""
        samples, _ = as_samples(X, self._sizes[0], self._dtype)
        targets, labels = as_targets_or_labels(Y, samples.shape[0], self._sizes[-1],
                                               self._dtype, self._output, self._loss, training)
        return samples, targets, labels

    def _scale(self, n_samples: int) -> float:
        """The factor between the summed loss and the loss: 1/n but for "sse"."""
        return 1.0 if self._loss == "sse" else 1.0 / n_samples

    def _output_delta(self, samples: FloatArray, targets: FloatArray | None,
                      labels: LabelArray | None) -> tuple[list[FloatArray], FloatArray, float]:
        """(every layer's activations, the output delta, the summed loss) on a batch."""
        kernel_loss = KERNEL_LOSS[self._loss]
        activations = self._activations(samples, output_z=kernel_loss != "squared")
        delta = np.empty_like(activations[-1])
        summed = _kernels.output_delta(activations[-1], targets, delta, kernel_loss,
                                       self._output, labels)
        return activations, delta, summed

    @_reads
    def compute_loss(self, X: ArrayLike, Y: ArrayLike) -> float:
        """The loss of the network on the samples X and their targets Y.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs) or (n_inputs,)
            Samples as rows, or one sample.
        Y : array_like of shape (n_samples, n_outputs) or (n_samples,)
            Targets, one row per sample ((n_samples,) with one output); for
            ``loss="cross_entropy"``, one-hot or probability rows, or class labels
            (integers from 0 to n_outputs - 1) of shape (n_samples,).

        Returns
        -------
        float
            The network's loss (for "sse" the sum over the samples, otherwise the mean).

        Raises
        ------
        ValueError
            If the shapes do not fit the network, a value is not finite, or targets are
            invalid for the loss (``"bce"``: outside [0, 1]; cross-entropy: rows not
            summing to 1, labels out of range).
        TypeError
            If X or Y does not hold real numbers.

        Examples
        --------
        >>> import fastprop
        >>> net = fastprop.Network.from_weights([[[0.3]]], [[0.1]])
        >>> print(f"{net.compute_loss([[0.5]], [[1.5]]):.6f}")
        0.439756
        """
        samples, targets, labels = self._samples_and_targets(X, Y)
        _, _, summed = self._output_delta(samples, targets, labels)
        return summed * self._scale(samples.shape[0])

    @_reads
    def gradients(self, X: ArrayLike, Y: ArrayLike) -> tuple[list[FloatArray], list[FloatArray]]:
        """The gradient of the loss on the batch (X, Y); the network is unchanged.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs) or (n_inputs,)
            Samples as rows, or one sample.
        Y : array_like of shape (n_samples, n_outputs) or (n_samples,)
            Targets, as for :meth:`compute_loss`.

        Returns
        -------
        weight_gradients : list of ndarray, each of shape (n_out, n_in)
            dL/dW, layer by layer.
        bias_gradients : list of ndarray, each of shape (n_out,)
            dL/db, layer by layer.

        Raises
        ------
        ValueError, TypeError
            As :meth:`compute_loss`.

        Examples
        --------
        >>> import fastprop
        >>> net = fastprop.Network.from_weights([[[0.3]]], [[0.1]])
        >>> weight_gradients, bias_gradients = net.gradients([[0.5]], [[1.5]])
        >>> print(f"{weight_gradients[0][0, 0]:.6f}")
        -0.115415
        """
        samples, targets, labels = self._samples_and_targets(X, Y)
        activations, output_delta, _ = self._output_delta(samples, targets, labels)
        deltas: list[FloatArray] = [np.empty_like(a) for a in activations[:-1]] + [output_delta]
        for layer in range(len(self._weights) - 1, 0, -1):
            _kernels.hidden_delta(deltas[layer], self._weights[layer], activations[layer - 1],
                                  deltas[layer - 1], self._functions[layer - 1])
        layer_inputs = [samples] + activations[:-1]
        weight_gradients = [np.empty_like(w) for w in self._weights]
        bias_gradients = [np.empty_like(b) for b in self._biases]
        for layer in range(len(self._weights)):
            _kernels.weight_gradient(deltas[layer], layer_inputs[layer],
                                     weight_gradients[layer], bias_gradients[layer])
        scale = self._scale(samples.shape[0])
        if scale != 1.0:
            for gradient in weight_gradients + bias_gradients:
                gradient *= self._dtype.type(scale)
        return weight_gradients, bias_gradients

    # -------------------------------------------------------------- training
    def _update_rule(self, lr: float | None, optimizer: object, call: str
                     ) -> tuple[_Optimizer | None, _State | None]:
        """(optimizer or None, the optimizer's state or None): lr alone is plain gradient
        descent; an optimizer brings its own lr (and state, but for plain SGD)."""
        if optimizer is None:
            if lr is None:
                raise TypeError(f"{call} needs a learning rate, lr=..., or an optimizer, "
                                "optimizer=fastprop.SGD(...) or fastprop.Adam(...)")
            check_learning_rate(lr, dtype=self._dtype)
            return None, None
        if lr is not None:
            # (an object that is no optimizer has no lr to show: the message said so by
            # raising AttributeError on it)
            own = (f" (optimizer.lr = {optimizer.lr!r})" if isinstance(optimizer, _Optimizer)
                   else "")
            raise ValueError(f"{call} takes lr or optimizer, not both: the optimizer has its "
                             f"own{own}")
        if not isinstance(optimizer, _Optimizer):
            raise TypeError(f"optimizer must be fastprop.SGD(...) or fastprop.Adam(...), got "
                            f"{optimizer!r}")
        check_learning_rate(optimizer.lr, "optimizer.lr", dtype=self._dtype)
        if optimizer._is_plain():
            return optimizer, None
        return optimizer, optimizer._state_for(self._sizes, self._dtype)

    def _learning_rate(self, lr: float | None, optimizer: _Optimizer | None) -> float:
        """The learning rate of the next run: lr's, or the optimizer's now (a callback may
        have changed it), checked in the network's dtype."""
        if optimizer is None:
            return check_learning_rate(lr, dtype=self._dtype)
        return check_learning_rate(optimizer.lr, "optimizer.lr", dtype=self._dtype)

    @_writes
    def step(self, X: ArrayLike, Y: ArrayLike, lr: float | None = None,
             optimizer: SGD | Adam | None = None) -> float:
        """One update on the batch (X, Y), by gradient descent or by the optimizer.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs) or (n_inputs,)
            The batch's samples as rows, or one sample.
        Y : array_like of shape (n_samples, n_outputs) or (n_samples,)
            Targets, as for :meth:`compute_loss`.
        lr : float, optional
            The learning rate (step size) of gradient descent: each weight ``w`` becomes
            ``w - lr * dL/dw``. Give ``lr`` or ``optimizer``, not both.
        optimizer : fastprop.SGD or fastprop.Adam, optional
            The update rule, with its own ``lr``; its state (momentum, moments) continues
            from earlier calls.

        Returns
        -------
        float
            The loss on the batch before the update.

        Raises
        ------
        TypeError
            If neither ``lr`` nor ``optimizer`` is given, or ``optimizer`` is not one.
        ValueError
            If both are given, ``lr`` is not a finite positive number, or the data does not
            fit the network (as :meth:`compute_loss`).
        TrainingDivergedError
            If the update makes the loss or the weights NaN or infinite (the network is
            left as it was).

        Examples
        --------
        >>> import fastprop
        >>> net = fastprop.Network.from_weights([[[0.3]]], [[0.1]])
        >>> print(f"{net.step([[0.5]], [[1.5]], lr=0.1):.6f}")
        0.439756
        >>> print(f"{net.weights[0][0, 0]:.6f}")
        0.311542
        """
        samples, targets, labels = self._samples_and_targets(X, Y)
        rule, state = self._update_rule(lr, optimizer, "step")
        lr = self._learning_rate(lr, rule)
        with _optimizer_in_use(rule, state, "step"):
            workspace = Workspace(self, samples, targets, labels, samples.shape[0],
                                   shuffled=False, optimizer=rule, state=state)
            losses = np.zeros(1)
            before = self._parameters_copy(state)
            try:
                workspace.trainer.run(None, 0, samples.shape[0], lr, losses)
            finally:
                workspace.trainer.stop_threads()
            if not (np.isfinite(losses[0]) and self._parameters_finite()):
                self._restore(before, state)
                raise TrainingDivergedError(
                    f"the step diverged ({'the loss' if not np.isfinite(losses[0]) else 'the weights'}"
                    f" became NaN or infinite) with lr={lr:g}: the network is as it was before "
                    "it; try a smaller learning rate")
            return float(losses[0]) * self._scale(samples.shape[0])

    @_writes
    def fit(self, X: ArrayLike, Y: ArrayLike, epochs: int, lr: float | None = None,
            batch_size: int | None = None, shuffle: bool = True,
            seed: int | np.random.Generator | None = None, progress: bool = False,
            callback: Callback | None = None,
            optimizer: SGD | Adam | None = None) -> NDArray[np.float64]:
        """Train the network on (X, Y) by minibatch gradient descent; return each epoch's loss.

        Each step is plain gradient descent with step size ``lr``, or the update of
        ``optimizer`` (``fastprop.SGD`` or ``fastprop.Adam``, whose lr it uses and whose
        state continues from call to call); one of the two. ``batch_size=None`` takes the
        whole set per step; the last batch of an epoch may be smaller. With
        ``shuffle=False`` samples are taken in order; with ``shuffle=True`` each epoch's
        order is a permutation drawn from ``np.random.default_rng(seed)`` (a single full
        batch needs no order, so none is drawn). An epoch's loss is the sum of its
        batches' losses measured before each update, divided by the number of samples
        for every loss but "sse" (whose epoch loss is that sum).

        ``progress=True`` shows a progress bar (tqdm when installed), updated
        between chunks of compiled work (``progress`` must be a bool). ``callback(epoch,
        loss)`` is called after every epoch (``epoch`` counts from 0; a callback that
        cannot take these two arguments is refused before training); returning ``False`` (or
        ``numpy.False_``) stops training, and the losses of the completed epochs
        are returned. A callback may change ``optimizer.lr`` for the epochs that follow
        (a learning-rate schedule). A callback costs a return to Python per epoch, a few
        microseconds, which shows only when epochs are that short. Ctrl-C stops training
        within a fraction of a second, leaving the network as it was after its last
        completed step.

        Training that makes the loss or the weights NaN or infinite raises
        ``TrainingDivergedError`` and leaves the network (and the optimizer's state) as
        after the last epoch that ended finite. A fit that ends with its loss above its
        first epoch's, or with a sigmoid output saturated on the whole training set,
        warns with ``ConvergenceWarning``, naming the likely cause.

        The training set is not copied when X and Y are C-contiguous arrays of
        the network's dtype (class labels: int64).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs) or (n_inputs,)
            The training samples as rows (or one sample); finite real numbers.
        Y : array_like of shape (n_samples, n_outputs) or (n_samples,)
            The targets, one row per sample ((n_samples,) with one output). A sigmoid
            output takes targets in [0, 1]; ``loss="cross_entropy"`` takes one-hot or
            probability rows, or class labels (integers from 0 to n_outputs - 1) of
            shape (n_samples,).
        epochs : int
            The number of passes over the whole training set, >= 0 (0 trains nothing).
        lr : float, optional
            The learning rate (step size) of plain gradient descent: each step changes
            each weight ``w`` to ``w - lr * dL/dw``, ``dL/dw`` the gradient of the
            batch's loss. Give ``lr`` or ``optimizer``, not both.
        batch_size : int, optional
            Samples per step (the last batch of an epoch may be smaller); None (default)
            takes the whole training set in one step per epoch.
        shuffle : bool, default True
            Whether each epoch takes the samples in a new random order.
        seed : int, numpy.random.Generator or None
            The seed of the shuffling order.
        progress : bool, default False
            Show a progress bar on stderr.
        callback : callable, optional
            ``callback(epoch, loss)`` after every epoch; returning False stops training.
        optimizer : fastprop.SGD or fastprop.Adam, optional
            The update rule, with its own ``lr``; its state continues from call to call.

        Returns
        -------
        ndarray of shape (epochs,), float64
            The loss of each completed epoch (fewer entries when a callback stopped
            training).

        Raises
        ------
        TypeError
            If neither ``lr`` nor ``optimizer`` is given, an argument has the wrong type
            (``epochs`` or ``batch_size`` not an integer, ``shuffle`` or ``progress`` not a
            bool, a callback that cannot take ``(epoch, loss)``), or X or Y does not hold
            real numbers.
        ValueError
            If both ``lr`` and ``optimizer`` are given, ``lr`` is not a finite positive
            number, ``epochs < 0``, ``batch_size < 1``, the shapes do not fit the network,
            or a value is not finite or not a valid target.
        TrainingDivergedError
            If the loss or the weights became NaN or infinite (the network is as after the
            last finite epoch).
        RuntimeError
            If the network or the optimizer is already in use by another call.

        Warns
        -----
        ConvergenceWarning
            When the last epoch's loss is above the first's, or a sigmoid output is
            saturated on the whole training set.

        Examples
        --------
        >>> import numpy as np
        >>> import fastprop
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> Y = np.array([[0.0], [1.0], [1.0], [0.0]])
        >>> net = fastprop.Network([2, 4, 1], seed=0)
        >>> losses = net.fit(X, Y, epochs=5000, lr=1.0)
        >>> losses.shape, bool(losses[-1] < 0.01 * losses[0])
        ((5000,), True)
        >>> print(net.forward(X).round().ravel())
        [0. 1. 1. 0.]

        With an optimizer and minibatches of two samples, shuffled:

        >>> net = fastprop.Network([2, 4, 1], seed=0, loss="mse")
        >>> losses = net.fit(X, Y, epochs=500, batch_size=2, seed=0,
        ...                  optimizer=fastprop.Adam(lr=0.05))
        >>> print(net.forward(X).round().ravel())
        [0. 1. 1. 0.]
        """
        samples, targets, labels = self._samples_and_targets(X, Y, training=True)
        epochs = check_count(epochs, "epochs", 0)
        rule, state = self._update_rule(lr, optimizer, "fit")
        self._learning_rate(lr, rule)
        n_samples = samples.shape[0]
        if batch_size is None:
            batch_size = n_samples
        batch_size = min(check_count(batch_size, "batch_size", 1), n_samples)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        callback = check_callback(callback)
        if not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True or False, got {progress!r}")
        shuffled = bool(shuffle) and batch_size < n_samples
        try:
            generator = np.random.default_rng(seed)
        except (TypeError, ValueError) as error:
            raise TypeError(f"seed must be None, a non-negative integer or a numpy Generator, "
                            f"got {seed!r}") from error

        with _optimizer_in_use(rule, state, "fit"):
            history = allocate(lambda: np.zeros(epochs), 8 * epochs,
                               f"epochs={epochs} (one float64 loss per epoch)")
            if epochs == 0:
                return history
            workspace = Workspace(self, samples, targets, labels, batch_size, shuffled,
                                   optimizer=rule, state=state)
            # Plan the chunks handed to the compiled loop: several epochs at a time
            # when an epoch is cheap, part of an epoch (whole batches) when it is not.
            samples_per_chunk = max(1, _CHUNK_MULTIPLY_ADDS // self._multiply_adds_per_sample())
            if callback is not None or samples_per_chunk < n_samples:
                epochs_per_chunk = 1
            else:
                epochs_per_chunk = samples_per_chunk // n_samples
                if shuffled:
                    epochs_per_chunk = min(epochs_per_chunk, max(1, _MAX_ORDER_ENTRIES // n_samples))
            positions_per_chunk = n_samples if epochs_per_chunk > 1 else max(
                batch_size, samples_per_chunk // batch_size * batch_size)

            bar = None
            if progress:
                from .progress import EpochProgress
                bar = EpochProgress(epochs)
            scale = self._scale(n_samples)
            run = workspace.trainer.run
            chunk_starts = range(0, n_samples, positions_per_chunk)

            def run_epochs(orders: NDArray[np.int64] | None, losses: NDArray[np.float64],
                           rate: float) -> None:
                for start in chunk_starts:
                    run(orders, start, min(n_samples, start + positions_per_chunk), rate, losses)

            # Divergence (a loss or a weight no longer finite) is looked for after each chunk
            # (the losses) and at the end (the weights: saturated sigmoids can keep the loss
            # finite on infinite weights). Then the fit is replayed from these copies (the
            # optimizer's state included), epoch by epoch with each epoch's learning rate, to
            # the last epoch that ended finite: the same bits, paid for only then.
            initial = self._parameters_copy(state)
            replay_generator = copy.deepcopy(generator) if shuffled else None
            rates: list[float] = []          # each epoch's learning rate
            replay = (initial, replay_generator, workspace, run_epochs, rates, state)
            try:
                epoch = 0
                while epoch < epochs:
                    chunk_epochs = min(epochs_per_chunk, epochs - epoch)
                    rate = self._learning_rate(lr, rule)
                    rates += [rate] * chunk_epochs
                    losses = history[epoch:epoch + chunk_epochs]
                    orders = workspace.draw_orders(generator, chunk_epochs) if shuffled else None
                    run_epochs(orders, losses, rate)
                    if not np.isfinite(losses).all():
                        self._diverged(*replay, epoch + chunk_epochs)
                    if scale != 1.0:
                        losses *= scale
                    epoch += chunk_epochs
                    last_loss = float(history[epoch - 1])
                    if bar is not None:
                        bar.update(epoch, last_loss)
                    if callback is not None and _means_stop(callback(epoch - 1, last_loss)):
                        break
                if not self._parameters_finite():
                    self._diverged(*replay, epoch)
            finally:
                workspace.trainer.stop_threads()
                if bar is not None:
                    bar.close()
            trained = history if epoch == epochs else history[:epoch].copy()
            self._warn_if_not_converging(trained, workspace, samples, batch_size)
            return trained

    def _warn_if_not_converging(self, history: NDArray[np.float64], workspace: Workspace,
                                samples: FloatArray, batch_size: int) -> None:
        """ConvergenceWarning when the loss ended above the first epoch's, or when a sigmoid
        output is saturated (a (1 - a) below the dtype's resolution) on every training
        sample, a state in which its gradient vanishes. The whole set is only looked at
        when the last batch's outputs were all saturated (they are in the workspace)."""
        if getattr(_convergence_warnings, "off", False):
            return
        hint = ""
        if self._loss == "sse" and batch_size > 1:
            hint = (f" With loss='sse' the gradient is summed over each batch of {batch_size} "
                    "samples, so lr acts that many times larger: use loss='mse', or divide lr "
                    "by the batch size.")
        if self._output == "sigmoid":
            resolution = np.finfo(self._dtype).eps
            last_rows = samples.shape[0] % batch_size or batch_size
            last = workspace.activations[-1][:last_rows]
            if np.all(last * (1 - last) < resolution):
                try:
                    outputs = self._activations(samples)[-1]
                except FloatingPointError:     # sums beyond the dtype: no outputs to judge
                    outputs = np.full(1, 0.5)
                if np.all(outputs * (1 - outputs) < resolution):
                    warnings.warn(
                        "every output of the network is saturated on the whole training set "
                        "(its sigmoid at 0 or 1 to working precision), where its gradient "
                        "vanishes and training cannot go on: the learning rate is probably "
                        "too large, or the inputs are not scaled." + hint,
                        ConvergenceWarning, stacklevel=4)
                    return
        if len(history) >= 2 and history[-1] > history[0]:
            warnings.warn(
                f"the loss after the last epoch ({history[-1]:.6g}) is above the first "
                f"epoch's ({history[0]:.6g}): training is not converging; the learning rate "
                "is probably too large." + hint, ConvergenceWarning, stacklevel=4)

    def _state_arrays(self, state: _State | None) -> list[NDArray[Any]]:
        """The arrays a fit or step changes: the parameters, and the optimizer's state."""
        return self._weights + self._biases + ([] if state is None else state.arrays())

    def _parameters_copy(self, state: _State | None = None) -> list[NDArray[Any]]:
        return [array.copy() for array in self._state_arrays(state)]

    def _parameters_finite(self) -> bool:
        return all(_kernels.all_finite(array) for array in self._weights + self._biases)

    def _restore(self, saved: Sequence[NDArray[Any]], state: _State | None = None) -> None:
        """Write saved arrays back in place (a trainer holds pointers to the arrays)."""
        for array, values in zip(self._state_arrays(state), saved):
            array[...] = values

    def _diverged(self, initial: Sequence[NDArray[Any]],
                  replay_generator: np.random.Generator | None, workspace: Workspace,
                  run_epochs: Callable[[NDArray[np.int64] | None, NDArray[np.float64], float],
                                       None],
                  rates: Sequence[float], state: _State | None, epochs_run: int) -> NoReturn:
        """Replay the fit from its start, an epoch at a time, to the first epoch whose loss or
        weights are not finite; leave the network as it was before that epoch and raise."""
        self._restore(initial, state)
        for epoch in range(epochs_run):
            before = self._parameters_copy(state)
            orders = (workspace.draw_orders(replay_generator, 1)
                      if replay_generator is not None else None)
            loss = np.zeros(1)
            run_epochs(orders, loss, rates[epoch])
            loss_finite = bool(np.isfinite(loss[0]))
            if not (loss_finite and self._parameters_finite()):
                self._restore(before, state)
                after = f"after epoch {epoch - 1}" if epoch else "before training"
                raise TrainingDivergedError(
                    f"training diverged in epoch {epoch} (counting from 0): "
                    f"{'the loss' if not loss_finite else 'the weights'} became NaN or infinite "
                    f"with lr={rates[epoch]:g}; the network is as it was {after}. Try a "
                    "smaller learning rate", epoch)
        self._restore(initial, state)      # not reproduced: cannot happen with the same routes
        raise TrainingDivergedError(f"training diverged with lr={rates[-1]:g} (the replay did "
                                    "not find where); the network is as it was before training")

    def _multiply_adds_per_sample(self) -> int:
        """Rough cost of one sample's step: three products per layer plus the elementwise work."""
        products = sum(n_in * n_out for n_in, n_out in zip(self._sizes[:-1], self._sizes[1:]))
        return 3 * products + 20 * sum(self._sizes[1:]) + 50

    # ----------------------------------------------------------- persistence
    @_reads
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to ``path`` as a versioned ``.npz`` (no pickle; atomic).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write, by the exact name given (no suffix is added); replaced
            whole if it exists.

        Raises
        ------
        TypeError, ValueError
            If ``path`` is not a usable file name.
        OSError
            If the file cannot be written.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastprop
        >>> net = fastprop.Network([2, 3, 1], seed=0)
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "net.npz")
        ...     net.save(path)
        ...     loaded = fastprop.load(path)
        >>> loaded.sizes, all((a == b).all() for a, b in zip(loaded.weights, net.weights))
        ((2, 3, 1), True)
        """
        write_model(path, self._sizes, self._dtype, self._loss, self._weights, self._biases,
                    activations=self._hidden_functions, output=self._output)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Network:
        """The network in a file written by ``save``.

        Parameters
        ----------
        path : str or os.PathLike
            A model file written by :meth:`save` (or by the ``fastprop train`` command).

        Returns
        -------
        Network
            The network the file holds, in the file's dtype.

        Raises
        ------
        ModelFileError
            If the file is missing, not a fastprop model file, or corrupt.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastprop
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "net.npz")
        ...     fastprop.Network([2, 3, 1], seed=0, dtype="float32").save(path)
        ...     fastprop.Network.load(path)
        Network(sizes=[2, 3, 1], activation='sigmoid', output='sigmoid', loss='sse', dtype=float32)
        """
        return cls._from_model(read_model(path), path)

    @classmethod
    def _from_model(cls, model: ModelData, path: str | os.PathLike[str]) -> Network:
        """A network holding the contents of a model file that ``read_model`` checked."""
        try:
            activation: str | list[str] = ("sigmoid" if model.activations is None
                                           else list(model.activations))
            if model.activations is not None and len(set(model.activations)) == 1:
                activation = model.activations[0]
            return cls.from_weights(model.weights, model.biases, loss=model.loss,
                                    dtype=model.dtype, activation=activation,
                                    output=model.output)
        except (TypeError, ValueError) as error:  # a loss or function fastprop does not know
            raise ModelFileError(f"{path}: {error}") from error


def _optimizer_in_use(optimizer: _Optimizer | None, state: _State | None, call: str
                      ) -> contextlib.AbstractContextManager[None]:
    """The optimizer held by this call while it updates the optimizer's state (a second
    network training with it meanwhile, in another thread or from a callback, is refused);
    nothing to hold without state."""
    if state is None or optimizer is None:      # a state comes with its optimizer
        return contextlib.nullcontext()
    return optimizer._in_use(call)


def _means_stop(callback_result: object) -> bool:
    """A callback stops training by returning False (a Python or NumPy boolean)."""
    return isinstance(callback_result, (bool, np.bool_)) and not callback_result


def load(path: str | os.PathLike[str]) -> Network:
    """Read a network written by ``Network.save``.

    Parameters
    ----------
    path : str or os.PathLike
        A model file written by :meth:`Network.save` or ``fastprop train``.

    Returns
    -------
    Network
        The network the file holds.

    Raises
    ------
    ModelFileError
        If the file is missing, not a fastprop model file, or corrupt.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastprop
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     path = os.path.join(directory, "net.npz")
    ...     fastprop.Network([4, 8, 3], seed=1, output="softmax", loss="cross_entropy").save(path)
    ...     fastprop.load(path)
    Network(sizes=[4, 8, 3], activation='sigmoid', output='softmax', loss='cross_entropy', dtype=float64)
    """
    return Network.load(path)


def load_with_names(path: str | os.PathLike[str]
                    ) -> tuple[Network, list[str] | None, list[str] | None]:
    """Read a model file: ``(network, input_names or None, output_names or None)``."""
    model = read_model(path)
    return Network._from_model(model, path), model.input_names, model.output_names
