"""``explain(net, x, y, lr)``: the tutorials' step-by-step tables for one sample.

For the tutorials' network (sigmoid layers, ½ squared error) the tables are theirs;
other activations, outputs and losses show their own derivatives: ∂a/∂z = 1 − a² for
tanh, 1 or 0 for relu, 1 for the identity, and for a softmax output with the
cross-entropy (or a sigmoid output with the binary cross-entropy) the output layer's
δ = ∂L/∂z = ŷ − y, the output function's derivative and the loss's cancelling.

The tutorials whose tables these reproduce are described in docs/worked-examples.md.

The trace holds, layer by layer, every neuron's ``z`` and ``a``, the loss, every
delta ``δ = ∂L/∂z``, and for every weight and bias the chain-rule factors, the
gradient and the value after one gradient-descent step. Everything is computed
in plain Python floats (float64), from the network's current values; the
network itself is never modified.

Names, chosen so that a reader can map them to the tutorials:

* neurons: inputs ``x1, x2, …``; hidden ``h1, h2, …`` (``h2.1`` = layer 2,
  neuron 1 when there are several hidden layers); outputs ``out`` (or ``out1,
  out2, …``). The output activation is ``ŷ``.
* weights: ``w1, w2, …`` numbered layer by layer, each ``(n_out, n_in)`` matrix
  row by row (the Forward & Backpropagation tutorial's numbering), and
  ``W2[1,2]`` = layer 2, to neuron 1, from neuron 2 (1-based). Biases:
  ``b1[2]`` = layer 1, neuron 2.
"""
from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .network import Network

from ._validation import as_float_array, check_learning_rate
from .reference import activation as hidden_function
from .reference import derivative_from_output, softmax

# How each function is written in the tables: a = f(z), and ∂a/∂z from a.
_FORMULAS: dict[str, tuple[str, str, str | None]] = {"sigmoid": ("σ(z)", "σ(z) = 1 / (1 + e^(−z))", "σ'(z) = a·(1 − a)"),
             "tanh": ("tanh(z)", "tanh(z)", "tanh'(z) = 1 − a²"),
             "relu": ("relu(z)", "relu(z) = max(z, 0)", "relu'(z) = 1 if a > 0, else 0"),
             "identity": ("z", "the identity, a = z", "1"),
             "softmax": ("softmax(z)", "softmax(z)ⱼ = e^(zⱼ) / Σₖ e^(zₖ)", None)}
# The output and loss pairs whose output delta is ŷ − y, the output function's derivative
# cancelling the loss's.
_FUSED = {("sigmoid", "bce"), ("softmax", "cross_entropy")}

# Figures are printed with this many significant digits: enough to check every
# figure of the tutorials in docs/worked-examples.md (which print at most six).
SIGNIFICANT_DIGITS = 6
# Neurons with more inputs than this get "Σ …" instead of the written-out sum.
_MAX_TERMS_WRITTEN_OUT = 8
# Plain-text paragraphs are wrapped at this width (tables and formulas are not).
_TEXT_WIDTH = 88


def _number(value: float | None) -> str:
    if value is None:               # a factor a fused output's δ does not have
        return "—"
    text = f"{value:.{SIGNIFICANT_DIGITS}g}"
    return "0" if text == "-0" else text


def _operand(value: float) -> str:
    """A number inside a sum or product: negative ones in parentheses."""
    text = _number(value)
    return f"({text})" if text.startswith("-") else text


@dataclass(frozen=True)
class Factor:
    """One factor of a chain-rule product, e.g. ``Factor("∂ŷ/∂z_out", 0.186816)``.

    Parameters
    ----------
    symbol : str
        The factor as the tables write it: ``"∂L/∂ŷ"``, ``"∂ŷ/∂z_out"``,
        ``"∂z_out/∂w5"``…
    value : float
        Its value for the traced sample, in float64.
    """

    symbol: str
    value: float


@dataclass(frozen=True)
class NeuronTrace:
    """One neuron: forward values and its delta ``δ = ∂L/∂z = ∂L/∂a · ∂a/∂z``.

    Parameters
    ----------
    layer : int
        The neuron's layer, 1-based: 1 is the first layer after the inputs (the first
        hidden layer, or the output layer of a network without one); the inputs have no
        NeuronTrace.
    index : int
        The neuron's position in its layer, 1-based.
    name : str
        Its name in the tables: ``"h1"``, ``"h2.1"`` (layer 2, neuron 1, when there are
        several hidden layers), ``"out"`` or ``"out2"``.
    z : float
        Its weighted input ``z = Σᵢ wᵢ·aᵢ + b``, the sum over the previous layer's
        activations (the sample's x for layer 1) plus the neuron's bias.
    a : float
        Its activation ``a = f(z)``, f the layer's function; for an output neuron ŷ (for a
        softmax output, the softmax of the whole layer's z).
    dL_da : float or None
        ``∂L/∂a``: for an output neuron ``∂L/∂ŷ = ŷ − y``, for a hidden neuron
        ``Σₖ wₖ·δₖ`` over the next layer's neurons k, wₖ the weight from this neuron to
        k and δₖ k's delta. None for the output neurons of a softmax with
        "cross_entropy" or a sigmoid with "bce", whose ``δ = ŷ − y`` is taken whole.
    da_dz : float or None
        ``∂a/∂z = f'(z)``, computed from a: ``a·(1 − a)`` for the sigmoid, ``1 − a²`` for
        tanh, 1 if a > 0 (else 0) for relu, 1 for the identity. None where ``dL_da`` is.
    delta : float
        ``δ = ∂L/∂z = dL_da · da_dz`` (``ŷ − y`` where those are None): the gradient of the
        neuron's bias, and, times the previous layer's activations, of its weights.
    """

    layer: int           # 1 = first hidden (or output) layer
    index: int           # 1-based within the layer
    name: str            # "h1", "out", "out2", "h2.1"
    z: float
    a: float
    dL_da: float | None  # ∂L/∂a (for an output neuron: ∂L/∂ŷ = ŷ − y); None where the
                         # output's δ = ŷ − y is taken whole (softmax with cross-entropy,
                         # sigmoid with bce)
    da_dz: float | None  # f'(z) from a: σ'(z) = a·(1 − a), 1 − a² for tanh, …
    delta: float         # ∂L/∂z


@dataclass(frozen=True)
class ParameterTrace:
    """One weight or bias: where it sits, its chain rule, gradient and updated value.

    Parameters
    ----------
    name : str
        A weight's flat name, ``"w1"``, ``"w2"``… numbered layer by layer and each
        ``(n_out, n_in)`` matrix row by row (the Forward & Backpropagation tutorial's
        numbering); a bias's name, ``"b2[1]"`` (layer 2, neuron 1).
    kind : {"weight", "bias"}
        Whether it is a weight or a bias.
    layer : int
        The layer it belongs to (the layer of ``to_neuron``), 1-based: the weight matrix
        ``W{layer}`` or bias vector ``b{layer}``.
    to_neuron : int
        The neuron (1-based within ``layer``) whose z the weight feeds or the bias is
        part of: the row of the weight matrix.
    from_neuron : int or None
        For a weight, the neuron (1-based within the previous layer, the inputs for
        layer 1) whose activation it multiplies: the column of the weight matrix; None for
        a bias.
    position : str
        Where it sits: ``"W2[1,2]"`` for the weight of layer 2 to neuron 1 from neuron 2
        (1-based); for a bias its name, ``"b2[1]"``.
    connection : str
        For a weight the neurons it connects, ``"h1 → out"``; for a bias its neuron's
        name, ``"out"``.
    factors : tuple of Factor
        The chain rule, factors whose product is ``gradient``: those of ``to_neuron``'s δ
        (written out back to the loss while each later layer has a single neuron, else
        from ``∂L/∂a`` of that neuron; ``∂L/∂z`` alone for an output neuron of a softmax
        with "cross_entropy" or a sigmoid with "bce"), then ``∂z/∂w`` (the activation of
        ``from_neuron``) for a weight or ``∂z/∂b = 1`` for a bias.
    gradient : float
        ``∂L/∂θ`` for the traced sample: ``to_neuron``'s δ times the activation of
        ``from_neuron`` for a weight, that δ for a bias.
    old : float
        Its value before the step (the network's, in float64).
    new : float
        Its value after one gradient-descent step: ``old − lr · gradient``.
    """

    name: str                   # "w5" or "b2[1]"
    kind: str                   # "weight" or "bias"
    layer: int
    to_neuron: int              # 1-based
    from_neuron: int | None     # 1-based; None for a bias
    position: str               # "W2[1,1]" for a weight, "b2[1]" for a bias
    connection: str             # "h1 → out" for a weight, "out" for a bias
    factors: tuple[Factor, ...]  # their product is the gradient
    gradient: float
    old: float
    new: float                  # old − lr · gradient

    @property
    def chain(self) -> str:
        """The factors' symbols, joined by " · "."""
        return " · ".join(factor.symbol for factor in self.factors)

    @property
    def label(self) -> str:
        """The name and where the parameter sits, as the tables show it."""
        if self.kind == "weight":
            return f"{self.name} = {self.position} ({self.connection})"
        return f"{self.name} ({self.connection})"


@dataclass(frozen=True)
class LayerTrace:
    """One layer (1-based): its neurons, its weights (row by row) and its biases.

    Parameters
    ----------
    index : int
        The layer, 1-based: 1 is the first layer after the inputs, the last the output
        layer.
    neurons : tuple of NeuronTrace
        Its neurons, in order.
    weights : tuple of ParameterTrace
        The weights of its ``(n_out, n_in)`` matrix, row by row (by ``to_neuron``, then
        ``from_neuron``): the flat order ``w1, w2, …``.
    biases : tuple of ParameterTrace
        Its biases, one per neuron, in order.
    """

    index: int
    neurons: tuple[NeuronTrace, ...]
    weights: tuple[ParameterTrace, ...]
    biases: tuple[ParameterTrace, ...]

    @property
    def bias_gradient_sum(self) -> float:
        """The gradient of one bias shared by all neurons of the layer (the Forward &
        Backpropagation tutorial's b1)."""
        return math.fsum(bias.gradient for bias in self.biases)

    @property
    def biases_share_a_value(self) -> bool:
        """Whether the layer has several biases that all start at one non-zero value.

        Such a layer may come from a tutorial that shares one bias per layer (seed
        002's b1); zero, every fresh network's start, is not read that way.
        """
        values = {bias.old for bias in self.biases}
        return len(self.biases) > 1 and len(values) == 1 and values != {0.0}


@dataclass(frozen=True)
class Trace:
    """What ``explain`` computed; ``str(trace)`` and ``trace.to_markdown()`` render it.

    Made by :func:`fastprop.explain`, not by hand.

    Parameters
    ----------
    sizes : tuple of int
        The network's widths, input first.
    loss_name : str
        The network's loss.
    x, y : tuple of float
        The sample and its targets (a class label as its one-hot row).
    lr : float
        The learning rate of the step.
    layers : tuple of LayerTrace
        Layer by layer (1 = the first after the inputs): neurons, weights, biases.
    loss : float
        The loss before the step.
    network_dtype : str
        The network's dtype ("float32" or "float64"); the trace computes in float64.
    activations : tuple of str
        The hidden layers' functions.
    output : str
        The output layer's function.

    Examples
    --------
    >>> import fastprop
    >>> from fastprop.examples import network_from_example, seed_000_example_1
    >>> example = seed_000_example_1()
    >>> trace = fastprop.explain(network_from_example(example), example.x, example.y,
    ...                          example.lr)
    >>> print(trace)  # doctest: +ELLIPSIS
    One training step of a 1-1 sigmoid network, explained
    ...
    >>> print(f"{trace.outputs[0]:.6f} {trace.loss:.6f}")
    0.562177 0.439756
    """

    sizes: tuple[int, ...]
    loss_name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    lr: float
    layers: tuple[LayerTrace, ...]
    loss: float
    network_dtype: str
    activations: tuple[str, ...] = ()     # the hidden layers' functions
    output: str = "sigmoid"

    @property
    def is_tutorial_network(self) -> bool:
        """Sigmoid layers and the ½ squared error: the tutorials' network."""
        return (all(name == "sigmoid" for name in self.activations)
                and self.output == "sigmoid" and self.loss_name in ("sse", "mse"))

    @property
    def outputs(self) -> tuple[float, ...]:
        """ŷ, the network's output for x."""
        return tuple(neuron.a for neuron in self.layers[-1].neurons)

    @property
    def weights(self) -> tuple[ParameterTrace, ...]:
        """All weights in the flat order w1, w2, …"""
        return tuple(weight for layer in self.layers for weight in layer.weights)

    @property
    def biases(self) -> tuple[ParameterTrace, ...]:
        """All biases, layer by layer: b1[1], b1[2], …"""
        return tuple(bias for layer in self.layers for bias in layer.biases)

    def parameter(self, name: str) -> ParameterTrace:
        """A weight or bias by name: ``"w5"``, ``"W2[1,1]"`` or ``"b1[2]"``.

        Parameters
        ----------
        name : str
            Its flat name (``"w5"``), position (``"W2[1,1]"``) or bias name (``"b1[2]"``).

        Returns
        -------
        ParameterTrace
            Its chain rule, gradient, old and new value.

        Raises
        ------
        KeyError
            If the network has no such weight or bias.

        Examples
        --------
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_002
        >>> example = seed_002()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.5)
        >>> trace.parameter("W2[1,1]").name, trace.parameter("w5").connection
        ('w5', 'h1 → out')
        """
        for parameter in self.weights + self.biases:
            if name in (parameter.name, parameter.position):
                return parameter
        raise KeyError(f"no weight or bias named {name!r} in a "
                       f"{'-'.join(map(str, self.sizes))} network")

    def neuron(self, name: str) -> NeuronTrace:
        """A neuron by name: ``"h1"``, ``"out"``…

        Parameters
        ----------
        name : str
            ``"h1"``, ``"h2.1"`` (layer 2, neuron 1, with several hidden layers), ``"out"``
            or ``"out2"``.

        Returns
        -------
        NeuronTrace
            Its z, a and δ.

        Raises
        ------
        KeyError
            If the network has no such neuron.

        Examples
        --------
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_002
        >>> example = seed_002()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.5)
        >>> print(f"{trace.neuron('h1').a:.9f}")
        0.593269992
        """
        for layer in self.layers:
            for neuron in layer.neurons:
                if neuron.name == name:
                    return neuron
        raise KeyError(f"no neuron named {name!r}")

    def new_weights(self) -> list[NDArray[np.float64]]:
        """The weight matrices after the update, each ``(n_out, n_in)``.

        Returns
        -------
        list of ndarray, each of shape (n_out, n_in), float64
            The weights after the step, layer by layer.

        Examples
        --------
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_002
        >>> example = seed_002()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.5)
        >>> [weights.shape for weights in trace.new_weights()]
        [(2, 2), (1, 2)]
        """
        return [np.array([weight.new for weight in layer.weights]).reshape(
            len(layer.neurons), -1) for layer in self.layers]

    def new_biases(self) -> list[NDArray[np.float64]]:
        """The bias vectors after the update, each ``(n_out,)``.

        Returns
        -------
        list of ndarray, each of shape (n_out,), float64
            The biases after the step, layer by layer.

        Examples
        --------
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_002
        >>> example = seed_002()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.5)
        >>> [biases.shape for biases in trace.new_biases()]
        [(2,), (1,)]
        """
        return [np.array([bias.new for bias in layer.biases]) for layer in self.layers]

    def __str__(self) -> str:
        return _render(self, markdown=False)

    def to_markdown(self) -> str:
        """The trace as Markdown: headings, tables and formulas in code spans.

        Returns
        -------
        str
            The same content as ``str(trace)``, as Markdown.

        Examples
        --------
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_000_example_1
        >>> example = seed_000_example_1()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.1)
        >>> trace.to_markdown().splitlines()[0]
        '## One training step of a 1-1 sigmoid network, explained'
        """
        return _render(self, markdown=True)

    def to_svg(self) -> str:
        """The network of the trace as an SVG picture, every number of the step on it.

        A circle per neuron (inputs too) with its z, a and δ and its bias's old and new
        value (a bias's gradient is its neuron's δ); a line per weight labelled with its
        old value, new value and gradient; the loss and the learning rate in a caption.
        Numbers are printed as in ``str(trace)``. Each neuron, bias and weight is a
        ``<g>`` group with ``class`` and ``data-`` attributes (``data-name="w5"``...)
        holding its numbers as ``<text>``: neurons ``data-layer`` (0 = the inputs) and
        ``data-index`` (from 0), weights ``data-layer`` (the weight matrix, from 0),
        ``data-to`` and ``data-from``.

        Returns
        -------
        str
            An SVG 1.1 document (no scripts, generic fonts); the same trace gives the
            same text.

        Raises
        ------
        ValueError
            If a layer has more than 6 neurons or the network more than 4 weight
            layers: the labels would no longer be readable.

        Examples
        --------
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_002
        >>> example = seed_002()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.5)
        >>> picture = trace.to_svg()
        >>> picture.startswith("<?xml") and 'data-name="w5"' in picture
        True
        """
        from . import _explain_svg

        return _explain_svg.svg(_explain_svg.layout(self))

    def save_svg(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_svg` to a file, atomically (UTF-8).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Raises
        ------
        TypeError
            If ``path`` is not a str or os.PathLike.
        ValueError
            If the network is too large to draw, or ``path``'s directory does not exist
            or ``path`` is a directory (nothing is written).

        Examples
        --------
        >>> import os, tempfile
        >>> import fastprop
        >>> from fastprop.examples import network_from_example, seed_002
        >>> example = seed_002()
        >>> trace = fastprop.explain(network_from_example(example), example.x, example.y, 0.5)
        >>> path = os.path.join(tempfile.mkdtemp(), "step.svg")
        >>> trace.save_svg(path)
        >>> open(path, encoding="utf-8").read() == trace.to_svg()
        True
        """
        from . import _explain_svg

        _explain_svg.save_svg(_explain_svg.layout(self), path)


# --------------------------------------------------------------------- compute
def explain(net: Network, x: ArrayLike, y: ArrayLike, lr: float) -> Trace:
    """Trace one forward pass, backward pass and gradient step of ``net`` on one sample.

    ``net`` is not changed: the updated values are in the trace. ``print(trace)`` shows
    the tutorials' tables; ``trace.to_markdown()`` gives them as Markdown.

    Parameters
    ----------
    net : Network
        The network (its current weights, functions and loss).
    x : array_like of shape (n_inputs,) or (1, n_inputs), or a number
        One sample (a number when the network has one input).
    y : array_like of shape (n_outputs,) or (1, n_outputs), or a number
        Its targets; for a softmax output also a class label (a whole number from 0 to
        n_outputs - 1).
    lr : float
        The learning rate of the step, > 0.

    Returns
    -------
    Trace
        Every neuron's z, a and δ, the loss, and for every weight and bias the chain-rule
        factors, the gradient and the value after the step; all in float64.

    Raises
    ------
    TypeError
        If ``net`` is not a network, or x or y does not hold real numbers.
    ValueError
        If x or y does not have the network's widths or is not finite, ``lr`` is not a
        finite positive number, or a label is out of range.

    Examples
    --------
    The Forward & Backpropagation tutorial's step (fastprop.examples.seed_002):

    >>> import fastprop
    >>> from fastprop.examples import network_from_example, seed_002
    >>> example = seed_002()
    >>> trace = fastprop.explain(network_from_example(example), example.x, example.y,
    ...                          example.lr)
    >>> print(f"{trace.loss:.9f}")
    0.274811083
    >>> w5 = trace.parameter("w5")
    >>> w5.chain
    '∂L/∂ŷ · ∂ŷ/∂z_out · ∂z_out/∂w5'
    >>> print(f"{w5.gradient:.9f} {w5.new:.9f}")
    0.082167041 0.358916480
    """
    sizes, weights, biases, loss_name, dtype, hidden, output = _read_network(net)
    x_values = _one_sample(x, sizes[0], "x")
    y_values = _one_target(y, sizes[-1], output)
    lr = check_learning_rate(lr)
    names = _neuron_names(sizes)
    n_layers = len(sizes) - 1
    functions = list(hidden) + [output]
    fused = (output, loss_name) in _FUSED

    # Layer by layer from the inputs (0); the inputs have no z (an empty list).
    activations: list[list[float]] = [x_values]
    pre_activations: list[list[float]] = [[]]
    for W, b, function in zip(weights, biases, functions):
        z = [sum(w * a for w, a in zip(row, activations[-1])) + bias for row, bias in zip(W, b)]
        pre_activations.append(z)
        activations.append(softmax(z) if function == "softmax"
                           else [hidden_function(function, value) for value in z])
    loss = _loss(loss_name, pre_activations[-1], activations[-1], y_values)

    def derivative(layer: int, a: float) -> float:
        return derivative_from_output(functions[layer - 1], a)

    # By layer (1 to n_layers): ∂L/∂a (none for a fused output layer) and δ.
    dL_da: dict[int, list[float]] = {}
    deltas: dict[int, list[float]] = {}
    if fused:
        deltas[n_layers] = [output_value - target
                            for output_value, target in zip(activations[-1], y_values)]
    else:
        dL_da[n_layers] = [output_value - target
                           for output_value, target in zip(activations[-1], y_values)]
    for layer in range(n_layers, 0, -1):
        if layer < n_layers:
            W_next, delta_next = weights[layer], deltas[layer + 1]
            dL_da[layer] = [sum(W_next[k][j] * delta_next[k] for k in range(len(delta_next)))
                            for j in range(sizes[layer])]
        if layer not in deltas:
            deltas[layer] = [g * derivative(layer, a)
                             for g, a in zip(dL_da[layer], activations[layer])]

    def own_factors(layer: int, j: int) -> list[Factor]:
        """Factors whose product is δ of neuron j (0-based) of layer: ∂L/∂a · ∂a/∂z, or
        for a fused output ∂L/∂z = ŷ − y alone."""
        if layer == n_layers and fused:
            return [Factor(f"∂L/∂z_{names[layer][j]}", deltas[layer][j])]
        return upstream(layer, j) + [
            Factor(f"∂{_activation_symbol(names, layer, j, n_layers)}/∂z_{names[layer][j]}",
                   derivative(layer, activations[layer][j]))]

    def upstream(layer: int, j: int) -> list[Factor]:
        """Factors whose product is ∂L/∂a of neuron j (0-based) of layer."""
        if layer == n_layers:
            return [Factor(f"∂L/∂{_activation_symbol(names, layer, j, n_layers)}",
                           dL_da[layer][j])]
        if sizes[layer + 1] == 1:  # a single path: write out the whole chain, as the tutorials do
            return own_factors(layer + 1, 0) + [
                Factor(f"∂z_{names[layer + 1][0]}/∂{_activation_symbol(names, layer, j, n_layers)}",
                       weights[layer][0][j]),
            ]
        return [Factor(f"∂L/∂{_activation_symbol(names, layer, j, n_layers)}", dL_da[layer][j])]

    layers: list[LayerTrace] = []
    flat_number = 0
    for layer in range(1, n_layers + 1):
        neurons: list[NeuronTrace] = []
        layer_weights: list[ParameterTrace] = []
        layer_biases: list[ParameterTrace] = []
        for j in range(sizes[layer]):
            name = names[layer][j]
            a = activations[layer][j]
            neuron_fused = layer == n_layers and fused
            neurons.append(NeuronTrace(layer, j + 1, name, pre_activations[layer][j], a,
                                       None if neuron_fused else dL_da[layer][j],
                                       None if neuron_fused else derivative(layer, a),
                                       deltas[layer][j]))
            chain = own_factors(layer, j)
            for i in range(sizes[layer - 1]):
                flat_number += 1
                weight_name = f"w{flat_number}"
                gradient = deltas[layer][j] * activations[layer - 1][i]
                old = weights[layer - 1][j][i]
                layer_weights.append(ParameterTrace(
                    weight_name, "weight", layer, j + 1, i + 1, f"W{layer}[{j + 1},{i + 1}]",
                    f"{names[layer - 1][i]} → {name}",
                    tuple(chain + [Factor(f"∂z_{name}/∂{weight_name}", activations[layer - 1][i])]),
                    gradient, old, old - lr * gradient))
            bias_name = f"b{layer}[{j + 1}]"
            old = biases[layer - 1][j]
            layer_biases.append(ParameterTrace(
                bias_name, "bias", layer, j + 1, None, bias_name, name,
                tuple(chain + [Factor(f"∂z_{name}/∂{bias_name}", 1.0)]),
                deltas[layer][j], old, old - lr * deltas[layer][j]))
        layers.append(LayerTrace(layer, tuple(neurons), tuple(layer_weights), tuple(layer_biases)))
    return Trace(tuple(sizes), loss_name, tuple(x_values), tuple(y_values), lr, tuple(layers),
                 loss, dtype, tuple(hidden), output)


def _loss(loss_name: str, z: Sequence[float], outputs: Sequence[float],
          y: Sequence[float]) -> float:
    """The loss of one sample ("mse" is "sse" for one sample), in float64."""
    if loss_name in ("sse", "mse"):
        # d * d, not d ** 2: Python's float power raises OverflowError where a product is inf.
        loss = 0.5 * sum((target - output) * (target - output)
                         for target, output in zip(y, outputs))
        if not math.isfinite(loss):
            raise ValueError("y is too large to trace: the squared error overflows float64 "
                             f"(|y - output| must stay below about 1e154), got y = {list(y)!r}")
        return loss
    if loss_name == "bce":
        # -[y log ŷ + (1 - y) log(1 - ŷ)] written without log 0: max(z, 0) - z y + log(1 + e^-|z|)
        return math.fsum(max(value, 0.0) - value * target + math.log1p(math.exp(-abs(value)))
                         for value, target in zip(z, y))
    largest = max(z)
    log_total = math.log(math.fsum(math.exp(value - largest) for value in z))
    return math.fsum(target * (log_total - (value - largest)) for value, target in zip(z, y)
                     if target)


def _read_network(net: Network) -> tuple[tuple[int, ...], list[list[list[float]]],
                                        list[list[float]], str, str, tuple[str, ...], str]:
    try:
        sizes, weights, biases = tuple(net.sizes), net.weights, net.biases
        loss_name, dtype = net.loss, np.dtype(net.dtype).name
        output = getattr(net, "output", "sigmoid")
        activation = getattr(net, "activation", "sigmoid")
    except AttributeError as error:
        raise TypeError(f"net must be a fastprop.Network, got {type(net).__name__}") from error
    hidden = ((activation,) * (len(sizes) - 2) if isinstance(activation, str)
              else tuple(activation))
    # float32 values convert to Python floats exactly; the trace is computed in float64.
    return (sizes, [np.asarray(W, dtype=np.float64).tolist() for W in weights],
            [np.asarray(b, dtype=np.float64).tolist() for b in biases], loss_name, dtype,
            hidden, output)


def _one_target(values: ArrayLike, width: int, output: str) -> list[float]:
    """The sample's targets: as _one_sample, or for a softmax output a class label (a whole
    number from 0 to width - 1) as its one-hot row."""
    array = np.asarray(values)
    if output == "softmax" and width > 1 and array.size == 1 and array.dtype.kind in "iuf":
        label = float(array.reshape(-1)[0])
        if not (label.is_integer() and 0 <= label < width):
            raise ValueError(f"y for a softmax output must be {width} probabilities or a class "
                             f"label from 0 to {width - 1}, got {label!r}")
        return [1.0 if j == int(label) else 0.0 for j in range(width)]
    return _one_sample(values, width, "y")


def _one_sample(values: ArrayLike, width: int, name: str) -> list[float]:
    """values as a list of `width` floats: accepts (width,), (1, width), or a number if width == 1."""
    array = as_float_array(values, name, np.float64)
    if array.ndim == 0 or (array.ndim == 2 and array.shape[0] == 1):
        array = array.reshape(-1)
    if array.shape != (width,):
        scalar = " or a number" if width == 1 else ""
        raise ValueError(f"{name} must be one sample of shape ({width},) or (1, {width}){scalar} "
                         f"for this network, got shape {np.shape(values)}")
    samples: list[float] = array.tolist()
    return samples


def _neuron_names(sizes: Sequence[int]) -> list[list[str]]:
    """names[l][j]: inputs x1…, hidden h1… (hL.j with several hidden layers), outputs out…"""
    n_layers = len(sizes) - 1
    names = [[f"x{i + 1}" for i in range(sizes[0])]]
    for layer in range(1, n_layers):
        prefix = "h" if n_layers == 2 else f"h{layer}."
        names.append([f"{prefix}{j + 1}" for j in range(sizes[layer])])
    names.append(["out"] if sizes[-1] == 1 else [f"out{j + 1}" for j in range(sizes[-1])])
    return names


def _activation_symbol(names: Sequence[Sequence[str]], layer: int, j: int, n_layers: int) -> str:
    if layer == 0:
        return names[0][j]
    if layer == n_layers:
        return "ŷ" if len(names[layer]) == 1 else f"ŷ{j + 1}"
    return f"a_{names[layer][j]}"


# ---------------------------------------------------------------------- render
def _render(trace: Trace, markdown: bool) -> str:
    out = _Document(markdown)
    sizes = "-".join(map(str, trace.sizes))
    names = _neuron_names(trace.sizes)
    n_layers = len(trace.layers)
    single_output = trace.sizes[-1] == 1

    tutorial = trace.is_tutorial_network
    fused = (trace.output, trace.loss_name) in _FUSED
    functions = list(trace.activations) + [trace.output]
    if tutorial:
        out.title(f"One training step of a {sizes} sigmoid network, explained")
    else:
        hidden = ", ".join(dict.fromkeys(trace.activations))
        described = (f"{hidden} hidden layers, {trace.output} output" if hidden
                     else f"{trace.output} output")
        out.title(f"One training step of a {sizes} network ({described}), explained")
    loss_formula = {
        "bce": "L = −[y log ŷ + (1 − y) log(1 − ŷ)]" if single_output
               else "L = −Σ [y log ŷ + (1 − y) log(1 − ŷ)]",
        "cross_entropy": "L = −Σ y log ŷ"}.get(
            trace.loss_name, "L = ½ (y − ŷ)²" if single_output else "L = ½ Σ (y − ŷ)²")
    mse_note = {"mse": " (for one sample the same as sse)",
                "bce": " (binary cross-entropy)", "cross_entropy": " (with the softmax's ŷ)"}.get(
                    trace.loss_name, "")
    out.line(f"Loss {trace.loss_name}{mse_note}: {loss_formula}; learning rate lr = {_number(trace.lr)}.")
    out.line("Input: " + ", ".join(f"{n} = {_number(v)}" for n, v in zip(names[0], trace.x))
             + ". Target: " + ", ".join(f"{'y' if single_output else f'y{j + 1}'} = {_number(v)}"
                                         for j, v in enumerate(trace.y)) + ".")
    out.line("Weights are numbered w1, w2, … layer by layer, row by row; W2[1,2] is the weight "
             "of layer 2 to neuron 1 from neuron 2, b1[2] the bias of neuron 2 of layer 1.")
    if trace.network_dtype != "float64":
        out.line(f"The network holds {trace.network_dtype} values; this trace computes in float64.")

    if tutorial:
        out.heading("Forward pass: z = Σ w·a + b, a = σ(z) = 1 / (1 + e^(−z))")
    else:
        out.heading("Forward pass: z = Σ w·a + b, a = f(z)")
        out.line("f: " + "; ".join(f"layer {layer} {_FORMULAS[name][1]}"
                                   for layer, name in enumerate(functions, start=1)) + ".")
    rows = []
    for layer in trace.layers:
        inputs = [_activation_symbol(names, layer.index - 1, i, n_layers)
                  for i in range(trace.sizes[layer.index - 1])]
        values = [trace.x] + [[n.a for n in earlier.neurons] for earlier in trace.layers]
        for neuron in layer.neurons:
            weights = layer.weights[(neuron.index - 1) * len(inputs):neuron.index * len(inputs)]
            bias = layer.biases[neuron.index - 1]
            if len(inputs) <= _MAX_TERMS_WRITTEN_OUT:
                symbols = " + ".join(f"{w.name}·{s}" for w, s in zip(weights, inputs))
                numbers = " + ".join(f"{_operand(w.old)}·{_operand(v)}"
                                     for w, v in zip(weights, values[layer.index - 1]))
                formula = f"{symbols} + {bias.name} = {numbers} + {_operand(bias.old)}"
            else:
                formula = f"Σ of {len(inputs)} weighted inputs + {bias.name}"
            rows.append([neuron.name, _number(neuron.z), _number(neuron.a),
                         f"z_{neuron.name} = {formula}"])
    out.table(["Neuron", "z", "a = σ(z)" if tutorial else "a = f(z)", "z computed as"], rows)

    terms = [(f"y{j + 1}" if not single_output else "y", f"ŷ{j + 1}" if not single_output else "ŷ",
              target, output) for j, (target, output) in enumerate(zip(trace.y, trace.outputs))]
    bracket = (lambda s: s) if single_output else (lambda s: f"[{s}]")
    out.heading("Loss")
    if trace.loss_name == "bce":
        symbolic = " + ".join(f"{t} log {o} + (1 − {t}) log(1 − {o})" for t, o, _, _ in terms)
        numeric = " + ".join(f"{_operand(t)} log {_operand(o)} + (1 − {_operand(t)}) log(1 − "
                             f"{_operand(o)})" for _, _, t, o in terms)
        out.formula(f"L = −[{symbolic}] = −[{numeric}] = {_number(trace.loss)}")
    elif trace.loss_name == "cross_entropy":
        symbolic = " + ".join(f"{t} log {o}" for t, o, _, _ in terms)
        numeric = " + ".join(f"{_operand(t)} log {_operand(o)}" for _, _, t, o in terms)
        out.formula(f"L = −[{symbolic}] = −[{numeric}] = {_number(trace.loss)}")
    else:
        symbolic = " + ".join(f"({t} − {o})²" for t, o, _, _ in terms)
        numeric = " + ".join(f"({_operand(t)} − {_operand(o)})²" for _, _, t, o in terms)
        out.formula(f"L = ½ {bracket(symbolic)} = ½ {bracket(numeric)} = {_number(trace.loss)}")

    if tutorial:
        out.heading("Backward pass: δ = ∂L/∂z = ∂L/∂a · ∂a/∂z, with ∂a/∂z = σ'(z) = a·(1 − a)")
    else:
        out.heading("Backward pass: δ = ∂L/∂z = ∂L/∂a · ∂a/∂z, with ∂a/∂z = f'(z) taken from a")
        derivatives = dict.fromkeys(functions[:-1] if fused else functions)
        if derivatives:
            # (the softmax's, None, is never listed: its δ is taken whole)
            out.line("∂a/∂z: " + "; ".join(cast(str, _FORMULAS[name][2]) if name != "identity"
                                            else "1 for the identity"
                                            for name in derivatives) + ".")
        if trace.output == "softmax":
            out.line("The output layer's δ = ∂L/∂z = ŷ − y, whole: with the softmax, every ŷₖ "
                     "depends on every z, and ∂L/∂zⱼ = Σₖ (−yₖ/ŷₖ)·ŷₖ(1[k = j] − ŷⱼ) = "
                     "ŷⱼ Σₖ yₖ − yⱼ = ŷⱼ − yⱼ (the targets sum to 1): the cross-entropy's "
                     "−y/ŷ and the softmax's derivative cancel.")
        elif fused:
            out.line("The output layer's δ = ∂L/∂z = ŷ − y, whole: ∂L/∂ŷ = (ŷ − y) / "
                     "(ŷ(1 − ŷ)) and ∂ŷ/∂z = σ'(z) = ŷ(1 − ŷ) cancel, which also keeps δ exact "
                     "where ŷ is 0 or 1 to working precision.")
    rows = []
    for layer in reversed(trace.layers):
        for neuron in layer.neurons:
            if layer.index == n_layers and fused:
                target = "y" if single_output else f"y{neuron.index}"
                symbol = _activation_symbol(names, n_layers, neuron.index - 1, n_layers)
                rows.append([neuron.name, "—", "—", _number(neuron.delta),
                             f"δ = {symbol} − {target} = {_operand(neuron.a)} − "
                             f"{_operand(trace.y[neuron.index - 1])}"])
                continue
            if layer.index == n_layers:
                target = "y" if single_output else f"y{neuron.index}"
                source = (f"{_activation_symbol(names, n_layers, neuron.index - 1, n_layers)} − "
                          f"{target} = {_operand(neuron.a)} − {_operand(trace.y[neuron.index - 1])}")
            else:
                following = trace.layers[layer.index]
                links = [(following.weights[k * len(layer.neurons) + neuron.index - 1], nxt)
                         for k, nxt in enumerate(following.neurons)]
                source = (" + ".join(f"{w.name}·δ_{nxt.name}" for w, nxt in links) + " = "
                          + " + ".join(f"{_operand(w.old)}·{_operand(nxt.delta)}" for w, nxt in links))
            rows.append([neuron.name, _number(neuron.dL_da), _number(neuron.da_dz),
                         _number(neuron.delta), f"∂L/∂a = {source}"])
    out.table(["Neuron", "∂L/∂a", "∂a/∂z", "δ", "where"], rows)

    out.heading("Gradients by the chain rule")
    for parameter in trace.weights + trace.biases:
        out.chain(parameter.label,
                  f"∂L/∂{parameter.name} = {parameter.chain}",
                  " · ".join(_operand(f.value) for f in parameter.factors)
                  + f" = {_number(parameter.gradient)}")

    out.heading(f"Update: new value = old value − lr · gradient, lr = {_number(trace.lr)}")
    out.table(["Bias", "Old Value", "Gradient", "New Value"],
              [[b.label, _number(b.old), _number(b.gradient), _number(b.new)] for b in trace.biases])
    for layer in trace.layers:
        if layer.biases_share_a_value:
            _shared_bias_note(out, layer, trace.lr)
    out.table(["Weight", "Old Value", "Gradient", "New Value"],
              [[w.label, _number(w.old), _number(w.gradient), _number(w.new)] for w in trace.weights])
    return out.text()


def _shared_bias_note(out: _Document, layer: LayerTrace, lr: float) -> None:
    biases = layer.biases
    old, total = biases[0].old, layer.bias_gradient_sum
    neurons = ", ".join(bias.connection for bias in biases)
    parts = (" + ".join(_operand(b.gradient) for b in biases) if len(biases) <= 6
             else f"the sum of the {len(biases)} gradients")
    out.line(f"Note: layer {layer.index}'s biases all start at {_number(old)}. Read as one bias "
             f"b{layer.index} shared by {neurons} (as the Forward & Backpropagation tutorial "
             "does), its gradient is the sum "
             f"{parts} = {_number(total)}, and its update {_operand(old)} − {_operand(lr)} · "
             f"{_operand(total)} = {_number(old - lr * total)}. fastprop gives every neuron "
             "its own bias, updated as in the table.")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 markdown: bool = False) -> str:
    """A table of strings: columns aligned and separated by " | ", or a Markdown table.

    Parameters
    ----------
    headers : sequence of str
        The column headers.
    rows : sequence of sequences of str
        The rows, each with one cell per header.
    markdown : bool, default False
        A Markdown table instead of aligned plain text.

    Returns
    -------
    str
        The table, lines separated by newlines (no newline at the end).

    Examples
    --------
    >>> from fastprop.explain import format_table
    >>> print(format_table(["Weight", "Value"], [["w1", "0.15"], ["w10", "-0.2"]]))
    Weight | Value
    -------+------
    w1     | 0.15
    w10    | -0.2
    >>> print(format_table(["a", "b"], [["1", "2"]], markdown=True))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]

    def format_row(cells: Sequence[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    lines = [format_row(headers), "-+-".join("-" * width for width in widths)]
    return "\n".join(lines + [format_row(row) for row in rows])


class _Document:
    """Collects headings, lines, formulas and tables; renders plain text or Markdown."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.blocks: list[str] = []

    def title(self, text: str) -> None:
        self.blocks.append(f"## {text}" if self.markdown else f"{text}\n{'=' * len(text)}")

    def heading(self, text: str) -> None:
        self.blocks.append(f"### {text}" if self.markdown else f"{text}\n{'-' * len(text)}")

    def line(self, text: str) -> None:
        self.blocks.append(text if self.markdown else textwrap.fill(
            text, _TEXT_WIDTH, break_long_words=False, break_on_hyphens=False))

    def formula(self, text: str) -> None:
        self.blocks.append(f"`{text}`" if self.markdown else f"  {text}")

    def chain(self, label: str, symbols: str, numbers: str) -> None:
        if self.markdown:
            self.blocks.append(f"- {label}: `{symbols}`  \n  `= {numbers}`")
        else:
            indent = " " * symbols.index("=")
            self.blocks.append(f"{label}\n  {symbols}\n  {indent}= {numbers}")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.blocks.append(format_table(headers, rows, self.markdown))

    def text(self) -> str:
        return "\n\n".join(self.blocks) + "\n"
