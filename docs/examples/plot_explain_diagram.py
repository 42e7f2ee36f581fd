"""
One training step as a picture: the explain diagram
===================================================

``fastprop.explain`` traces one training step of a network on one sample; its
``to_svg()`` draws the network with every number of that step on it: per
neuron its z, a and δ and its bias before and after the update, per weight its
value before and after the update and its gradient, and the loss and learning
rate in a caption. This is the Forward & Backpropagation tutorial's 2-2-1
network (``fastprop.examples.seed_002()``), the step that
:doc:`/user-guide/tutorials` goes through number by number.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import fastprop
from fastprop.examples import network_from_example, seed_002

example = seed_002()
trace = fastprop.explain(network_from_example(example), example.x, example.y, example.lr)
picture = trace.to_svg()
print(f"loss {trace.loss:.6f}; w5: {trace.parameter('w5').old} -> {trace.parameter('w5').new:.6f}")
print(f"the SVG: {len(picture)} characters, starting {picture.splitlines()[0]!r}")

# %%
# The SVG, as ``trace.to_svg()`` returns it (``trace.save_svg(path)`` writes
# it to a file). Every neuron, bias and weight is a ``<g>`` group whose
# ``data-name`` says which (``data-name="w5"``), so the picture can be checked
# or restyled.


class InlineSVG:
    """Shows an SVG document in a notebook or in this gallery."""

    def __init__(self, document: str) -> None:
        self.document = document

    def _repr_html_(self) -> str:
        # An SVG element in HTML: the document without its XML declaration.
        body = self.document.split("?>", 1)[1] if self.document.startswith("<?xml") else self.document
        return f'<div style="overflow-x: auto">{body}</div>'


InlineSVG(picture)

# %%
# The command line draws the same picture: ``fastprop explain`` with the
# network written out, and ``--svg OUT.svg`` or ``--png OUT.png`` (through
# matplotlib). Here the PNG, shown with matplotlib:

png = Path(tempfile.mkdtemp()) / "step.png"
command = [sys.executable, "-m", "fastprop", "explain", "--sizes", "2,2,1",
           "--weights", "0.15,0.20,0.25,0.30,0.40,0.45", "--biases", "0.35,0.35,0.60",
           "--x", "0.05,0.10", "--y", "0.01", "--lr", "0.5", "--png", str(png)]
subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
image = plt.imread(png)
height, width = image.shape[:2]
fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
ax = fig.add_axes((0, 0, 1, 1))
ax.imshow(image)
ax.set_axis_off()
plt.show()
