"""Make optional packages unimportable, to check that the benchmarks run without them (as in CI).

    FASTPROP_BENCH_HIDE=torch,jax python benchmarks/run_all.py --quick
    FASTPROP_BENCH_HIDE=torch,jax FASTPROP_BENCH_QUICK=1 python -m pytest benchmarks --benchmark-disable

run_all.py and conftest.py import this module before anything else; with the
variable set, importing a listed package (or any of its submodules) raises
``ModuleNotFoundError``, exactly as when it is not installed. Unset, it does
nothing.
"""
from __future__ import annotations

import importlib.abc
import os
import sys

HIDE_VARIABLE = "FASTPROP_BENCH_HIDE"


class _HiddenPackages(importlib.abc.MetaPathFinder):
    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by {HIDE_VARIABLE})", name=fullname)
        return None


def hidden_packages() -> frozenset[str]:
    return frozenset(name.strip() for name in os.environ.get(HIDE_VARIABLE, "").split(",") if name.strip())


def hide(names) -> None:
    """From now on, importing any of ``names`` fails; already imported ones are an error."""
    names = frozenset(names)
    loaded = sorted(name for name in names if name in sys.modules)
    if loaded:
        raise RuntimeError(f"{HIDE_VARIABLE}: {', '.join(loaded)} already imported, too late to hide")
    if not any(isinstance(finder, _HiddenPackages) and finder.names == names for finder in sys.meta_path):
        sys.meta_path.insert(0, _HiddenPackages(names))


if hidden_packages():
    hide(hidden_packages())
