"""pytest configuration of the benchmarks (the main suite in tests/ never collects them).

    python -m pytest benchmarks                                   # timed, pytest-benchmark tables
    FASTPROP_BENCH_QUICK=1 python -m pytest benchmarks --benchmark-disable   # CI: seconds

PyTorch and JAX are optional: their benchmarks are skipped when they are not installed
(``FASTPROP_BENCH_HIDE=torch,jax`` hides installed ones, as in CI: hide_packages.py).
"""
from __future__ import annotations

import hide_packages  # noqa: F401  (first, before anything imports torch or jax)

import functools

import pytest

from cases import QUICK_MODE_VARIABLE, BenchmarkCase, make_training_data, quick_mode_requested
from trainers import NUMPY, train_once


def pytest_report_header(config):
    mode = "QUICK (small cases)" if quick_mode_requested() else f"full (set {QUICK_MODE_VARIABLE}=1 for quick)"
    hidden = sorted(hide_packages.hidden_packages())
    return f"fastprop benchmarks: {mode} mode" + (f"; hidden: {', '.join(hidden)}" if hidden else "")


@functools.lru_cache(maxsize=None)
def cached_training_data(case: BenchmarkCase):
    return make_training_data(case)  # shared by every test of the case; none writes to it


@functools.lru_cache(maxsize=None)
def cached_numpy_parameters(case: BenchmarkCase):
    """Final weights of the NumPy baseline on the case: what the others must match."""
    return train_once(NUMPY, case, *cached_training_data(case)).parameters()


@pytest.fixture
def training_data():
    return cached_training_data


@pytest.fixture
def numpy_reference_parameters():
    return cached_numpy_parameters
