"""Networks out of fastprop and back: ONNX (``to_onnx``) and PyTorch (``to_torch``,
``network_from_torch``, which is ``Network.from_torch``).

The ONNX graph of a network of L layers is, layer by layer, a ``Gemm`` (``transB=1``:
the weights are stored in ``Network.weights``' ``(n_out, n_in)`` layout, the bias is its
``C``) followed by the layer's function: ``Sigmoid``, ``Tanh``, ``Relu``, nothing for
the identity, ``Softmax`` (``axis=-1``) after the output layer. Tensors are of the
network's dtype (``tensor(float)`` or ``tensor(double)``); the first dimension is the
batch (symbolic, ``"batch"``). Names:

* input ``"input"``: ``(batch, n_in)``;
* output ``"output"`` for a ``Network``: ``(batch, n_out)``, ``Network.forward``;
* output ``"probabilities"`` for a fitted ``NetworkClassifier``: ``predict_proba``
  (a binary classifier's one sigmoid output ``p`` becomes the columns ``[1 - p, p]``);
* output ``"predictions"`` for a fitted ``NetworkRegressor``: ``predict``, ``(batch,)``
  for a single target (a ``Squeeze`` of the output's second axis), else
  ``(batch, n_outputs)``.

The graph uses opset 21 and IR version 10, which onnxruntime runs from version 1.18.
``onnx`` and ``torch`` are imported only when these functions are called.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._version import __version__
from .network import Network
from .persistence import write_atomically

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    import onnx
    import torch

__all__ = ["network_from_torch", "to_onnx", "to_torch"]

#: The ONNX operator set the graphs use, and the IR version that goes with it: both
#: supported by onnxruntime 1.18 and later.
ONNX_OPSET = 21
ONNX_IR_VERSION = 10

_INSTALL_HINT = ('pip install ".[onnx]" in a source checkout of fastprop (or pip install '
                 '"onnx>=1.16" "onnxruntime>=1.18"); the PyPI project named "fastprop" is '
                 "an unrelated one")
_ONNX_FUNCTIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "identity": None,
                   "softmax": "Softmax"}


# ----------------------------------------------------------------------------- models
def _network_of(model: object, what: str) -> tuple[Network, str | None]:
    """(the network, "classifier", "regressor" or None) of what to export: a Network, or
    a fitted estimator of fastprop.sklearn (looked for only if that module is imported:
    an instance of it cannot exist otherwise)."""
    if isinstance(model, Network):
        return model, None
    classifier_module = sys.modules.get("fastprop.sklearn._classifier")
    regressor_module = sys.modules.get("fastprop.sklearn._regressor")
    kind = None
    if classifier_module is not None and isinstance(model, classifier_module.NetworkClassifier):
        kind = "classifier"
    elif regressor_module is not None and isinstance(model, regressor_module.NetworkRegressor):
        kind = "regressor"
    if kind is None:
        raise TypeError(f"{what} takes a fastprop.Network or a fitted "
                        "fastprop.sklearn.NetworkClassifier or NetworkRegressor, got "
                        f"{type(model).__module__}.{type(model).__qualname__}")
    network = getattr(model, "network_", None)
    if not isinstance(network, Network):
        raise ValueError(f"this {type(model).__name__} is not fitted yet: call fit before "
                         f"{what}")
    return network, kind


def _hidden_functions(network: Network) -> list[str]:
    """The function of each hidden layer, by name."""
    activation = network.activation
    n_hidden = len(network.sizes) - 2
    return [activation] * n_hidden if isinstance(activation, str) else list(activation)


# ------------------------------------------------------------------------------- ONNX
def _require_onnx() -> None:
    """An ImportError that says how to install onnx, unless it can be imported."""
    try:
        import onnx  # noqa: F401
    except ImportError as error:
        raise ImportError(f"fastprop.to_onnx needs the onnx package: {_INSTALL_HINT}") from error


def _checked_path(path: str | os.PathLike[str] | None) -> str | None:
    """path as a string, refused (before any work) unless it names a file that can be
    written in an existing directory."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be None, a str or an os.PathLike, got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise TypeError(f"path must name a file (a non-empty str or os.PathLike of str), "
                        f"got {path!r}")
    directory = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(directory):
        raise ValueError(f"path {text!r}: its directory {directory!r} does not exist")
    if os.path.isdir(text):
        raise ValueError(f"path {text!r} is a directory, not a file")
    return text


def to_onnx(model: object, path: str | os.PathLike[str] | None = None) -> onnx.ModelProto:
    """The ONNX model of a network, or of a fitted scikit-learn estimator of fastprop.

    Parameters
    ----------
    model : fastprop.Network, or a fitted fastprop.sklearn.NetworkClassifier or NetworkRegressor
        What to export. The graph computes ``Network.forward`` (output ``"output"``),
        the classifier's ``predict_proba`` (output ``"probabilities"``) or the
        regressor's ``predict`` (output ``"predictions"``); the input is ``"input"``,
        ``(batch, n_in)``, in the network's dtype, for any batch size (an estimator's
        columns in the order it was fitted with: ``feature_names_in_`` are not kept).
    path : str, os.PathLike or None, default None
        Where to write the model as well (atomically: a failed write leaves no file).
        A path whose directory does not exist is refused before any work is done.

    Returns
    -------
    onnx.ModelProto
        Checked by ``onnx.checker``; opset 21, IR version 10. The weights are stored in
        the network's dtype, bit for bit.

    Raises
    ------
    ImportError
        If the ``onnx`` package is not installed.
    TypeError
        If ``model`` is neither a Network nor a fastprop estimator, or ``path`` is not a
        path.
    ValueError
        If the estimator is not fitted, or ``path`` is a directory or lies in a
        directory that does not exist.

    Examples
    --------
    >>> import numpy as np, fastprop, onnxruntime
    >>> net = fastprop.Network([3, 4, 2], seed=0, output="softmax", loss="cross_entropy")
    >>> model = fastprop.to_onnx(net)
    >>> [node.op_type for node in model.graph.node]
    ['Gemm', 'Sigmoid', 'Gemm', 'Softmax']
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> (probabilities,) = session.run(None, {"input": X})
    >>> bool(np.allclose(probabilities, net.forward(X), rtol=1e-12, atol=0))
    True
    """
    network, kind = _network_of(model, "to_onnx")
    text_path = _checked_path(path)
    _require_onnx()
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dtype = network.dtype
    element_type = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    functions = _hidden_functions(network) + [network.output]
    nodes = []
    initializers = []
    current = "input"
    for layer, (weights, biases, function) in enumerate(
            zip(network.weights, network.biases, functions)):
        initializers += [numpy_helper.from_array(weights, f"layer{layer}.weight"),
                         numpy_helper.from_array(biases, f"layer{layer}.bias")]
        z = f"layer{layer}.z"
        nodes.append(helper.make_node("Gemm", [current, f"layer{layer}.weight",
                                               f"layer{layer}.bias"], [z], transB=1,
                                      name=f"layer{layer}.gemm"))
        current = z
        operator = _ONNX_FUNCTIONS[function]
        if operator is not None:
            a = f"layer{layer}.{function}"
            if operator == "Softmax":
                nodes.append(helper.make_node(operator, [z], [a], name=a, axis=-1))
            else:
                nodes.append(helper.make_node(operator, [z], [a], name=a))
            current = a

    n_out = network.sizes[-1]
    output_shape: list[str | int]
    if kind is None:
        output_name, output_shape = "output", ["batch", n_out]
        description = "Network.forward"
    elif kind == "classifier":
        output_name, output_shape = "probabilities", ["batch", max(n_out, 2)]
        description = (f"{type(model).__name__}.predict_proba, columns in the order of "
                       f"classes_ = {list(getattr(model, 'classes_'))!r}")
        if n_out == 1:
            # scikit-learn's binary case: the one sigmoid output p is the probability of
            # classes_[1]; predict_proba's columns are [1 - p, p].
            initializers.append(numpy_helper.from_array(np.ones((1, 1), dtype=dtype), "one"))
            nodes += [helper.make_node("Sub", ["one", current], ["complement"],
                                       name="complement"),
                      helper.make_node("Concat", ["complement", current], [output_name],
                                       axis=1, name="probabilities")]
            current = output_name
    else:
        output_name = "predictions"
        description = f"{type(model).__name__}.predict"
        output_shape = ["batch"] if n_out == 1 else ["batch", n_out]
        if n_out == 1:
            initializers.append(numpy_helper.from_array(np.array([1], dtype=np.int64),
                                                        "squeezed_axis"))
            nodes.append(helper.make_node("Squeeze", [current, "squeezed_axis"], [output_name],
                                          name="predictions"))
            current = output_name
    if current != output_name:          # the last layer's tensor is the graph's output
        nodes[-1].output[0] = output_name

    graph = helper.make_graph(
        nodes, "fastprop",
        [helper.make_tensor_value_info("input", element_type, ["batch", network.sizes[0]])],
        [helper.make_tensor_value_info(output_name, element_type, output_shape)],
        initializer=initializers,
        doc_string=f"fastprop {network!r}: output {output_name!r} is {description}")
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                                   producer_name="fastprop")
    onnx_model.ir_version = ONNX_IR_VERSION
    onnx_model.producer_version = __version__
    onnx.checker.check_model(onnx_model, full_check=True)
    if text_path is not None:
        serialized = onnx_model.SerializeToString()
        write_atomically(Path(text_path).absolute(), lambda stream: stream.write(serialized))
    return onnx_model


# ---------------------------------------------------------------------------- PyTorch
def _require_torch() -> None:
    """An ImportError that says how to install PyTorch, unless it can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise ImportError("this needs PyTorch (pip install torch; see https://pytorch.org "
                          "for the CPU-only wheels)") from error


def to_torch(net: Network) -> torch.nn.Sequential:
    """The network as a ``torch.nn.Sequential`` with the same weights and outputs.

    Parameters
    ----------
    net : fastprop.Network
        The network. A fitted scikit-learn estimator of fastprop is refused: its
        ``predict_proba`` (two columns from one sigmoid output) is not a Sequential of
        layers; export its ``network_`` (whose outputs are ``Network.forward``'s).

    Returns
    -------
    torch.nn.Sequential
        For each layer a ``torch.nn.Linear`` (``weight`` is ``Network.weights``' matrix,
        ``(n_out, n_in)``, ``bias`` the biases, copies in the network's dtype), followed
        by ``torch.nn.Sigmoid``, ``torch.nn.Tanh``, ``torch.nn.ReLU`` or
        ``torch.nn.Identity`` after a hidden layer, and ``torch.nn.Sigmoid``,
        ``torch.nn.Softmax(dim=-1)`` or nothing (the identity) after the output layer.
        Its parameters require gradients, as any new module's.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    TypeError
        If ``net`` is not a ``fastprop.Network``.

    Examples
    --------
    >>> import numpy as np, fastprop, torch
    >>> net = fastprop.Network([2, 3, 1], seed=0, activation="tanh")
    >>> module = fastprop.to_torch(net)
    >>> module
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
      (3): Sigmoid()
    )
    >>> X = np.array([[0.5, -1.0]])
    >>> with torch.no_grad():
    ...     output = module(torch.from_numpy(X)).numpy()
    >>> bool(np.allclose(output, net.forward(X), rtol=1e-12, atol=0))
    True
    """
    if not isinstance(net, Network):
        estimator = ""
        if hasattr(net, "network_") or type(net).__module__.startswith("fastprop.sklearn"):
            estimator = (" (for a fitted fastprop.sklearn estimator, pass its network_: a "
                         "Sequential computes Network.forward, not predict_proba or predict)")
        raise TypeError(f"to_torch takes a fastprop.Network, got "
                        f"{type(net).__module__}.{type(net).__qualname__}{estimator}")
    _require_torch()
    import torch
    torch_dtype = torch.float32 if net.dtype == np.float32 else torch.float64
    modules: list[torch.nn.Module] = []
    functions = _hidden_functions(net) + [net.output]
    last = len(functions) - 1
    for layer, (weights, biases, function) in enumerate(zip(net.weights, net.biases, functions)):
        linear = torch.nn.Linear(weights.shape[1], weights.shape[0], dtype=torch_dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights))
            linear.bias.copy_(torch.from_numpy(biases))
        modules.append(linear)
        if function == "sigmoid":
            modules.append(torch.nn.Sigmoid())
        elif function == "tanh":
            modules.append(torch.nn.Tanh())
        elif function == "relu":
            modules.append(torch.nn.ReLU())
        elif function == "softmax":
            modules.append(torch.nn.Softmax(dim=-1))
        elif layer != last:                  # an identity hidden layer, kept visible
            modules.append(torch.nn.Identity())
    return torch.nn.Sequential(*modules)


#: fastprop's name of each activation module from_torch takes.
_TORCH_FUNCTIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu",
                    "Identity": "identity", "Softmax": "softmax"}
#: The output a loss is chosen for when from_torch is given none.
_DEFAULT_LOSSES = {"sigmoid": "sse", "identity": "mse", "softmax": "cross_entropy"}


def _torch_layer_arrays(linear: torch.nn.Linear, where: str,
                        dtype: np.dtype[Any] | None) -> tuple[npt.NDArray[Any],
                                                               npt.NDArray[Any]]:
    """(weight, bias) of a torch.nn.Linear as NumPy arrays (zeros for bias=False)."""
    import torch
    weight = linear.weight
    if not isinstance(weight, torch.Tensor) or weight.is_meta:
        raise ValueError(f"{where} has no weights to read (device {weight.device}): "
                         "initialise it or move it to the CPU first")
    allowed = (torch.float32, torch.float64) if dtype is None else (
        torch.float16, torch.bfloat16, torch.float32, torch.float64)
    if weight.dtype not in allowed or (linear.bias is not None
                                       and linear.bias.dtype not in allowed):
        found = weight.dtype if weight.dtype not in allowed else linear.bias.dtype
        hint = (" (pass dtype=numpy.float32 or numpy.float64 to convert it)"
                if found in (torch.float16, torch.bfloat16) else "")
        raise TypeError(f"{where} holds {found} parameters; fastprop takes float32 or "
                        f"float64{hint}")

    def as_numpy(tensor: torch.Tensor) -> npt.NDArray[Any]:
        tensor = tensor.detach().cpu()
        if tensor.dtype in (torch.float16, torch.bfloat16):
            tensor = tensor.to(torch.float32)     # exact: both fit in float32
        return np.array(tensor.numpy(), copy=True)

    weights = as_numpy(weight)
    biases = (np.zeros(weights.shape[0], dtype=weights.dtype) if linear.bias is None
              else as_numpy(linear.bias))
    for name, array in (("weight", weights), ("bias", biases)):
        if not np.isfinite(array).all():
            raise ValueError(f"{where} has a {name} that is NaN or infinite")
    return weights, biases


def network_from_torch(module: torch.nn.Sequential, *, dtype: npt.DTypeLike | None = None,
                       loss: str | None = None) -> Network:
    """A ``fastprop.Network`` with the layers of a ``torch.nn.Sequential``
    (``Network.from_torch``).

    Parameters
    ----------
    module : torch.nn.Sequential
        ``torch.nn.Linear`` layers, each but the last followed by at most one of
        ``Sigmoid``, ``Tanh``, ``ReLU`` or ``Identity`` (nothing between two Linears is
        an identity hidden layer), the last followed by nothing or ``Identity`` (output
        "identity"), ``Sigmoid`` ("sigmoid") or ``Softmax(dim=-1)`` (also ``dim=1``: the
        last axis of a batch; "softmax"). A Linear without bias gets zero biases. Every
        other module (Dropout, LogSoftmax, a nested Sequential, subclasses of these
        modules...), two activations in a row, or widths that do not chain are refused.
    dtype : numpy.float32, numpy.float64 or None, default None
        The network's dtype. None takes the module's, which must be float32 or float64
        throughout; a dtype converts the parameters (from float16 and bfloat16 too).
    loss : str or None, default None
        The network's loss (see ``Network``); None picks the output's usual one:
        "sse" for a sigmoid output (fastprop's default), "mse" for identity,
        "cross_entropy" for softmax.

    Returns
    -------
    fastprop.Network
        Its weights and biases are copies of the module's, bit for bit (in the
        module's dtype), so ``forward`` gives the module's outputs.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    TypeError
        If ``module`` is not a Sequential, holds a module that is not supported, or
        parameters that are not float32 or float64 (without ``dtype``).
    ValueError
        If the Sequential is empty, does not start with a Linear, has two activations
        in a row, a Softmax on another dimension or before the end, a hidden layer's
        activation after the last Linear, widths that do not chain, or a ``loss`` that
        does not go with its output.

    Examples
    --------
    >>> import torch, fastprop
    >>> module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
    ...                              torch.nn.Linear(8, 3), torch.nn.Softmax(dim=-1))
    >>> net = fastprop.Network.from_torch(module)
    >>> net.sizes, net.activation, net.output, net.loss, net.dtype
    ((4, 8, 3), 'relu', 'softmax', 'cross_entropy', dtype('float32'))
    """
    _require_torch()
    import torch
    if type(module) is not torch.nn.Sequential:    # a subclass may compute something else
        raise TypeError(f"module must be a torch.nn.Sequential of Linear layers and "
                        f"activations, got {type(module).__module__}."
                        f"{type(module).__qualname__}")
    target_dtype = None if dtype is None else np.dtype(dtype)
    if target_dtype is not None and target_dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32, numpy.float64 or None, got {dtype!r}")
    children = list(module.named_children())
    if not children:
        raise ValueError("module is an empty Sequential: it needs at least one Linear layer")
    weights: list[npt.NDArray[Any]] = []
    biases: list[npt.NDArray[Any]] = []
    functions: list[str | None] = []       # after each Linear: a function name or None
    for position, (name, child) in enumerate(children):
        shown = repr(child) if "\n" not in repr(child) else f"{type(child).__name__}(...)"
        where = f"module {position} of the Sequential ({name!r}: {shown})"
        kind = type(child)
        if isinstance(child, torch.nn.Linear) and kind is torch.nn.Linear:
            if weights and weights[-1].shape[0] != child.in_features:
                raise ValueError(f"{where} takes {child.in_features} inputs, but the Linear "
                                 f"before it has {weights[-1].shape[0]} outputs")
            layer_weights, layer_biases = _torch_layer_arrays(child, where, target_dtype)
            weights.append(layer_weights)
            biases.append(layer_biases)
            functions.append(None)
            continue
        function = _TORCH_FUNCTIONS.get(kind.__name__)
        if function is None or getattr(torch.nn, kind.__name__, None) is not kind:
            extra = (" (a nested module: flatten it into one Sequential)"
                     if len(list(child.children())) else "")
            raise TypeError(f"{where} is not supported{extra}: fastprop takes torch.nn.Linear, "
                            "Sigmoid, Tanh, ReLU and Identity, and Softmax(dim=-1) at the end")
        if not weights:
            raise ValueError(f"{where} comes before any Linear layer: the Sequential must "
                             "start with a Linear")
        if functions[-1] is not None:
            raise ValueError(f"{where} follows another activation "
                             f"({functions[-1]}): one activation per Linear layer")
        if function == "softmax":
            if child.dim not in (-1, 1):
                raise ValueError(f"{where}: fastprop's softmax is over each sample's outputs, "
                                 f"Softmax(dim=-1) (or dim=1), got dim={child.dim}")
            if position != len(children) - 1:
                raise ValueError(f"{where}: a Softmax may only end the Sequential")
        functions[-1] = function
    output = functions[-1] or "identity"
    if output not in ("sigmoid", "identity", "softmax"):
        raise ValueError(f"module {len(children) - 1} of the Sequential "
                         f"({children[-1][0]!r}: {type(children[-1][1]).__name__}()) follows "
                         "the last Linear, "
                         f"but {output} is not an output of fastprop: end with Sigmoid, "
                         "Softmax(dim=-1), Identity or the Linear itself")
    hidden = [function or "identity" for function in functions[:-1]]
    if any(function == "softmax" for function in hidden):  # pragma: no cover - refused above
        raise ValueError("a Softmax may only end the Sequential")
    activation: str | list[str] = "sigmoid" if not hidden else (
        hidden[0] if len(set(hidden)) == 1 else hidden)
    if target_dtype is None:
        found = {array.dtype for array in weights + biases}
        if len(found) > 1:
            raise TypeError(f"module mixes {' and '.join(sorted(map(str, found)))} parameters; "
                            "pass dtype=numpy.float32 or numpy.float64 to convert them")
        target_dtype = weights[0].dtype
    return Network.from_weights(weights, biases, loss=_DEFAULT_LOSSES[output] if loss is None
                                else loss, dtype=target_dtype, activation=activation,
                                output=output)
