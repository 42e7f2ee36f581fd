"""The explain trace as a picture: one layout, drawn as SVG text or with matplotlib.

:func:`layout` places everything in pixels: a circle per neuron (inputs too) with its
numbers in a box below it (z, a, δ and its bias's old → new value; the bias's gradient
is the neuron's δ), a line per weight with a two-line label on it (``w5 = 0.4 →
0.358916`` over ``∂L/∂w5 = 0.082167``), a title and a caption with the loss and the
learning rate. :func:`svg` writes the layout as SVG 1.1 and :func:`draw_figure` draws the
very same layout with matplotlib (circles, lines, rectangles and text), so that the PNG
and the SVG agree.

Numbers are written by ``explain``'s own formatter, at the precision of the text tables.

Hooks for programs reading the SVG (every number sits in a ``<text>`` of its group):

* ``<g class="neuron" data-layer="L" data-index="j" data-name="h1">``: layer 0 holds the
  inputs, layer L the neurons of the trace's layer L; j counts from 0 in the layer.
  Inside it, ``<g class="bias" data-layer="L" data-index="j" data-name="b1[1]">``.
* ``<g class="weight" data-layer="l" data-to="j" data-from="i" data-name="w5"
  data-position="W2[1,1]">``: l counts the weight matrices from 0 (so W2 is l = 1),
  j and i the neurons from 0.
* ``<g class="caption">``: the loss and the learning rate.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from .explain import _number
from .persistence import write_atomically

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .explain import Trace

# The largest network drawn: beyond these the labels can no longer be laid out legibly.
MAX_NEURONS_PER_LAYER = 6
MAX_WEIGHT_LAYERS = 4

_FONT = 11.0             # px, the numbers (monospace: every character 0.6 em wide)
_EM_PER_CHAR = 0.62      # a little more, for renderers that round glyphs up
_LINE = 14.0             # px between lines of numbers
_NAME_FONT = 12.0        # px, the neuron's name in its circle
_TITLE_FONT = 15.0
_RADIUS = 20.0
_PAD = 4.0               # px of white around a block of text
_GAP = 14.0              # px kept free between boxes
_MARGIN = 24.0
_LABEL_STEPS = 40       # places tried along a line for its label
# Lines and their labels are coloured by the neuron they lead to.
_PALETTE = ("#1f5fa0", "#c0392b", "#2e8b3a", "#8e44ad", "#b9770e", "#117a8b")
_FILLS = {"input": "#e6e6e6", "hidden": "#d6e6f5", "output": "#fbe3c8"}
_STROKE = "#333333"


@dataclass(frozen=True)
class Box:
    """A block of text lines on a white rectangle; (x, y) is the rectangle's top left."""

    x: float
    y: float
    width: float
    height: float
    lines: tuple[str, ...]


@dataclass(frozen=True)
class NeuronDrawing:
    layer: int                # 0 = the inputs
    index: int                # from 0
    name: str
    kind: str                 # "input", "hidden" or "output"
    cx: float
    cy: float
    numbers: Box
    bias: Box | None          # its last line, drawn in the neuron's box
    bias_name: str
    tooltip: str


@dataclass(frozen=True)
class WeightDrawing:
    layer: int                # the weight matrix, from 0
    to: int
    source: int
    name: str
    position: str
    start: tuple[float, float]
    end: tuple[float, float]
    color: str
    label: Box
    tooltip: str


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    title: str
    neurons: tuple[NeuronDrawing, ...]
    weights: tuple[WeightDrawing, ...]
    caption: Box


def check_drawable(sizes: tuple[int, ...]) -> None:
    """ValueError unless a network of these sizes can be drawn legibly."""
    text = "-".join(map(str, sizes))
    limits = (f"the diagram is drawn for at most {MAX_NEURONS_PER_LAYER} neurons per layer "
              f"and {MAX_WEIGHT_LAYERS} weight layers, to stay readable")
    if len(sizes) - 1 > MAX_WEIGHT_LAYERS:
        raise ValueError(f"cannot draw a {text} network: it has {len(sizes) - 1} weight "
                         f"layers, and {limits} (the printed trace has every number)")
    widest = max(range(len(sizes)), key=lambda layer: sizes[layer])
    if sizes[widest] > MAX_NEURONS_PER_LAYER:
        where = "the input layer" if widest == 0 else f"layer {widest}"
        raise ValueError(f"cannot draw a {text} network: {where} has {sizes[widest]} neurons, "
                         f"and {limits} (the printed trace has every number)")


def _width(lines: tuple[str, ...], font: float = _FONT) -> float:
    return max(len(line) for line in lines) * _EM_PER_CHAR * font + 2 * _PAD


def _height(lines: tuple[str, ...]) -> float:
    return len(lines) * _LINE + 2 * _PAD


def _neuron_lines(trace: Trace, layer: int, j: int) -> tuple[tuple[str, ...], str, str]:
    """(the lines of numbers, its bias's line or "", the tooltip) of neuron j of layer."""
    if layer == 0:
        return (f"x{j + 1} = {_number(trace.x[j])}",), "", f"input x{j + 1} = {_number(trace.x[j])}"
    neuron = trace.layers[layer - 1].neurons[j]
    bias = trace.layers[layer - 1].biases[j]
    output = layer == len(trace.layers)
    lines = [f"z = {_number(neuron.z)}", f"a = {_number(neuron.a)}",
             f"δ = {_number(neuron.delta)}"]
    if output:
        lines.insert(2, f"y = {_number(trace.y[j])}")
    bias_line = f"{bias.name} = {_number(bias.old)} → {_number(bias.new)}"
    tooltip = (f"{neuron.name}: z = {_number(neuron.z)}, a = {_number(neuron.a)}, ∂L/∂a = "
               f"{_number(neuron.dL_da)}, ∂a/∂z = {_number(neuron.da_dz)}, δ = ∂L/∂z = "
               f"{_number(neuron.delta)}; {bias.name}: {_number(bias.old)} − {_number(trace.lr)}"
               f" · {_number(bias.gradient)} = {_number(bias.new)}")
    return tuple(lines), bias_line, tooltip


def _place_labels(lines: list[tuple[float, float]], x0: float, x1: float, band: tuple[float, float],
                  size: tuple[float, float]) -> list[tuple[float, float]] | None:
    """The centre of each line's label, a (width, height) rectangle on its line (the line from
    (x0, y_from) to (x1, y_to)) with its centre's x in band: the leftmost place clear of the
    labels placed before it, by _GAP / 2 at least; None where a label finds no place."""
    (lo, hi), (width, height) = band, size
    placed: list[tuple[float, float]] = []
    for y_from, y_to in lines:
        for step in range(_LABEL_STEPS + 1):
            x = lo + (hi - lo) * step / _LABEL_STEPS
            y = y_from + (x - x0) / (x1 - x0) * (y_to - y_from)
            if all(abs(x - other_x) >= width + _GAP / 2 or abs(y - other_y) >= height + _GAP / 2
                   for other_x, other_y in placed):
                placed.append((x, y))
                break
        else:
            return None
    return placed


def layout(trace: Trace) -> Layout:
    """Place every neuron, weight and label of the trace, in pixels."""
    sizes = trace.sizes
    check_drawable(sizes)
    n_layers = len(sizes) - 1
    texts = [[_neuron_lines(trace, layer, j) for j in range(size)]
             for layer, size in enumerate(sizes)]
    box_width = max(_width(lines + ((bias,) if bias else ())) for column in texts
                    for lines, bias, _ in column)
    slot = max(2 * _RADIUS + 4 + _height(lines + ((bias,) if bias else ())) + _GAP
               for column in texts for lines, bias, _ in column)
    labels = [[(f"{w.name} = {_number(w.old)} → {_number(w.new)}",
                f"∂L/∂{w.name} = {_number(w.gradient)}") for w in layer.weights]
              for layer in trace.layers]
    label_width = max(_width(label) for layer in labels for label in layer)
    label_height = _height(labels[0][0])
    top = _MARGIN + _TITLE_FONT + 2 * _GAP + _RADIUS
    tallest = max(sizes) * slot

    def ys(layer: int) -> list[float]:
        first = top + (tallest - sizes[layer] * slot) / 2
        return [first + j * slot for j in range(sizes[layer])]

    # Each gap between two layers is as wide as its labels need: the narrowest (in steps of
    # a quarter label) in which every label finds a place on its line clear of the others.
    half = box_width / 2 + _GAP
    xs = [_MARGIN + box_width / 2]
    placements: list[list[tuple[float, float]]] = []   # each weight's label centre
    for layer, trace_layer in enumerate(trace.layers):
        sources, targets = ys(layer), ys(layer + 1)
        edges = [(sources[w.from_neuron - 1 if w.from_neuron else 0], targets[w.to_neuron - 1])
                 for w in trace_layer.weights]
        gap = 2 * half + label_width
        # Ends: once the steps along the band are a label wide, each label has a place
        # of its own (a layer has at most 36 labels and _LABEL_STEPS + 1 places).
        while True:
            x0, x1 = xs[-1], xs[-1] + gap
            band = (x0 + half + label_width / 2, x1 - half - label_width / 2)
            centres = _place_labels(edges, x0, x1, band, (label_width, label_height))
            if centres is not None:
                break
            gap += label_width / 4
        placements.append(centres)
        xs.append(x1)

    neurons = []
    for layer, column in enumerate(texts):
        for j, ((lines, bias, tooltip), cy) in enumerate(zip(column, ys(layer))):
            all_lines = lines + ((bias,) if bias else ())
            box = Box(xs[layer] - box_width / 2, cy + _RADIUS + 4, box_width,
                      _height(all_lines), all_lines)
            kind = "input" if layer == 0 else "output" if layer == n_layers else "hidden"
            name = (f"x{j + 1}" if layer == 0
                    else trace.layers[layer - 1].neurons[j].name)
            bias_name = "" if layer == 0 else trace.layers[layer - 1].biases[j].name
            neurons.append(NeuronDrawing(layer, j, name, kind, xs[layer], cy, box,
                                         box if bias else None, bias_name, tooltip))
    weights = []
    for layer, (trace_layer, layer_labels) in enumerate(zip(trace.layers, labels)):
        sources, targets = ys(layer), ys(layer + 1)
        for weight, label, (x, y) in zip(trace_layer.weights, layer_labels, placements[layer]):
            i, j = weight.from_neuron - 1 if weight.from_neuron else 0, weight.to_neuron - 1
            start, end = (xs[layer], sources[i]), (xs[layer + 1], targets[j])
            box = Box(x - label_width / 2, y - label_height / 2, label_width, label_height, label)
            tooltip = (f"{weight.label}: ∂L/∂{weight.name} = {weight.chain} = "
                       f"{_number(weight.gradient)}; {_number(weight.old)} − {_number(trace.lr)}"
                       f" · {_number(weight.gradient)} = {_number(weight.new)}")
            weights.append(WeightDrawing(layer, j, i, weight.name, weight.position, start, end,
                                         _PALETTE[j % len(_PALETTE)], box, tooltip))

    caption_lines = (
        f"loss {trace.loss_name}: L = {_number(trace.loss)}; "
        f"learning rate lr = {_number(trace.lr)}",
        "neurons: z = Σ w·a + b, a = f(z), δ = ∂L/∂z; bias b = old → new, its gradient is δ",
        "weights: w = old → new = old − lr · ∂L/∂w; a line's colour is its target neuron's",
        *_shared_bias_lines(trace))
    bottom = max(neuron.numbers.y + neuron.numbers.height for neuron in neurons)
    caption_width = _width(caption_lines)
    width = max(xs[-1] + box_width / 2 + _MARGIN, caption_width + 2 * _MARGIN)
    caption = Box(_MARGIN, bottom + 2 * _GAP, caption_width, _height(caption_lines),
                  caption_lines)
    height = caption.y + caption.height + _MARGIN
    if trace.is_tutorial_network:
        title = f"One training step of a {'-'.join(map(str, trace.sizes))} sigmoid network"
    else:
        functions = ", ".join(dict.fromkeys(list(trace.activations) + [trace.output]))
        title = f"One training step of a {'-'.join(map(str, trace.sizes))} network ({functions})"
    return Layout(round(width), round(height), title, tuple(neurons), tuple(weights), caption)


def _shared_bias_lines(trace: Trace) -> list[str]:
    """A line for each layer whose biases start at one value, as the text trace's note:
    read as one shared bias (the Forward & Backpropagation tutorial's b1), its gradient is
    the sum of the neurons' and its update follows."""
    lines = []
    for layer in trace.layers:
        if layer.biases_share_a_value:
            old, total = layer.biases[0].old, layer.bias_gradient_sum
            lines.append(f"read as one shared bias b{layer.index} = {_number(old)}: "
                         f"∂L/∂b{layer.index} = {_number(total)}, "
                         f"new b{layer.index} = {_number(old - trace.lr * total)}")
    return lines


# -------------------------------------------------------------------------- SVG
def _f(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_lines(box: Box, out: list[str], color: str = _STROKE, anchor: str = "middle",
                lines: tuple[str, ...] | None = None, first: int = 0) -> None:
    x = box.x + box.width / 2 if anchor == "middle" else box.x + _PAD
    for number, line in enumerate(lines if lines is not None else box.lines, start=first):
        y = box.y + _PAD + (number + 0.78) * _LINE
        out.append(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" fill="{color}">'
                   f"{escape(line)}</text>")


def _rect(box: Box, out: list[str], stroke: str = "none") -> None:
    out.append(f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.width)}" '
               f'height="{_f(box.height)}" rx="3" fill="#ffffff" stroke="{stroke}"/>')


def svg(layout: Layout) -> str:
    """The layout as an SVG 1.1 document."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_f(layout.width)}" '
           f'height="{_f(layout.height)}" viewBox="0 0 {_f(layout.width)} {_f(layout.height)}" '
           f'font-family="monospace" font-size="{_f(_FONT)}">',
           f"<title>{escape(layout.title)}</title>",
           f'<rect x="0" y="0" width="{_f(layout.width)}" height="{_f(layout.height)}" '
           'fill="#ffffff"/>',
           f'<text class="title" x="{_f(_MARGIN)}" y="{_f(_MARGIN + _TITLE_FONT)}" '
           f'font-family="sans-serif" font-size="{_f(_TITLE_FONT)}" font-weight="bold" '
           f'fill="{_STROKE}">{escape(layout.title)}</text>']
    for weight in layout.weights:       # every line first, so that no line crosses a label
        (x1, y1), (x2, y2) = weight.start, weight.end
        out.append(f'<line class="edge" data-layer="{weight.layer}" data-to="{weight.to}" '
                   f'data-from="{weight.source}" x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" '
                   f'y2="{_f(y2)}" stroke="{weight.color}" stroke-opacity="0.55" '
                   'stroke-width="1.2"/>')
    for neuron in layout.neurons:
        out.append(f'<g class="neuron" data-layer="{neuron.layer}" data-index="{neuron.index}" '
                   f"data-name={quoteattr(neuron.name)}>")
        out.append(f"<title>{escape(neuron.tooltip)}</title>")
        out.append(f'<circle cx="{_f(neuron.cx)}" cy="{_f(neuron.cy)}" r="{_f(_RADIUS)}" '
                   f'fill="{_FILLS[neuron.kind]}" stroke="{_STROKE}" stroke-width="1.2"/>')
        out.append(f'<text class="name" x="{_f(neuron.cx)}" y="{_f(neuron.cy + 4)}" '
                   f'text-anchor="middle" font-family="sans-serif" '
                   f'font-size="{_f(_NAME_FONT)}" font-weight="bold" fill="{_STROKE}">'
                   f"{escape(neuron.name)}</text>")
        box = neuron.numbers
        _rect(box, out, stroke="#bbbbbb")
        shown = box.lines[:-1] if neuron.bias else box.lines
        _text_lines(box, out, lines=shown)
        if neuron.bias:
            out.append(f'<g class="bias" data-layer="{neuron.layer}" '
                       f'data-index="{neuron.index}" data-name={quoteattr(neuron.bias_name)}>')
            _text_lines(box, out, lines=box.lines[-1:], first=len(shown), color="#555555")
            out.append("</g>")
        out.append("</g>")
    for weight in layout.weights:
        out.append(f'<g class="weight" data-layer="{weight.layer}" data-to="{weight.to}" '
                   f'data-from="{weight.source}" data-name={quoteattr(weight.name)} '
                   f"data-position={quoteattr(weight.position)}>")
        out.append(f"<title>{escape(weight.tooltip)}</title>")
        _rect(weight.label, out, stroke=weight.color)
        _text_lines(weight.label, out, color=weight.color)
        out.append("</g>")
    out.append('<g class="caption">')
    _text_lines(layout.caption, out, anchor="start")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def checked_path(path: str | os.PathLike[str], what: str) -> Path:
    """path, absolute, if a file can be written there: TypeError for anything but a str or
    os.PathLike, ValueError for a path naming no file, a directory, or a file in a
    directory that does not exist."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(path).absolute()
    if not os.fspath(path) or Path(path).name in ("", ".", ".."):
        raise ValueError(f"path {os.fspath(path)!r} does not name a file")
    if not target.parent.is_dir():
        raise ValueError(f"cannot write the {what} to {os.fspath(path)!r}: directory "
                         f"{str(target.parent)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"cannot write the {what} to {os.fspath(path)!r}: it is a directory")
    return target


def save_svg(layout: Layout, path: str | os.PathLike[str]) -> None:
    """The layout as SVG (UTF-8) in path, written atomically after checking path."""
    data = svg(layout).encode("utf-8")
    write_atomically(checked_path(path, "SVG"), lambda stream: stream.write(data))


# ------------------------------------------------------------------- matplotlib
def draw_figure(layout: Layout) -> Figure:
    """The layout drawn with matplotlib: one pixel of the layout is 1/100 inch."""
    from matplotlib.patches import Circle, Rectangle

    from .plotting import require_matplotlib

    figure_class = require_matplotlib()
    figure = figure_class(figsize=(layout.width / 100, layout.height / 100), dpi=100)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_xlim(0, layout.width)
    axes.set_ylim(layout.height, 0)
    axes.set_axis_off()
    points = 72 / 100                   # a font size in pixels of the layout, in points

    def text_lines(box: Box, color: str = _STROKE, anchor: str = "center",
                   lines: tuple[str, ...] | None = None, first: int = 0) -> None:
        x = box.x + box.width / 2 if anchor == "center" else box.x + _PAD
        for number, line in enumerate(lines if lines is not None else box.lines, start=first):
            axes.text(x, box.y + _PAD + (number + 0.78) * _LINE, line, ha=anchor,
                      va="baseline", family="monospace", fontsize=_FONT * points, color=color,
                      zorder=4)

    def rect(box: Box, edge: str, zorder: float) -> None:
        axes.add_patch(Rectangle((box.x, box.y), box.width, box.height, facecolor="white",
                                 edgecolor=edge, linewidth=0.8, zorder=zorder))

    axes.text(_MARGIN, _MARGIN + _TITLE_FONT, layout.title, ha="left", va="baseline",
              family="sans-serif", fontsize=_TITLE_FONT * points, weight="bold", color=_STROKE)
    for weight in layout.weights:
        (x1, y1), (x2, y2) = weight.start, weight.end
        axes.plot([x1, x2], [y1, y2], color=weight.color, alpha=0.55, linewidth=1.2 * points,
                  zorder=1)
    for neuron in layout.neurons:
        axes.add_patch(Circle((neuron.cx, neuron.cy), _RADIUS, facecolor=_FILLS[neuron.kind],
                              edgecolor=_STROKE, linewidth=1.2 * points, zorder=2))
        axes.text(neuron.cx, neuron.cy + 4, neuron.name, ha="center", va="baseline",
                  family="sans-serif", fontsize=_NAME_FONT * points, weight="bold",
                  color=_STROKE, zorder=3)
        rect(neuron.numbers, "#bbbbbb", 2)
        shown = neuron.numbers.lines[:-1] if neuron.bias else neuron.numbers.lines
        text_lines(neuron.numbers, lines=shown)
        if neuron.bias:
            text_lines(neuron.numbers, lines=neuron.numbers.lines[-1:], first=len(shown),
                       color="#555555")
    for weight in layout.weights:
        rect(weight.label, weight.color, 3)
        text_lines(weight.label, color=weight.color)
    text_lines(layout.caption, anchor="left")
    return figure


def save_png(layout: Layout, path: str | os.PathLike[str]) -> None:
    """The layout drawn with matplotlib, as a PNG in path, written atomically after
    checking path (ImportError without matplotlib)."""
    target = checked_path(path, "PNG")
    figure = draw_figure(layout)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, facecolor="white")
    write_atomically(target, lambda stream: stream.write(buffer.getvalue()))
