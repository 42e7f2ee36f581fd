"""Checks and conversions at the boundary between users and the compiled kernels.

Every function here either returns a value the kernels can use without further
checks, or raises a ``TypeError``/``ValueError`` that names the argument and says
what was expected and what was received. None of them modifies its input.
"""
import collections.abc
import inspect
import math
import numbers
import operator
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _kernels

LOSSES = ("sse", "mse", "bce", "cross_entropy")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")     # hidden layers
OUTPUTS = ("sigmoid", "identity", "softmax")               # the output layer
# The outputs each loss is defined with (the valid pairs).
LOSS_OUTPUTS = {"sse": ("sigmoid", "identity"), "mse": ("sigmoid", "identity"),
                "bce": ("sigmoid",), "cross_entropy": ("softmax",)}
# What a probability row of cross-entropy targets may sum to, besides 1 (rounding of rows
# normalised in float32).
PROBABILITY_ROW_TOLERANCE = 1e-4
FLOATING_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The arrays of a network: float32 or float64 (its dtype), and class labels.
FloatArray: TypeAlias = NDArray[np.floating[Any]]
LabelArray: TypeAlias = NDArray[np.int64]
# fit's callback: callback(epoch, loss), returning False to stop.
Callback: TypeAlias = Callable[[int, float], object]
_Allocated = TypeVar("_Allocated")


def check_sizes(sizes: object) -> tuple[int, ...]:
    """Layer sizes, input first: a sequence of at least two integers >= 1 (a set or a
    dict is refused: their order is not the layers')."""
    if (isinstance(sizes, (str, bytes))
            or not isinstance(sizes, (collections.abc.Sequence, np.ndarray))):
        raise TypeError(f"sizes must be a sequence of integers such as [2, 2, 1], got {sizes!r}")
    checked = []
    for position, size in enumerate(sizes):
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            raise TypeError(f"sizes[{position}] must be an integer, got {size!r}")
        if size < 1:
            raise ValueError(f"sizes[{position}] must be >= 1, got {size}")
        checked.append(operator.index(size))
    if len(checked) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {list(sizes)!r}")
    return tuple(checked)


def check_loss(loss: object) -> str:
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
    return loss


def check_functions(activation: object, output: object, loss: str, n_layers: int,
                    n_outputs: int) -> tuple[tuple[str, ...], str]:
    """(the hidden layers' function names, the output's) for a network of n_layers layers:
    activation one name of ACTIVATIONS or a list of one per hidden layer; output one of
    OUTPUTS, and a pair with loss that LOSS_OUTPUTS allows."""
    n_hidden = n_layers - 1
    if isinstance(activation, str):
        hidden = (activation,) * n_hidden
        names = [("activation", activation)]
    elif isinstance(activation, (list, tuple)):
        hidden = tuple(activation)
        if len(hidden) != n_hidden:
            raise ValueError(f"activation must be one name or a list of {n_hidden} (one per hidden "
                             f"layer), got a list of {len(hidden)}: {list(hidden)!r}")
        names = [(f"activation[{layer}]", name) for layer, name in enumerate(hidden)]
    else:
        raise TypeError(f"activation must be a name such as 'relu' or a list of names, one "
                        f"per hidden layer, got {activation!r}")
    for argument, name in names:
        if not isinstance(name, str) or name not in ACTIVATIONS:
            extra = (" (the softmax is an output: output='softmax')" if name == "softmax"
                     else "")
            raise ValueError(f"{argument} must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                             f"got {name!r}{extra}")
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(map(repr, OUTPUTS))}, got {output!r}")
    if output not in LOSS_OUTPUTS[loss]:
        valid = "; ".join(f"loss={name!r} with output "
                          + " or ".join(repr(pair) for pair in outputs)
                          for name, outputs in LOSS_OUTPUTS.items())
        raise ValueError(f"output={output!r} does not go with loss={loss!r}; the valid pairs "
                         f"are {valid}")
    if output == "softmax" and n_outputs < 2:
        raise ValueError("output='softmax' needs at least 2 outputs (it would always be 1); "
                         "for one output use output='sigmoid' with loss='bce'")
    return hidden, output


def check_dtype(dtype: DTypeLike) -> np.dtype[np.floating[Any]]:
    try:
        checked = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}") from error
    if checked not in FLOATING_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {checked}")
    return cast("np.dtype[np.floating[Any]]", checked)      # float32 or float64: checked


def check_learning_rate(lr: object, name: str = "lr", dtype: DTypeLike = np.float64) -> float:
    """lr as a float, checked in the network's dtype (the kernels compute in it): finite,
    positive, and neither overflowing nor rounding to zero there."""
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {lr!r}")
    try:
        value = float(lr)
    except OverflowError:                 # an int or Fraction beyond float64, 10**400
        value = math.inf
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {_short(lr)}")
    float_dtype = check_dtype(dtype)
    info = np.finfo(float_dtype)
    if value > float(info.max):
        raise ValueError(f"{name} must be at most {float(info.max):.4g} for a {float_dtype} network "
                         f"(larger is infinite in {float_dtype}), got {_short(lr)}")
    if float_dtype.type(value) == 0:
        raise ValueError(f"{name} must be at least {float(info.smallest_subnormal):.4g} for a "
                         f"{float_dtype} network (smaller rounds to zero in {float_dtype}), got {_short(lr)}")
    return value


def _short(value: object) -> str:
    """repr of a number, cut short when it is huge (10**400 has 401 digits)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def physical_memory_bytes() -> int | None:
    """The machine's physical memory (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def size_text(n_bytes: int) -> str:
    """'48 KiB', '125 MiB', '3.9 GiB', '8.19e+03 GiB'."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            try:
                return f"{n_bytes / size:.3g} {unit}"
            except OverflowError:       # widths of hundreds of digits: beyond any float
                return "more than 1e300 GiB"
    return f"{n_bytes} bytes"


def check_fits_in_memory(n_bytes: int, what: str) -> None:
    """Refuse, before allocating, n_bytes that could not be held: more than the machine's
    physical memory (an allocation the kernel overcommits would be killed later)."""
    available = physical_memory_bytes()
    if available is not None and n_bytes > available:
        raise ValueError(f"{what} needs {size_text(n_bytes)} of memory; this machine has "
                         f"{size_text(available)}")


def allocate(allocator: Callable[[], _Allocated], n_bytes: int, what: str) -> _Allocated:
    """allocator() (numpy allocations of about n_bytes), its MemoryError a ValueError."""
    check_fits_in_memory(n_bytes, what)
    try:
        return allocator()
    except MemoryError as error:
        raise ValueError(f"{what} needs {size_text(n_bytes)} of memory, which could not be "
                         "allocated") from error


def check_callback(callback: object) -> Callback | None:
    """callback must be callable as callback(epoch, loss): checked before training starts."""
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(f"callback must be callable as callback(epoch, loss), got {callback!r}")
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):      # a builtin without a signature: trust it
        return callback
    try:
        signature.bind(0, 0.0)
    except TypeError as error:
        raise TypeError(f"callback must be callable as callback(epoch, loss), but "
                        f"{getattr(callback, '__name__', callback)!r}{signature} cannot be "
                        f"({error})") from error
    return callback


def check_count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return operator.index(value)


def as_real_array(values: ArrayLike, name: str) -> NDArray[Any]:
    """values as an ndarray of real numbers (booleans and integers included), without copying."""
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(f"{name} must be a plain array, got a masked array (its masked entries "
                        "would be read as the data under the mask): fill or drop them first, "
                        f"e.g. {name}.filled(value) or {name}.compressed()")
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be a rectangular array of numbers: {error}") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    return array


def as_float_array(values: ArrayLike, name: str, dtype: DTypeLike, copy: bool = False) -> FloatArray:
    """values as an aligned C-contiguous array of dtype with finite entries.

    A copy is made when the layout, alignment or dtype differ, or always with
    ``copy=True``. (The kernels read every element as its type; numpy lets an array
    that is C-contiguous sit at any byte offset, for instance in a structured buffer.)
    """
    array = as_real_array(values, name)
    with np.errstate(over="ignore"):
        converted = (np.array(array, dtype=dtype, order="C", copy=True) if copy
                     else np.ascontiguousarray(array, dtype=dtype))
    if not converted.flags.aligned:
        converted = np.array(converted, order="C", copy=True)
    if array.ndim == 0:  # ascontiguousarray makes a scalar 1-D; report the shape given
        converted = converted.reshape(())
    if not _kernels.all_finite(converted):
        extra = f" in {np.dtype(dtype)}" if array.dtype != dtype and array.dtype.kind == "f" else ""
        raise ValueError(f"{name} must contain only finite numbers{extra} (found NaN or infinity)")
    return converted


def as_samples(X: ArrayLike, n_inputs: int, dtype: DTypeLike, name: str = "X") -> tuple[FloatArray, bool]:
    """X as (n_samples, n_inputs); also whether a single sample (n_inputs,) was given."""
    array = as_float_array(X, name, dtype)
    single_sample = array.ndim == 1
    if single_sample:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, {n_inputs}) or one sample ({n_inputs},), "
                         f"got shape {array.shape}")
    if array.shape[1] != n_inputs:
        expected = f"({n_inputs},)" if single_sample else f"(n_samples, {n_inputs})"
        received = array.shape[1:] if single_sample else array.shape
        raise ValueError(f"{name} must have shape {expected} for this network, got shape {received}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {array.shape}")
    return array, single_sample


def as_targets_or_labels(Y: ArrayLike, n_samples: int, n_outputs: int, dtype: DTypeLike,
                         output: str, loss: str, training: bool, name: str = "Y"
                         ) -> tuple[FloatArray | None, LabelArray | None]:
    """(targets, labels) for a network with this output and loss, one of them None.

    Cross-entropy takes rows of probabilities (n_samples, n_outputs), each >= 0 and
    summing to 1 (one-hot rows among them), or class labels (n_samples,): integers in
    [0, n_outputs), returned as int64 (never expanded into one-hot rows). A sigmoid output
    takes targets in [0, 1] only to train on (training: fit) or for "bce"; an identity
    output any finite targets. (A single step, a loss or gradients with the squared error
    take any finite targets: the tutorials' first worked example takes one step towards
    y = 1.5 through a sigmoid.)"""
    if output == "softmax":
        array = as_real_array(Y, name)
        if array.ndim == 1:
            return None, as_labels(array, n_samples, n_outputs, name)
        targets = as_targets(array, n_samples, n_outputs, dtype, name)
        smallest = float(targets.min())
        row_sums = targets.sum(axis=1, dtype=np.float64)
        worst = int(np.argmax(np.abs(row_sums - 1.0)))
        if smallest < 0 or abs(row_sums[worst] - 1.0) > PROBABILITY_ROW_TOLERANCE:
            found = (f"a negative value ({smallest:g})" if smallest < 0
                     else f"row {worst} sums to {row_sums[worst]:g}")
            raise ValueError(f"{name} for loss={loss!r} must be one-hot or probability rows "
                             f"(each >= 0, summing to 1) or class labels of shape ({n_samples},); "
                             f"{found}")
        return targets, None
    targets = as_targets(Y, n_samples, n_outputs, dtype, name)
    if output == "sigmoid" and (training or loss == "bce"):
        low, high = float(targets.min()), float(targets.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"{name} holds values from {low:g} to {high:g}, outside [0, 1]: a sigmoid "
                "output cannot reach them. Use output='identity' (with loss='mse') for "
                "unbounded targets, or scale the targets into [0, 1]" + (
                    "; for class labels use output='softmax' with loss='cross_entropy'"
                    if float(low).is_integer() and float(high).is_integer() and high > 1
                    else ""))
    return targets, None


def as_labels(values: ArrayLike, n_samples: int, n_classes: int, name: str = "Y") -> LabelArray:
    """Class labels: a 1-D array of n_samples integers (or integer-valued floats) in
    [0, n_classes), as a C-contiguous int64 array."""
    array = as_real_array(values, name)
    if array.ndim != 1 or array.shape[0] != n_samples:
        raise ValueError(f"{name} as class labels must have shape ({n_samples},), got shape "
                         f"{array.shape}")
    if array.dtype.kind == "b":
        raise TypeError(f"{name} as class labels must hold integers, got booleans")
    if array.dtype.kind == "f":
        if not (np.isfinite(array).all() and (array == np.round(array)).all()):
            raise ValueError(f"{name} as class labels must hold integers from 0 to "
                             f"{n_classes - 1}, got non-integer values")
    if n_samples and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"{name} as class labels must be integers from 0 to {n_classes - 1} "
                         f"(one per output), got values from {array.min():g} to "
                         f"{array.max():g}")
    return np.ascontiguousarray(array, dtype=np.int64)


def as_targets(Y: ArrayLike, n_samples: int, n_outputs: int, dtype: DTypeLike, name: str = "Y") -> FloatArray:
    """Y as (n_samples, n_outputs); (n_samples,) is accepted when there is one output."""
    array = as_float_array(Y, name, dtype)
    given_shape = array.shape
    if array.ndim == 1 and n_outputs == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape != (n_samples, n_outputs):
        allowed = f"({n_samples}, {n_outputs})" + (f" or ({n_samples},)" if n_outputs == 1 else "")
        raise ValueError(f"{name} must have shape {allowed} to match X and the network's "
                         f"{n_outputs} output(s), got shape {given_shape}")
    return array
