"""trace.to_svg(), trace.save_svg() and ``fastprop explain --svg/--png``: the explain trace
as a picture.

The SVG is read back with xml.etree: every number of the trace must sit, at the precision
the text tables print it, in the group of its neuron, bias or weight (each a ``<g>`` with
``class`` and ``data-`` attributes). The PNG (matplotlib) and a real headless browser's
rendering of the SVG must not be blank.
"""
import dataclasses
import itertools
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import fastprop
from fastprop import _explain_svg
from fastprop.examples import (
    network_from_example,
    seed_000_example_1,
    seed_000_example_2,
    seed_002,
)

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLES = {"seed_002": seed_002, "seed_000_example_1": seed_000_example_1,
            "seed_000_example_2": seed_000_example_2}
SEED_002_COMMAND = ["explain", "--sizes", "2,2,1", "--weights", "0.15,0.20,0.25,0.30,0.40,0.45",
                    "--biases", "0.35,0.35,0.60", "--x", "0.05,0.10", "--y", "0.01",
                    "--lr", "0.5"]


def trace_of(example):
    return fastprop.explain(network_from_example(example), example.x, example.y, example.lr)


def random_trace(sizes, seed=0, **options):
    rng = np.random.default_rng(seed)
    net = fastprop.Network.from_weights(
        [rng.normal(size=(n_out, n_in)) for n_in, n_out in zip(sizes, sizes[1:])],
        [rng.normal(size=n_out) for n_out in sizes[1:]], **options)
    y = rng.random(size=sizes[-1])
    if options.get("output") == "softmax":
        y = 1
    return fastprop.explain(net, rng.normal(size=sizes[0]), y, 0.1)


def parse(text):
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    return root


def group(root, kind, **data):
    """The one <g class=kind> whose data- attributes are data."""
    found = [g for g in root.iter(f"{SVG}g") if g.get("class") == kind
             and all(g.get(f"data-{key}") == str(value) for key, value in data.items())]
    assert len(found) == 1, f"{len(found)} groups {kind} {data}"
    return found[0]


def texts(element, nested=True):
    """The text of the <text> elements of element (nested=False: its own, not its subgroups')."""
    children = element.iter(f"{SVG}text") if nested else element.findall(f"{SVG}text")
    return ["".join(child.itertext()) for child in children]


def printed_row(trace, label):
    """The cells of the row of str(trace)'s update tables that starts with label."""
    for line in str(trace).splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if cells[0] == label and len(cells) == 4:     # label | old | gradient | new
            return cells[1:]
    raise AssertionError(f"no row {label!r} in the trace")


# --------------------------------------------------------------- the numbers
def test_seed_002_numbers_as_the_tutorial_prints_them():
    root = parse(trace_of(seed_002()).to_svg())
    assert texts(group(root, "weight", layer=1, to=0, **{"from": 0})) == [
        "w5 = 0.4 → 0.358916", "∂L/∂w5 = 0.082167"]
    assert texts(group(root, "weight", layer=0, to=1, **{"from": 0})) == [
        "w3 = 0.25 → 0.249625", "∂L/∂w3 = 0.000749804"]
    assert texts(group(root, "neuron", layer=1, index=0), nested=False) == [
        "h1", "z = 0.3775", "a = 0.59327", "δ = 0.0133679"]
    assert texts(group(root, "bias", layer=1, index=0)) == ["b1[1] = 0.35 → 0.343316"]
    assert texts(group(root, "neuron", layer=2, index=0), nested=False) == [
        "out", "z = 1.10591", "a = 0.751365", "y = 0.01", "δ = 0.138499"]
    assert texts(group(root, "neuron", layer=0, index=1)) == ["x2", "x2 = 0.1"]
    caption = " ".join(texts(group(root, "caption")))
    assert "L = 0.274811" in caption and "lr = 0.5" in caption
    # the tutorial's shared b1: gradient 0.0284 and new value 0.3358 as it prints them
    assert "one shared bias b1 = 0.35: ∂L/∂b1 = 0.028364, new b1 = 0.335818" in caption


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_number_of_the_trace_is_in_its_group_as_printed(name):
    trace = trace_of(EXAMPLES[name]())
    root = parse(trace.to_svg())
    text = str(trace)
    for j, value in enumerate(trace.x):
        shown = texts(group(root, "neuron", layer=0, index=j, name=f"x{j + 1}"))
        assert f"x{j + 1} = {value:.6g}" in shown
    for layer in trace.layers:
        for neuron, bias in zip(layer.neurons, layer.biases):
            own = texts(group(root, "neuron", layer=layer.index, index=neuron.index - 1,
                              name=neuron.name), nested=False)
            # the forward table's row: name | z | a | formula
            row = next(line for line in text.splitlines()
                       if line.startswith(f"{neuron.name} ") and "z_" in line)
            z_printed, a_printed = [cell.strip() for cell in row.split("|")[1:3]]
            assert f"z = {z_printed}" in own and f"a = {a_printed}" in own
            old, gradient, new = printed_row(trace, bias.label)
            assert f"δ = {gradient}" in own, "a bias's gradient is its neuron's δ"
            assert texts(group(root, "bias", layer=layer.index, index=neuron.index - 1,
                               name=bias.name)) == [f"{bias.name} = {old} → {new}"]
        for weight in layer.weights:
            old, gradient, new = printed_row(trace, weight.label)
            shown = texts(group(root, "weight", layer=layer.index - 1,
                                to=weight.to_neuron - 1, name=weight.name,
                                position=weight.position, **{"from": weight.from_neuron - 1}))
            assert shown == [f"{weight.name} = {old} → {new}", f"∂L/∂{weight.name} = {gradient}"]
    for j, target in enumerate(trace.y):
        output = trace.layers[-1].neurons[j]
        assert f"y = {target:.6g}" in texts(group(root, "neuron", layer=len(trace.layers),
                                                  index=j, name=output.name))
    caption = " ".join(texts(group(root, "caption")))
    loss_line = next(line for line in text.splitlines() if line.strip().startswith("L = "))
    assert f"L = {loss_line.rsplit('= ', 1)[1]}" in caption
    assert f"lr = {trace.lr:g}" in caption
    assert ("shared bias" in caption) == ("Note: layer" in text)


def test_other_functions_and_several_outputs():
    trace = random_trace([3, 4, 3], activation="tanh", output="softmax", loss="cross_entropy")
    root = parse(trace.to_svg())
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "weight"]) == 3 * 4 + 4 * 3
    out2 = trace.neuron("out2")
    assert f"δ = {out2.delta:.6g}" in texts(group(root, "neuron", layer=2, index=1, name="out2"))
    assert "(tanh, softmax)" in root.find(f"{SVG}title").text


# ------------------------------------------------------------------ the layout
def rectangles(root, kind):
    boxes = []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == kind:
            rect = g.find(f"{SVG}rect")
            boxes.append(tuple(float(rect.get(key)) for key in ("x", "y", "width", "height")))
    return boxes


def overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("sizes", [(2, 2, 1), (6, 6, 6, 6, 6), (1, 6, 1), (6, 1, 6), (4, 3, 5, 2)])
def test_no_label_overlaps_another_or_a_neuron_and_all_fit(sizes):
    root = parse(random_trace(list(sizes)).to_svg())
    labels, neurons = rectangles(root, "weight"), rectangles(root, "neuron")
    assert len(labels) == sum(a * b for a, b in zip(sizes, sizes[1:]))
    for a, b in itertools.combinations(labels + neurons, 2):
        assert not overlap(a, b), (a, b)
    width, height = float(root.get("width")), float(root.get("height"))
    assert all(x >= 0 and y >= 0 and x + w <= width and y + h <= height
               for x, y, w, h in labels + neurons)


def test_too_large_networks_are_refused_naming_sizes_and_limits():
    with pytest.raises(ValueError, match=r"cannot draw a 2-7-1 network: layer 1 has 7 neurons"
                                         r".*at most 6 neurons per layer and 4 weight layers"):
        random_trace([2, 7, 1]).to_svg()
    with pytest.raises(ValueError, match=r"7-1 network: the input layer has 7 neurons"):
        random_trace([7, 1]).to_svg()
    with pytest.raises(ValueError, match=r"1-1-1-1-1-1 network: it has 5 weight layers.*"
                                         r"at most 6 neurons per layer and 4 weight layers"):
        random_trace([1] * 6).to_svg()


def test_plain_deterministic_svg():
    trace = trace_of(seed_002())
    text = trace.to_svg()
    assert text == trace_of(seed_002()).to_svg()
    # the same bytes in another process (another hash seed)
    code = ("import sys, fastprop; from fastprop.examples import *; e = seed_002(); "
            "sys.stdout.buffer.write(fastprop.explain(network_from_example(e), e.x, e.y, "
            "e.lr).to_svg().encode())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert other == text.encode()
    root = parse(text)
    assert root.get("version") == "1.1"
    assert "<script" not in text and not re.search(r"\son[a-z]+=", text)
    assert set(re.findall(r'font-family="([^"]*)"', text)) == {"monospace", "sans-serif"}
    assert "href" not in text                  # nothing external


def test_text_is_escaped():
    trace = dataclasses.replace(trace_of(seed_002()), loss_name="<&\"'>")
    caption = texts(group(parse(trace.to_svg()), "caption"))
    assert caption[0].startswith("loss <&\"'>: L = 0.274811")


# ---------------------------------------------------------------- save_svg
def test_save_svg_writes_the_svg_atomically(tmp_path):
    trace = trace_of(seed_002())
    path = tmp_path / "step.svg"
    path.write_text("old")
    trace.save_svg(path)
    assert path.read_bytes() == trace.to_svg().encode("utf-8")
    trace.save_svg(str(tmp_path / "again.svg"))
    assert sorted(os.listdir(tmp_path)) == ["again.svg", "step.svg"]   # no temporary left


def test_save_svg_refuses_bad_paths_before_writing(tmp_path):
    trace = trace_of(seed_002())
    with pytest.raises(ValueError, match=r"cannot write the SVG to .*missing.*directory .* "
                                         r"does not exist"):
        trace.save_svg(tmp_path / "missing" / "step.svg")
    with pytest.raises(ValueError, match="is a directory"):
        trace.save_svg(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got bytes"):
        trace.save_svg(b"step.svg")
    with pytest.raises(ValueError, match="cannot draw a 2-7-1 network"):
        random_trace([2, 7, 1]).save_svg(tmp_path / "large.svg")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------- the CLI
def run_cli(*arguments, cwd=None, code=None):
    command = ([sys.executable, "-c", code] if code is not None
               else [sys.executable, "-m", "fastprop"]) + list(arguments)
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300,
                          encoding="utf-8")


def test_cli_svg(tmp_path):
    done = run_cli(*SEED_002_COMMAND, "--svg", "step.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == str(trace_of(seed_002()))
    assert (tmp_path / "step.svg").read_bytes() == trace_of(seed_002()).to_svg().encode()


@pytest.mark.parametrize("option", ["--svg", "--png"])
def test_cli_bad_path_is_one_line(tmp_path, option):
    done = run_cli(*SEED_002_COMMAND, option, str(tmp_path / "missing" / "step.x"))
    assert done.returncode == 1
    assert done.stdout == ""
    assert re.fullmatch(rf"fastprop explain: error: {option} .*missing.*: directory .* does "
                        r"not exist\n", done.stderr)


def test_cli_too_large_network_is_one_line(tmp_path):
    done = run_cli("explain", "--sizes", "7,1", "--weights", ",".join(["0.1"] * 7),
                   "--biases", "0", "--x", ",".join(["1"] * 7), "--y", "1", "--lr", "0.5",
                   "--svg", "large.svg", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert re.fullmatch(r"fastprop explain: error: --svg: cannot draw a 7-1 network: .* at "
                        r"most 6 neurons per layer and 4 weight layers.*\n", done.stderr)
    assert os.listdir(tmp_path) == []


def test_cli_png_without_matplotlib_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from fastprop.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    done = run_cli(*SEED_002_COMMAND, "--svg", "step.svg", "--png", "step.png", cwd=tmp_path,
                   code=code)
    assert done.returncode == 1 and done.stdout == ""
    assert re.fullmatch(r"fastprop explain: error: .*pip install matplotlib.*\n", done.stderr)
    assert os.listdir(tmp_path) == []                  # nothing written, not even the SVG


# ------------------------------------------------------------- the pictures
def png_pixels(path):
    """(width, height, the set of colours as RGB bytes, fraction of pixels that are not
    white) of an 8-bit RGB or RGBA PNG, decoded with zlib alone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks = 8, {}
    while position < len(data):
        (length,), kind = struct.unpack(">I", data[position:position + 4]), \
            data[position + 4:position + 8]
        chunks.setdefault(kind, []).append(data[position + 8:position + 8 + length])
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for r in range(height):
        kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                      else corner)) & 255
        rows.append(bytes(line))
        previous = line
    pixels = [row[i:i + 3] for row in rows for i in range(0, stride, channels)]
    colours = set(pixels)
    not_white = sum(pixel != b"\xff\xff\xff" for pixel in pixels) / len(pixels)
    return width, height, colours, not_white


# The fills of the hidden and output neurons' circles: a page of text (an XML error) has not.
NEURON_FILLS = {bytes.fromhex(_explain_svg._FILLS[kind][1:]) for kind in ("hidden", "output")}


def test_cli_png_is_a_picture(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    done = run_cli(*SEED_002_COMMAND, "--png", "step.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = np.round(image.imread(tmp_path / "step.png")[:, :, :3] * 255).astype(np.uint8)
    layout = _explain_svg.layout(trace_of(seed_002()))
    height, width = pixels.shape[:2]
    # 1.5 PNG pixels (dpi 150) per pixel of the layout, rounded either way
    assert abs(width - layout.width * 1.5) <= 1 and abs(height - layout.height * 1.5) <= 1
    colours = {bytes(pixel) for pixel in np.unique(pixels.reshape(-1, 3), axis=0)}
    not_white = (pixels != 255).any(axis=2).mean()
    assert len(colours) > 20 and 0.02 < not_white < 0.5, (len(colours), not_white)
    assert NEURON_FILLS <= colours


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "headless_shell")


def browser():
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


@pytest.mark.skipif(browser() is None, reason="no Chromium or Chrome found (" +
                    ", ".join(BROWSERS) + ")")
def test_a_real_browser_draws_the_svg(tmp_path):
    trace = trace_of(seed_002())
    svg_path, screenshot = tmp_path / "step.svg", tmp_path / "screenshot.png"
    trace.save_svg(svg_path)
    root = parse(trace.to_svg())
    width, height = int(float(root.get("width"))), int(float(root.get("height")))
    subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--window-size={width},{height}", f"--screenshot={screenshot}",
                    svg_path.as_uri()], capture_output=True, timeout=180)
    shot_width, shot_height, colours, not_white = png_pixels(screenshot)
    assert (shot_width, shot_height) == (width, height)
    assert len(colours) > 20 and 0.02 < not_white < 0.5, (len(colours), not_white)
    assert NEURON_FILLS <= colours
