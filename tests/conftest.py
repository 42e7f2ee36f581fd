"""Shared fixtures for the kernel and Network tests.

* ``dtype``: every test that takes it runs once in float32 and once in float64.
* ``matmul_path``: every test that takes it runs once with every product in the
  plain loops and once with every product in BLAS GEMM (the kernels switch at
  ``_kernels.blas_min_multiply_adds()`` multiply-adds), so both code paths are
  exercised whatever the shapes. The threshold is restored afterwards.
* An autouse guard checks that no test leaves the threshold changed.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from fastprop import _kernels

# Hypothesis: a modest number of examples, no deadline (the first call of a
# kernel may be slow), and function-scoped fixtures are fine (``dtype`` and
# ``matmul_path`` are meant to hold for every example of a test).
settings.register_profile(
    "fastprop",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("fastprop")

DEFAULT_BLAS_MIN_MULTIPLY_ADDS = _kernels.blas_min_multiply_adds()
ALWAYS_LOOPS = 2 ** 62


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=["loops", "blas"])
def matmul_path(request):
    """Send every product to the plain loops ("loops") or to BLAS GEMM ("blas")."""
    previous = _kernels.blas_min_multiply_adds()
    _kernels.set_blas_min_multiply_adds(0 if request.param == "blas" else ALWAYS_LOOPS)
    try:
        yield request.param
    finally:
        _kernels.set_blas_min_multiply_adds(previous)


@pytest.fixture(autouse=True)
def _blas_threshold_is_restored():
    before = _kernels.blas_min_multiply_adds()
    yield
    after = _kernels.blas_min_multiply_adds()
    if after != before:  # pragma: no cover - only when a test misbehaves
        _kernels.set_blas_min_multiply_adds(before)
        pytest.fail(f"the test left the BLAS threshold at {after} (was {before})")
