"""pytest configuration of the benchmarks (the main suite in tests/ never collects them).

    python -m pytest benchmarks                                   # timed, pytest-benchmark tables
    FASTPROP_BENCH_QUICK=1 python -m pytest benchmarks --benchmark-disable   # CI: seconds

PyTorch is optional: its benchmarks are skipped when it is not installed.
"""
from __future__ import annotations

import functools

import pytest

from cases import QUICK_MODE_VARIABLE, BenchmarkCase, make_training_data, quick_mode_requested
from trainers import NUMPY, make_trainer


def pytest_report_header(config):
    mode = "QUICK (small cases)" if quick_mode_requested() else f"full (set {QUICK_MODE_VARIABLE}=1 for quick)"
    return f"fastprop benchmarks: {mode} mode"


@functools.lru_cache(maxsize=None)
def cached_training_data(case: BenchmarkCase):
    return make_training_data(case)  # shared by every test of the case; none writes to it


@functools.lru_cache(maxsize=None)
def cached_numpy_parameters(case: BenchmarkCase):
    """Final weights of the NumPy baseline on the case: what the others must match."""
    trainer = make_trainer(NUMPY, case)
    trainer.train(*cached_training_data(case))
    return trainer.parameters()


@pytest.fixture
def training_data():
    return cached_training_data


@pytest.fixture
def numpy_reference_parameters():
    return cached_numpy_parameters
