"""Shared fixtures for the kernel and Network tests.

* ``dtype``: every test that takes it runs once in float32 and once in float64.
* ``matmul_path``: every test that takes it runs once with every product in the
  plain loops, once in the AVX2/FMA kernels (where the CPU has them) and once in
  BLAS GEMM (the kernels switch at ``_kernels.vector_min_multiply_adds()`` and
  ``_kernels.blas_min_multiply_adds(dtype)`` multiply-adds), so every code path is
  exercised whatever the shapes. The thresholds are restored afterwards.
* An autouse guard checks that no test leaves a threshold changed.
"""
import contextlib

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

NEVER = 2 ** 62
VECTOR_AVAILABLE = _kernels.vector_products_available()
needs_vector_products = pytest.mark.skipif(
    not VECTOR_AVAILABLE, reason="this CPU has no AVX2/FMA (or the build has no vector kernels)")

# (vector_min_multiply_adds, blas_min_multiply_adds) that send every product to one path.
PATH_THRESHOLDS = {"loops": (NEVER, NEVER), "vector": (0, NEVER), "blas": (NEVER, 0)}
PATHS = [pytest.param("loops"), pytest.param("vector", marks=needs_vector_products),
         pytest.param("blas")]


def thresholds():
    """(vector_min, float64 BLAS min, float32 BLAS min, one-thread BLAS min): everything
    that picks a path."""
    return (_kernels.vector_min_multiply_adds(), _kernels.blas_min_multiply_adds(np.float64),
            _kernels.blas_min_multiply_adds(np.float32), _kernels.alone_blas_min_multiply_adds())


def set_thresholds(vector_min, blas_min, blas_min_float32=None, alone_blas_min=None):
    _kernels.set_blas_min_multiply_adds(blas_min, np.float64)
    _kernels.set_blas_min_multiply_adds(blas_min if blas_min_float32 is None else blas_min_float32,
                                        np.float32)
    _kernels.set_alone_blas_min_multiply_adds(blas_min if alone_blas_min is None else alone_blas_min)
    if VECTOR_AVAILABLE or vector_min >= NEVER:
        _kernels.set_vector_min_multiply_adds(vector_min)


@contextlib.contextmanager
def product_path(name):
    """Send every product to "loops", "vector" (AVX2/FMA) or "blas"; restore afterwards."""
    previous = thresholds()
    set_thresholds(*PATH_THRESHOLDS[name])
    try:
        yield name
    finally:
        set_thresholds(*previous)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=PATHS)
def matmul_path(request):
    """Send every product to the plain loops, the AVX2/FMA kernels or BLAS GEMM."""
    with product_path(request.param):
        yield request.param


@pytest.fixture(params=[pytest.param("default")] + PATHS)
def any_path(request):
    """The default thresholds (so edge shapes fall on both sides of them), or one path forced."""
    if request.param == "default":
        yield request.param
        return
    with product_path(request.param):
        yield request.param


@pytest.fixture(autouse=True)
def _product_thresholds_are_restored():
    before = thresholds()
    yield
    after = thresholds()
    if after != before:  # pragma: no cover - only when a test misbehaves
        set_thresholds(*before)
        pytest.fail(f"the test left the product thresholds at {after} (were {before})")
