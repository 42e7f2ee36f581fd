"""Model files: a versioned ``.npz``, no pickle, atomic writes.

This module reads and writes plain arrays and metadata only; it knows nothing
of ``Network`` (which imports it, not the other way round).
``write_model(path, sizes, dtype, loss, weights, biases, ...)`` writes a file,
``read_model(path)`` checks one and returns its contents as a :class:`ModelData`;
``Network.save``, ``Network.load`` and ``fastprop.load`` build on them.

A model file is an uncompressed NumPy ``.npz`` archive holding:

* ``format``: the string ``"fastprop-network"``, ``format_version``: ``2`` (files of
  version 1, which cannot hold the entries of ``fastprop train``'s data preparation below,
  still load);
* ``sizes`` (int64, input first), ``loss`` (``"sse"``, ``"mse"``, ``"bce"``,
  ``"cross_entropy"``), ``dtype``
  (``"float32"``/``"float64"``);
* ``W1`` … ``WL`` shaped ``(n_out, n_in)`` and ``b1`` … ``bL`` shaped
  ``(n_out,)``, in that dtype;
* where a layer's function is not the sigmoid, ``activations`` (one string per hidden
  layer: ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"identity"``) and ``output`` (a string:
  ``"sigmoid"``, ``"identity"``, ``"softmax"``); a file without them is a sigmoid
  network, and one with them is refused by a fastprop that predates them;
* optionally ``input_names`` and ``output_names`` (strings, one per input and
  output neuron), written by ``fastprop train`` so that ``fastprop predict`` can
  find its columns;
* optionally (version 2, written by ``fastprop train``) how the data were prepared:
  ``task`` (``"regress"`` or ``"classify"``); ``input_mean`` and ``input_scale`` (float64,
  one per input: ``predict`` feeds the network ``(x - input_mean) / input_scale``, every
  scale finite and > 0); for ``"regress"``, optionally ``target_mean`` and ``target_scale``
  (float64, one per output: the network learned ``(y - target_mean) / target_scale``, and
  ``predict`` returns ``output * target_scale + target_mean``); for ``"classify"``, ``class_column`` (the name of the label
  column), ``classes`` (one string per class, in the order of the outputs; two for a
  single sigmoid output, whose output is the probability of the second) and
  ``classes_kind`` (``"str"``, or ``"int"`` when every label was an integer: each class
  is then the decimal text of one, read back as a Python int).

Every array is a plain number or string array, read with ``allow_pickle=False``:
loading a file never runs code.

Reading a file never trusts it. Anything but a regular file (a FIFO, which would block
the read forever, a device, a directory) is refused before a byte is read. Then the
archive's member list is checked (each member stored uncompressed, as ``np.savez``
writes it, inside the file and not overlapping another), then each ``.npy`` header
(at most 4 KiB; shape and dtype) against what the declared ``sizes`` and ``dtype``
allow, before its data is read. So what loading allocates never exceeds the file's own
size (plus the network built from it), and a file of a few megabytes is refused or
loaded in well under a second, whatever it declares. Every refusal is a
``ModelFileError`` naming the file and the first few offending entries.
"""
from __future__ import annotations

import math
import os
import secrets
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

FORMAT_NAME = "fastprop-network"
FORMAT_VERSION = 2
# The versions this fastprop reads: 1 lacks the data-preparation entries (_PREPARATION_KEYS).
READABLE_VERSIONS = (1, 2)
_DTYPES = ("float32", "float64")
_HEADER_KEYS = ("format", "format_version", "sizes", "loss", "dtype")
_NAME_KEYS = ("input_names", "output_names")
_FUNCTION_KEYS = ("activations", "output")
_PREPARATION_KEYS = ("task", "input_mean", "input_scale", "target_mean", "target_scale",
                     "class_column", "classes", "classes_kind")
TASKS = ("regress", "classify")
CLASS_KINDS = ("str", "int")
_ZIP_MAGIC = b"PK\x03\x04"
# What a model file's entries may declare, checked before their data is read. np.save
# writes .npy headers of 128 bytes (a multiple of 64); names are a few characters.
_MAX_NPY_HEADER = 4096
_MAX_NAME_BYTES = 4 * 1024
_MAX_LAYERS = 100_000


PathLike: TypeAlias = "str | os.PathLike[str]"
Arrays: TypeAlias = "dict[str, Any]"
# A check of an .npy header's (shape, dtype): None, or what to say of the entry named key.
HeaderCheck: TypeAlias = "Callable[[tuple[int, ...], np.dtype[Any]], Callable[[str], str] | None]"


class ModelFileError(ValueError):
    """A model file that cannot be read: its message names the file and the problem."""


class _ModelFileOSError(ModelFileError):
    """A ModelFileError that is also the OSError opening the file gave: its message is the
    file's name and the system's words, its errno, strerror and filename the OSError's."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _MissingModelFileError(_ModelFileOSError, FileNotFoundError):
    """A model file that does not exist: a ModelFileError, as every failure to load is, and
    the FileNotFoundError that opening it gives (what code written before caught)."""


class _UnreadableModelFileError(_ModelFileOSError, PermissionError):
    """A model file this process may not read: a ModelFileError, and a PermissionError."""


@dataclass(frozen=True)
class ModelData:
    """What a model file holds, as ``read_model`` checked it.

    ``weights[l]`` has shape ``(sizes[l + 1], sizes[l])`` and ``biases[l]`` shape
    ``(sizes[l + 1],)``, both of ``dtype`` with finite values. ``loss``,
    ``activations`` (one per hidden layer) and ``output`` are the strings the file
    holds (the sigmoid's where it has none); building a network from them checks
    that fastprop knows them. The names are ``None`` when the file has none.
    ``task``, ``input_mean`` and ``input_scale`` (float64, ``(sizes[0],)``),
    ``target_mean`` and ``target_scale`` (float64, ``(sizes[-1],)``), ``class_column``
    and ``classes`` (strs, or ints where the labels were integers) are ``None`` when the
    file has none (``Network.save`` writes none of them).
    """

    sizes: tuple[int, ...]
    dtype: np.dtype[Any]
    loss: str
    weights: list[NDArray[Any]]
    biases: list[NDArray[Any]]
    input_names: list[str] | None = None
    output_names: list[str] | None = None
    activations: tuple[str, ...] | None = None
    output: str = "sigmoid"
    task: str | None = None
    input_mean: NDArray[np.float64] | None = None
    input_scale: NDArray[np.float64] | None = None
    target_mean: NDArray[np.float64] | None = None
    target_scale: NDArray[np.float64] | None = None
    class_column: str | None = None
    classes: tuple[str, ...] | tuple[int, ...] | None = None


def validate_save_path(path: object) -> Path:
    """Return ``path`` as a Path if a model can be written there; raise a clear error otherwise.

    Parameters
    ----------
    path : str or os.PathLike
        Where a model file is to be written.

    Returns
    -------
    pathlib.Path
        The same path.

    Raises
    ------
    TypeError
        For anything but a str or os.PathLike (bytes included).
    ValueError
        For a path that names no file ("", ".", "..").
    IsADirectoryError, FileNotFoundError
        For a directory, or a path whose directory does not exist.

    Examples
    --------
    >>> from fastprop.persistence import validate_save_path
    >>> validate_save_path("model.npz").name
    'model.npz'
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise ValueError(f"path {str(path)!r} does not name a file")
    if target.is_dir():
        raise IsADirectoryError(f"cannot save the model to {str(target)!r}: it is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot save the model to {str(target)!r}: directory {str(parent)!r} does not exist"
        )
    return target


def _model_arrays(layer_sizes: ArrayLike, dtype_like: Any, loss: str,
                  weights: Sequence[ArrayLike], biases: Sequence[ArrayLike],
                  input_names: Sequence[object] | None, output_names: Sequence[object] | None,
                  activations: Sequence[object] | None = None, output: str = "sigmoid",
                  preparation: dict[str, Any] | None = None) -> Arrays:
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    dtype = np.dtype(dtype_like)
    if dtype.name not in _DTYPES:
        raise TypeError(f"cannot save a network of dtype {dtype}; expected float32 or float64")
    if sizes.ndim != 1 or len(sizes) < 2 or (sizes < 1).any():
        raise ValueError(f"sizes must list at least two positive layer sizes, got {sizes.tolist()!r}")
    n_layers = len(sizes) - 1
    if len(weights) != n_layers or len(biases) != n_layers:
        raise ValueError(f"a {_sizes_text(sizes)} network has {n_layers} layers, got "
                         f"{len(weights)} weight matrices and {len(biases)} bias vectors")
    arrays = {
        "format": np.str_(FORMAT_NAME),
        "format_version": np.int64(FORMAT_VERSION),
        "sizes": sizes,
        "loss": np.str_(loss),
        "dtype": np.str_(dtype.name),
    }
    widths = [int(size) for size in sizes]
    for layer, (weight, bias) in enumerate(zip(weights, biases), start=1):
        for key, array, shape in ((f"W{layer}", weight, (widths[layer], widths[layer - 1])),
                                  (f"b{layer}", bias, (widths[layer],))):
            array = np.ascontiguousarray(array, dtype=dtype)
            if array.shape != shape:
                raise ValueError(f"{key} has shape {array.shape}, but a {_sizes_text(sizes)} "
                                 f"network needs {shape}")
            if not np.isfinite(array).all():
                # A file no load accepts: writing it over a good model would lose that model.
                raise ValueError(f"cannot save a network whose {key} holds non-finite values "
                                 "(NaN or infinity: training diverged?); nothing was written")
            arrays[key] = array
    for key, names, count in (("input_names", input_names, sizes[0]),
                              ("output_names", output_names, sizes[-1])):
        if names is None:
            continue
        names = [str(name) for name in names]
        if len(names) != count:
            raise ValueError(f"{key} has {len(names)} names for {count} neurons")
        arrays[key] = np.array(names, dtype=np.str_)
    hidden = ["sigmoid"] * (n_layers - 1) if activations is None else [str(name) for name
                                                                      in activations]
    if len(hidden) != n_layers - 1:
        raise ValueError(f"activations has {len(hidden)} names for {n_layers - 1} hidden layers")
    if any(name != "sigmoid" for name in hidden) or output != "sigmoid":
        arrays["activations"] = np.array(hidden, dtype=np.str_).reshape(n_layers - 1)
        arrays["output"] = np.str_(output)
    if preparation is not None:
        arrays.update(_preparation_arrays(widths, **preparation))
    return arrays


def _preparation_arrays(sizes: Sequence[int], task: str, input_mean: ArrayLike | None = None,
                        input_scale: ArrayLike | None = None,
                        target_mean: ArrayLike | None = None,
                        target_scale: ArrayLike | None = None,
                        class_column: str | None = None,
                        classes: Sequence[object] | None = None) -> Arrays:
    """The version-2 entries of fastprop train's data preparation, checked as read_model
    checks them (so that nothing is written that would not load)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    arrays: Arrays = {"task": np.str_(task)}
    for kind, mean, scale, width in (("input", input_mean, input_scale, sizes[0]),
                                     ("target", target_mean, target_scale, sizes[-1])):
        if (mean is None) != (scale is None):
            raise ValueError(f"{kind}_mean and {kind}_scale go together: give both or neither")
        if mean is None:
            continue
        for key, values in ((f"{kind}_mean", mean), (f"{kind}_scale", scale)):
            array = np.array(values, dtype=np.float64)
            if array.shape != (width,):
                raise ValueError(f"{key} must hold one number per {kind} ({width}), "
                                 f"got shape {array.shape}")
            if not np.isfinite(array).all() or (key.endswith("scale") and (array <= 0).any()):
                raise ValueError(f"{key} must hold finite numbers"
                                 + (" > 0" if key.endswith("scale") else ""))
            arrays[key] = array
    if task == "regress":
        if classes is not None or class_column is not None:
            raise ValueError("classes and class_column belong to task 'classify'")
        return arrays
    if target_mean is not None:
        raise ValueError("target_mean and target_scale belong to task 'regress'")
    if classes is None or class_column is None:
        raise ValueError("task 'classify' needs classes and class_column")
    labels = list(classes)
    integers = [int(label) for label in labels
                if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_))]
    strings = [label for label in labels if isinstance(label, str)]
    if len(integers) == len(labels):
        kind, texts = "int", [str(label) for label in integers]
    elif len(strings) == len(labels):
        kind, texts = "str", strings
    else:
        raise TypeError("classes must be all strings or all integers")
    count = _class_count(sizes)
    if len(texts) != count:
        raise ValueError(f"a network with {sizes[-1]} output(s) classifies {count} classes, "
                         f"got {len(texts)}")
    if len(set(texts)) != len(texts):
        raise ValueError("classes must be distinct")
    arrays.update(class_column=np.str_(str(class_column)),
                  classes=np.array(texts, dtype=np.str_), classes_kind=np.str_(kind))
    return arrays


def _class_count(sizes: Sequence[int] | NDArray[Any]) -> int:
    """The classes a classifier of these sizes has: one per output, or two for one sigmoid."""
    return int(sizes[-1]) if sizes[-1] > 1 else 2


def write_model(path: PathLike, sizes: ArrayLike, dtype: Any, loss: str,
                weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], *,
                input_names: Sequence[object] | None = None,
                output_names: Sequence[object] | None = None,
                activations: Sequence[object] | None = None, output: str = "sigmoid",
                task: str | None = None, input_mean: ArrayLike | None = None,
                input_scale: ArrayLike | None = None, target_mean: ArrayLike | None = None,
                target_scale: ArrayLike | None = None, class_column: str | None = None,
                classes: Sequence[object] | None = None) -> None:
    """Write a model file to ``path`` (the exact name given; no suffix is added).

    Everything is checked before anything is written. The file is written to a
    temporary file in the same directory and renamed into place, so an interrupted or
    failed save leaves any old file intact; on Linux the temporary file is unnamed
    (O_TMPFILE) until it is complete, so a process killed while saving leaves no
    temporary file behind.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; its directory must exist.
    sizes : array_like of int, shape (n_layers + 1,)
        The layer widths, input first.
    dtype : numpy.float32 or numpy.float64
        The dtype the weights and biases are written in.
    loss : str
        Stored as given (``read_model`` returns it; building a network checks it).
    weights, biases : sequence of array_like
        Per layer, a ``(n_out, n_in)`` matrix and a ``(n_out,)`` vector, all finite.
    input_names, output_names : sequence of str, optional
        A name per input and per output neuron (``fastprop train`` writes them).
    activations : sequence of str, optional
        One function per hidden layer (None: the sigmoid); written with ``output``
        where any is not the sigmoid.
    output : str
        The output layer's function, default ``"sigmoid"``.
    task : {"regress", "classify"}, optional
        How ``fastprop train`` prepared the data; None writes none of what follows.
    input_mean, input_scale : array_like of float, shape (sizes[0],), optional
        The inputs' standardisation (both or neither; every scale > 0).
    target_mean, target_scale : array_like of float, shape (sizes[-1],), optional
        The targets' standardisation, for ``"regress"`` only.
    class_column : str, optional
        For ``"classify"``: the name of the label column.
    classes : sequence of str or of int, optional
        For ``"classify"``: the distinct labels, one per output (two for one output).

    Raises
    ------
    TypeError
        For a path that is not a str or os.PathLike, a dtype that is not float32 or
        float64, or classes that mix strings and integers.
    ValueError
        For arrays that do not fit ``sizes`` or are not finite, names of the wrong count,
        or a data preparation that ``read_model`` would refuse; nothing is written.
    OSError
        When the directory does not exist or the file cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastprop.persistence import read_model, write_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> write_model(path, [2, 1], np.float64, "bce", [np.ones((1, 2))], [np.zeros(1)],
    ...             input_names=["x", "y"], task="classify", class_column="label",
    ...             classes=["no", "yes"])
    >>> model = read_model(path)
    >>> model.sizes, model.input_names, model.classes
    ((2, 1), ['x', 'y'], ('no', 'yes'))
    """
    target = validate_save_path(path)
    preparation = None if task is None else {
        "task": task, "input_mean": input_mean, "input_scale": input_scale,
        "target_mean": target_mean, "target_scale": target_scale,
        "class_column": class_column, "classes": classes}
    if task is None and any(value is not None for value in (
            input_mean, input_scale, target_mean, target_scale, class_column, classes)):
        raise ValueError("input_mean, input_scale, target_mean, target_scale, class_column "
                         "and classes need a task")
    arrays = _model_arrays(sizes, dtype, loss, weights, biases, input_names, output_names,
                           activations, output, preparation)
    write_atomically(target, lambda stream: np.savez(stream, **arrays))
    _sync_directory(target.parent)


def write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file whole or not at all: write(stream) fills it, which then replaces target
    (an overwritten file keeps its permissions, a new one gets the umask's). Model files,
    ONNX files and the explain pictures are written this way."""
    if not _write_unnamed_then_link(target, write):
        _write_named_then_rename(target, write)


def _write_unnamed_then_link(target: Path, write: Callable[[BinaryIO], object]) -> bool:
    """Write the file unnamed (Linux's O_TMPFILE), then give it a temporary name and rename
    that over target: a process killed while writing leaves nothing behind (a named
    temporary file stays, 62 files and 1.7 GB after 100 SIGKILLs), only between the link
    and the rename, microseconds. False, having written nothing, where the system or the
    file system has no unnamed files."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        descriptor = os.open(target.parent, flag | os.O_WRONLY, 0o600)
    except OSError:             # EOPNOTSUPP, EISDIR, EINVAL: not here
        return False
    with os.fdopen(descriptor, "wb") as stream:
        write(stream)
        stream.flush()
        os.fsync(stream.fileno())
        os.fchmod(stream.fileno(), _new_file_mode(target))
        temporary = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
        try:
            proc = os.open("/proc/self/fd", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return False
        try:
            # linkat(/proc/self/fd, "N", ..., AT_SYMLINK_FOLLOW): os.link takes that route
            # only when given a directory descriptor (plain link() fails with EXDEV).
            try:
                os.link(str(stream.fileno()), temporary, src_dir_fd=proc, follow_symlinks=True)
            except (OSError, NotImplementedError):
                return False    # written for nothing; the named way starts again
            # Renamed at once: the name exists only between these two system calls (a
            # SIGKILL in CI once landed between the link and a rename that waited for two
            # closes).
            try:
                os.replace(temporary, target)
            except BaseException:
                _remove(temporary)
                raise
        finally:
            os.close(proc)
    return True


def _write_named_then_rename(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """The portable way: a named temporary file in target's directory, renamed over it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _new_file_mode(target))
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _new_file_mode(target: Path) -> int:
    """Keep an overwritten file's permissions; give a new file the usual umask-based ones."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows it (POSIX)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def read_model(path: PathLike) -> ModelData:
    """Read and check a model file written by ``write_model`` (format version 1 or 2).

    The file is read as untrusted input: see the module's docstring ("Reading a file").

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    ModelData
        The arrays and metadata the file holds, checked against one another.

    Raises
    ------
    ModelFileError
        For anything wrong with the file, naming it and the problem.
    TypeError
        For a path that is not a str or os.PathLike.
        A missing file's is also a FileNotFoundError, an unreadable one's a
        PermissionError.
    OSError
        When the file cannot be read for another reason (an I/O error).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastprop.persistence import read_model, write_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> write_model(path, [3, 1], np.float32, "mse", [np.zeros((1, 3))], [np.ones(1)],
    ...             output="identity", task="regress", input_mean=[0, 1, 2],
    ...             input_scale=[1, 1, 4])
    >>> model = read_model(path)
    >>> model.dtype, model.output, model.task, model.input_scale.tolist()
    (dtype('float32'), 'identity', 'regress', [1.0, 1.0, 4.0])
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    name = str(path)
    arrays = _read_arrays(path, name)
    sizes, loss, dtype = _check_header(arrays, name)
    weights, biases = _check_parameters(arrays, name, sizes, dtype)
    names = [_check_names(arrays, name, key, count)
             for key, count in (("input_names", sizes[0]), ("output_names", sizes[-1]))]
    unexpected = sorted(set(arrays) - set(_HEADER_KEYS) - set(_NAME_KEYS) - set(_FUNCTION_KEYS)
                        - set(_PREPARATION_KEYS)
                        - {f"{kind}{layer}" for kind in "Wb" for layer in range(1, len(sizes))})
    if unexpected:
        raise ModelFileError(f"{name}: unexpected arrays {', '.join(unexpected)} "
                             f"for a {_sizes_text(sizes)} network")
    activations, output = _check_functions(arrays, name, len(sizes) - 2)
    preparation = _check_preparation(arrays, name, sizes)
    return ModelData(sizes=tuple(sizes), dtype=dtype, loss=loss, weights=weights, biases=biases,
                     input_names=names[0], output_names=names[1], activations=activations,
                     output=output, **preparation)


def _read_arrays(path: PathLike, name: str) -> Arrays:
    """The arrays of the model file at path, each checked against what the file may hold
    before it is read (see the module's docstring: "Reading a file")."""
    descriptor = _open_regular_file(path, name)
    with os.fdopen(descriptor, "rb") as stream:
        magic = stream.read(len(_ZIP_MAGIC))
        if len(magic) == 0:
            raise ModelFileError(f"{name}: the file is empty, not a fastprop model file")
        if magic != _ZIP_MAGIC:
            raise ModelFileError(f"{name}: not a fastprop model file (not an .npz archive)")
        file_size = os.fstat(stream.fileno()).st_size
        try:
            with zipfile.ZipFile(stream) as archive:
                return _read_members(archive, name, file_size)
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as error:
            raise ModelFileError(f"{name}: the file is truncated or corrupted ({error})") from error


def _open_regular_file(path: PathLike, name: str) -> int:
    """A descriptor of path opened for reading, refused unless it is a regular file: a FIFO
    would block a read forever, a device give endless data. Opened without blocking and then
    checked, so that nothing can swap the file between the check and the open."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, PermissionError) as error:
        refusal = (_MissingModelFileError if isinstance(error, FileNotFoundError)
                   else _UnreadableModelFileError)
        refused = refusal(f"{name}: {error.strerror}")
        refused.errno, refused.strerror, refused.filename = error.errno, error.strerror, name
        raise refused from error
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)"
                    if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise ModelFileError(f"{name}: not a fastprop model file ({kind}, not a regular file)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _members(archive: zipfile.ZipFile, name: str, file_size: int) -> dict[str, zipfile.ZipInfo]:
    """{key: ZipInfo} of the archive's members ("W1.npy" is key "W1"), each checked to be
    stored as fastprop stores it: uncompressed, inside the file, not overlapping another,
    so that what is read can never outgrow the file."""
    members, duplicates = {}, []
    stored_bytes = 0
    for info in archive.infolist():
        key = info.filename[:-len(".npy")] if info.filename.endswith(".npy") else info.filename
        if key in members:
            duplicates.append(info.filename)
        members[key] = info
        if (info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size
                or info.header_offset + info.compress_size > file_size):
            raise ModelFileError(
                f"{name}: member {info.filename!r} is compressed or extends beyond the file "
                f"({info.file_size} bytes declared, {info.compress_size} stored, in a file of "
                f"{file_size}); fastprop writes its arrays uncompressed")
        stored_bytes += info.compress_size
    if duplicates:
        raise ModelFileError(f"{name}: members stored more than once: {_first_few(duplicates)}")
    if stored_bytes > file_size:
        raise ModelFileError(f"{name}: its members declare {stored_bytes} bytes in a file of "
                             f"{file_size}: members overlap, which fastprop never writes")
    return members


def _read_members(archive: zipfile.ZipFile, name: str, file_size: int) -> Arrays:
    members = _members(archive, name, file_size)
    # Check the marker before reading anything else from a possibly foreign archive.
    if "format" not in members:
        raise ModelFileError(f"{name}: not a fastprop model file (an .npz "
                             "archive without fastprop's 'format' entry)")
    arrays = {}
    for key in _HEADER_KEYS:
        if key in members:
            arrays[key] = _read_member(archive, members[key], name, key, _small_header_entry)
            if key == "format":
                _check_format(arrays, name)
    sizes, _, dtype = _check_header(arrays, name)
    expected = {**{key: _small_header_entry for key in _HEADER_KEYS},
                **{key: _names_entry(count) for key, count
                   in (("input_names", sizes[0]), ("output_names", sizes[-1]),
                       ("activations", len(sizes) - 2))},
                "output": _small_header_entry}
    if int(arrays["format_version"]) >= 2:
        expected.update({key: _scalar_string_entry
                         for key in ("task", "class_column", "classes_kind")})
        expected.update({key: _parameter_entry((sizes[0],), np.dtype(np.float64), sizes)
                         for key in ("input_mean", "input_scale")})
        expected.update({key: _parameter_entry((sizes[-1],), np.dtype(np.float64), sizes)
                         for key in ("target_mean", "target_scale")})
        expected["classes"] = _names_entry(_class_count(sizes))
    for layer in range(1, len(sizes)):
        expected[f"W{layer}"] = _parameter_entry((sizes[layer], sizes[layer - 1]), dtype, sizes)
        expected[f"b{layer}"] = _parameter_entry((sizes[layer],), dtype, sizes)
    unexpected = [key for key in members if key not in expected]
    if unexpected:
        raise ModelFileError(f"{name}: unexpected arrays {_first_few(sorted(unexpected))} "
                             f"for a {_sizes_text(sizes)} network")
    for key, info in members.items():
        if key not in arrays:
            arrays[key] = _read_member(archive, info, name, key, expected[key])
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, key: str,
                 check: HeaderCheck) -> NDArray[Any]:
    """One .npy member as an array, its header read and check(shape, dtype) applied (a
    message: refused) before its data."""
    if not info.filename.endswith(".npy"):
        raise ModelFileError(f"{name}: entry {key!r} is not a NumPy array")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f".npy format version {version}")
            shape, fortran_order, dtype = read_header(member, max_header_size=_MAX_NPY_HEADER)
        except ValueError as error:       # numpy's text would suggest allow_pickle=True
            raise ModelFileError(f"{name}: entry {key!r} is not a NumPy array that fastprop "
                                 f"writes (its .npy header is malformed or longer than "
                                 f"{_MAX_NPY_HEADER} bytes)") from error
        if dtype.hasobject:
            raise ModelFileError(f"{name}: holds pickled (object) data in entry {key!r}, "
                                 "which fastprop never writes and refuses to load")
        problem = check(shape, dtype)
        if problem:
            raise ModelFileError(f"{name}: {problem(key)}")
        size = dtype.itemsize * math.prod(shape)
        if size > info.file_size:
            raise ModelFileError(f"{name}: the file is truncated or corrupted (entry {key!r} "
                                 f"declares {size} bytes of data in a member of {info.file_size})")
        data = bytearray(size)
        if member.readinto(data) != size or member.read(1):  # type: ignore[attr-defined]    # the CRC is checked at the end
            raise ModelFileError(f"{name}: the file is truncated or corrupted (entry {key!r} "
                                 "holds more or less data than its header declares)")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def _small_header_entry(shape: tuple[int, ...],
                        dtype: np.dtype[Any]) -> Callable[[str], str] | None:
    """format, format_version, sizes, loss and dtype: a scalar or a short vector."""
    if len(shape) > 1 or math.prod(shape) > _MAX_LAYERS + 1 or dtype.itemsize > _MAX_NAME_BYTES:
        return lambda key: (f"'{key}' must be a string, an integer or a list of layer sizes, "
                            f"got an array of dtype {dtype} and shape {shape}")
    return None


def _scalar_string_entry(shape: tuple[int, ...],
                         dtype: np.dtype[Any]) -> Callable[[str], str] | None:
    """task, class_column, classes_kind: one string."""
    if shape != () or dtype.kind != "U" or dtype.itemsize > _MAX_NAME_BYTES:
        return lambda key: f"'{key}' must be a string, got dtype {dtype} and shape {shape}"
    return None


def _names_entry(count: int) -> HeaderCheck:
    def check(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Callable[[str], str] | None:
        if shape != (count,) or dtype.kind != "U" or dtype.itemsize > _MAX_NAME_BYTES:
            return lambda key: (f"'{key}' must hold {count} strings, "
                                f"got dtype {dtype} and shape {shape}")
        return None
    return check


def _parameter_entry(expected_shape: tuple[int, ...], expected_dtype: np.dtype[Any],
                     sizes: Sequence[int]) -> HeaderCheck:
    def check(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Callable[[str], str] | None:
        if shape != expected_shape:
            return lambda key: (f"array {key} has shape {shape}, but a {_sizes_text(sizes)} "
                                f"network needs {expected_shape}")
        if dtype != expected_dtype:
            return lambda key: f"array {key} has dtype {dtype}, but the file says {expected_dtype}"
        return None
    return check


def _first_few(names: Sequence[object], shown: int = 5) -> str:
    """'a, b, c' or 'a, b, c, d, e and 95 more'."""
    names = list(names)
    text = ", ".join(map(str, names[:shown]))
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _sizes_text(sizes: Sequence[int] | NDArray[Any]) -> str:
    return "-".join(str(size) for size in sizes)


def _scalar_string(arrays: Arrays, name: str, key: str) -> str:
    value = arrays[key]
    if value.ndim != 0 or value.dtype.kind != "U":
        raise ModelFileError(f"{name}: '{key}' must be a string, got an array of "
                             f"dtype {value.dtype} and shape {value.shape}")
    return str(value)


def _check_format(arrays: Arrays, name: str) -> None:
    value = arrays["format"]
    if value.ndim != 0 or value.dtype.kind != "U" or str(value) != FORMAT_NAME:
        raise ModelFileError(f"{name}: not a fastprop model file "
                             f"(its 'format' entry is not {FORMAT_NAME!r})")


def _check_header(arrays: Arrays, name: str) -> tuple[list[int], str, np.dtype[Any]]:
    missing = [key for key in _HEADER_KEYS if key not in arrays]
    if missing:
        raise ModelFileError(f"{name}: incomplete model file, missing {', '.join(missing)}")
    version = arrays["format_version"]
    if version.ndim != 0 or version.dtype.kind not in "iu":
        raise ModelFileError(f"{name}: 'format_version' must be an integer")
    if int(version) not in READABLE_VERSIONS:
        newer = " (written by a newer fastprop)" if int(version) > FORMAT_VERSION else ""
        raise ModelFileError(f"{name}: unsupported format version {int(version)}{newer}; "
                             f"this fastprop reads versions "
                             f"{', '.join(map(str, READABLE_VERSIONS))}")
    sizes = arrays["sizes"]
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or len(sizes) < 2 or (sizes < 1).any():
        raise ModelFileError(f"{name}: 'sizes' must list at least two positive layer sizes, "
                             f"got {sizes.tolist()!r}")
    dtype = _scalar_string(arrays, name, "dtype")
    if dtype not in _DTYPES:
        raise ModelFileError(f"{name}: unsupported dtype {dtype!r}; expected float32 or float64")
    loss = _scalar_string(arrays, name, "loss")
    return [int(size) for size in sizes], loss, np.dtype(dtype)


def _check_parameters(arrays: Arrays, name: str, sizes: Sequence[int], dtype: np.dtype[Any]
                      ) -> tuple[list[NDArray[Any]], list[NDArray[Any]]]:
    weights: list[NDArray[Any]] = []
    biases: list[NDArray[Any]] = []
    for layer in range(1, len(sizes)):
        for key, shape, into in ((f"W{layer}", (sizes[layer], sizes[layer - 1]), weights),
                                 (f"b{layer}", (sizes[layer],), biases)):
            if key not in arrays:
                raise ModelFileError(f"{name}: missing array {key} of a "
                                     f"{_sizes_text(sizes)} network")
            array = arrays[key]
            if array.shape != shape:
                raise ModelFileError(f"{name}: array {key} has shape {array.shape}, but a "
                                     f"{_sizes_text(sizes)} network needs {shape}")
            if array.dtype != dtype:
                raise ModelFileError(f"{name}: array {key} has dtype {array.dtype}, "
                                     f"but the file says {dtype}")
            if not np.isfinite(array).all():
                raise ModelFileError(f"{name}: array {key} holds non-finite values")
            into.append(array)
    return weights, biases


def _check_functions(arrays: Arrays, name: str,
                     n_hidden: int) -> tuple[tuple[str, ...] | None, str]:
    """(activations, output) the file holds: both or neither (then the sigmoid's)."""
    present = [key for key in _FUNCTION_KEYS if key in arrays]
    if not present:
        return None, "sigmoid"
    if len(present) == 1:
        raise ModelFileError(f"{name}: it has '{present[0]}' without "
                             f"'{[key for key in _FUNCTION_KEYS if key not in present][0]}'")
    activations = _check_names(arrays, name, "activations", n_hidden) or []
    return tuple(activations), _scalar_string(arrays, name, "output")


def _check_names(arrays: Arrays, name: str, key: str, count: int) -> list[str] | None:
    if key not in arrays:
        return None
    names = arrays[key]
    if names.ndim != 1 or names.dtype.kind != "U" or len(names) != count:
        raise ModelFileError(f"{name}: '{key}' must hold {count} strings, "
                             f"got dtype {names.dtype} and shape {names.shape}")
    return [str(item) for item in names]


def _check_preparation(arrays: Arrays, name: str, sizes: Sequence[int]) -> dict[str, Any]:
    """The ModelData fields of the version-2 data-preparation entries, checked."""
    present = [key for key in _PREPARATION_KEYS if key in arrays]
    if not present:
        return {}
    if "task" not in arrays:
        raise ModelFileError(f"{name}: it has {', '.join(present)} without 'task'")
    task = _scalar_string(arrays, name, "task")
    if task not in TASKS:
        raise ModelFileError(f"{name}: unknown task {task!r}; expected "
                             f"{' or '.join(map(repr, TASKS))}")
    fields: dict[str, Any] = {"task": task}
    for kind, width in (("input", sizes[0]), ("target", sizes[-1])):
        scaler = [key for key in (f"{kind}_mean", f"{kind}_scale") if key in arrays]
        if len(scaler) == 1:
            other = f"{kind}_scale" if scaler[0] == f"{kind}_mean" else f"{kind}_mean"
            raise ModelFileError(f"{name}: it has '{scaler[0]}' without '{other}'")
        if not scaler:
            continue
        if kind == "target" and task != "regress":
            raise ModelFileError(f"{name}: task {task!r} with target_mean and target_scale")
        mean, scale = arrays[f"{kind}_mean"], arrays[f"{kind}_scale"]
        for key, values in ((f"{kind}_mean", mean), (f"{kind}_scale", scale)):
            if values.shape != (width,) or values.dtype != np.float64:
                raise ModelFileError(f"{name}: '{key}' must hold {width} float64 numbers, "
                                     f"got dtype {values.dtype} and shape {values.shape}")
            if not np.isfinite(values).all():
                raise ModelFileError(f"{name}: '{key}' holds non-finite values")
        if (scale <= 0).any():
            raise ModelFileError(f"{name}: '{kind}_scale' holds values <= 0")
        fields.update({f"{kind}_mean": np.array(mean), f"{kind}_scale": np.array(scale)})
    class_keys = [key for key in ("class_column", "classes", "classes_kind") if key in arrays]
    if task == "regress":
        if class_keys:
            raise ModelFileError(f"{name}: task 'regress' with {', '.join(class_keys)}")
        return fields
    if len(class_keys) != 3:
        missing = [key for key in ("class_column", "classes", "classes_kind")
                   if key not in class_keys]
        raise ModelFileError(f"{name}: task 'classify' without {', '.join(missing)}")
    kind = _scalar_string(arrays, name, "classes_kind")
    if kind not in CLASS_KINDS:
        raise ModelFileError(f"{name}: 'classes_kind' must be 'str' or 'int', got {kind!r}")
    texts = _check_names(arrays, name, "classes", _class_count(sizes)) or []
    if len(set(texts)) != len(texts):
        raise ModelFileError(f"{name}: 'classes' names a class more than once")
    classes: tuple[str, ...] | tuple[int, ...] = tuple(texts)
    if kind == "int":
        try:
            integers = tuple(int(text) for text in texts)
        except ValueError:
            integers = ()
        if [str(label) for label in integers] != texts:
            raise ModelFileError(f"{name}: 'classes' of kind 'int' must hold integers "
                                 f"written in decimal, got {_first_few(texts)}")
        classes = integers
    fields.update(class_column=_scalar_string(arrays, name, "class_column"), classes=classes)
    return fields
