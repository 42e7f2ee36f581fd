"""
Speed against NumPy, PyTorch and JAX
====================================

The benchmark cases' training times, read from the last run's results file
(``benchmarks/RESULTS.md``, written by ``python benchmarks/run_all.py``); nothing
is measured when the documentation is built. Each bar is the best of several
runs of the whole training of a case, on the machine named in the file; the
bars are drawn on a log scale, since the cases range from milliseconds to
seconds. The NumPy baseline is the NumPy XOR tutorial's class, generalised;
PyTorch runs eagerly; JAX compiles each case into one ``jax.jit`` call.
"""

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def find_results() -> Path:
    """benchmarks/RESULTS.md of the repository these docs are built from."""
    here = Path.cwd()
    for directory in (here, *here.parents):
        candidate = directory / "benchmarks" / "RESULTS.md"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("benchmarks/RESULTS.md not found above " + str(here))


def seconds(text: str) -> float:
    """'1.39 ms', '2.33 s' or '0.011 ms' in seconds."""
    match = re.fullmatch(r"([0-9.,]+)\s*(ms|s|µs|us)", text.strip())
    if match is None:
        raise ValueError(f"not a time: {text!r}")
    value = float(match.group(1).replace(",", ""))
    return value * {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6}[match.group(2)]


def ratios_table(markdown: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of the table under '## Ratios'."""
    section = markdown.split("## Ratios", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != len(header):
            break
        rows.append(dict(zip(header, cells)))
    return header, rows


results = find_results()
markdown = results.read_text(encoding="utf-8")
header, rows = ratios_table(markdown)
machine = re.search(r"Measured on: \*\*(.+?)\*\*(.*)", markdown)
implementations = header[1:5]   # fastprop, NumPy, PyTorch, JAX, as the file names them
where = machine.group(1) if machine else "a machine the file does not name"
print(f"{len(rows)} cases from {results.name}, measured on {where}")
print("case | " + " | ".join(implementations))
for row in rows:
    print(row["case"].split(":")[0] + "    | " + " | ".join(row[name] for name in implementations))

# %%
# One group of bars per case, one bar per implementation.

times = np.array([[seconds(row[name]) for name in implementations] for row in rows])
cases = [row["case"].split(":")[0] for row in rows]
width = 0.8 / len(implementations)
fig, ax = plt.subplots(figsize=(8, 4.5))
for k, name in enumerate(implementations):
    ax.bar(np.arange(len(cases)) + (k - (len(implementations) - 1) / 2) * width, times[:, k],
           width, label=name)
ax.set_xticks(np.arange(len(cases)), cases)
ax.set_yscale("log")
ax.set_xlabel("benchmark case (see benchmarks/RESULTS.md)")
ax.set_ylabel("training time, best run (s)")
ax.set_title(f"Training time per case, lower is faster ({where})", fontsize="medium")
ax.legend(fontsize="small")
fig.tight_layout()

# %%
# The cases, as the results file describes them:

for row in rows:
    print(row["case"])
plt.show()
