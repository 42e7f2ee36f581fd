"""Shared fixtures (the helpers live in ``fastprop._testing``; test modules never
import one another, nor this file).

* ``dtype``: every test that takes it runs once in float32 and once in float64.
* ``matmul_path``: every test that takes it runs once with every product in the
  plain loops, once in the vector kernels of each CPU path that has them
  ("vector_avx2", "vector_avx512": each where this CPU, build and run's
  FASTPROP_CPU have the path, skipped elsewhere) and once in BLAS GEMM, so every
  route is exercised whatever the shapes.
* ``any_path``: the default thresholds, then each path forced.
* The whole suite runs on the CPU path that ``FASTPROP_CPU`` selects ("auto" by
  default; ``.ci/run`` runs it once per path this machine has).
* An autouse guard checks that no test leaves the configuration changed.
* Measured plans are stored in a temporary directory of the session, never in the
  user's cache.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from fastprop import _planning, get_config, set_config
from fastprop._testing import (
    VECTOR_CPU_PATHS,
    no_vector_kernels_on,
    product_path,
    session_cpu_path,
    vector_cpu_paths,
)

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

PATHS = ([pytest.param("loops")]
         + [pytest.param(f"vector_{cpu}", marks=pytest.mark.skipif(
             cpu not in vector_cpu_paths(), reason=no_vector_kernels_on(cpu)))
            for cpu in VECTOR_CPU_PATHS]
         + [pytest.param("blas")])


@pytest.fixture(scope="session", autouse=True)
def _plans_in_a_temporary_cache(tmp_path_factory):
    previous = os.environ.get("FASTPROP_CACHE_DIR")
    os.environ["FASTPROP_CACHE_DIR"] = str(tmp_path_factory.mktemp("plan-cache"))
    _planning.forget_loaded_plans()
    yield
    _planning.forget_loaded_plans()
    if previous is None:
        del os.environ["FASTPROP_CACHE_DIR"]
    else:
        os.environ["FASTPROP_CACHE_DIR"] = previous


def pytest_report_header(config):
    return f"fastprop CPU path: {session_cpu_path()} (FASTPROP_CPU selects it)"


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=PATHS)
def matmul_path(request):
    """Send every product to the plain loops, the vector kernels or BLAS GEMM."""
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
def _configuration_is_restored():
    before = get_config()
    yield
    after = get_config()
    if after != before:  # pragma: no cover - only when a test misbehaves
        set_config(**before)
        pytest.fail(f"the test left the configuration at {after} (was {before})")
