"""The compiled code gives, bit for bit, the outputs stored before its rewrite.

``tests/data/stored_outputs.npz`` holds what the Cython/C-macro kernels computed
(the code of commit 7b74989, on an Intel Xeon with AVX2; the avx512 groups were
added later, with the first AVX-512 kernels, and hold the avx2 groups' bits) for
the cases defined in ``tests/data/make_stored_outputs.py``: the kernel wrappers of ``fastprop._kernels``
on many shapes and on the sigmoid's special values, and ``Network.forward`` and
``Network.fit`` on five networks; on five code paths, with 1 and 2 threads, in
float32 and float64. No stored result went through BLAS, whose bits depend on the
OpenBLAS build and the CPU.

This module recomputes every case with the paths forced through the configuration
API (``fastprop.config_context``) and compares each array by its bits, so NaN
payloads and signed zeros count. The case definitions live in one place, the
generator, which this module loads by its file path (it is not a test module, and
this works under any pytest import mode), as is ``force_path``.
"""
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest

import fastprop
from fastprop import _kernels

_CASES_FILE = Path(__file__).resolve().parent / "data" / "make_stored_outputs.py"


def _load_cases():
    spec = importlib.util.spec_from_file_location("fastprop_stored_output_cases", _CASES_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()

force_path = cases.force_path


def cpu_available(cpu):
    """Whether this CPU (and build) can run the kernels of cpu ("avx2", "avx512")."""
    try:
        with fastprop.config_context():
            fastprop.set_config(cpu=cpu)
    except ValueError:
        return False
    return True


# A string condition: evaluated when the test runs, not when it is collected.
needs_avx2 = pytest.mark.skipif("not cpu_available('avx2')",
                                reason="this CPU (or build) has no AVX2 and FMA kernels")
needs_avx512 = pytest.mark.skipif("not cpu_available('avx512')",
                                  reason="this CPU (or build) has no AVX-512 kernels")
NEEDS = {"loops": [], "avx2_vector": [needs_avx2], "avx2_default": [needs_avx2],
         "avx512_vector": [needs_avx512], "avx512_default": [needs_avx512]}


def _available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _group(path, threads, dtype):
    return pytest.param(path, threads, dtype, marks=NEEDS[path],
                        id=cases.group_prefix(path, threads, dtype).replace("/", "-"))


@pytest.fixture(scope="module")
def stored():
    return cases.load_outputs()


def describe_difference(key, computed, expected):
    if computed.dtype != expected.dtype or computed.shape != expected.shape:
        return (f"{key}: computed {computed.dtype}{computed.shape}, "
                f"stored {expected.dtype}{expected.shape}")
    unsigned = np.dtype(f"u{expected.dtype.itemsize}")
    differ = computed.view(unsigned) != expected.view(unsigned)
    first = tuple(int(i) for i in np.unravel_index(np.argmax(differ), differ.shape))
    bits = f"0{2 * expected.dtype.itemsize}x"
    return (f"{key}: {int(differ.sum())} of {differ.size} elements differ; first at {first}: "
            f"computed {computed[first]!r} (0x{int(computed.view(unsigned)[first]):{bits}}), "
            f"stored {expected[first]!r} (0x{int(expected.view(unsigned)[first]):{bits}})")


@pytest.mark.parametrize("path, threads, dtype", [_group(*group) for group in cases.GROUPS])
def test_outputs_match_the_stored_ones_bit_for_bit(stored, path, threads, dtype):
    before = fastprop.get_config()
    team_tasks = {}
    computed = cases.compute_group(force_path, path, threads, dtype, team_tasks)
    assert fastprop.get_config() == before, "config_context did not restore the configuration"

    prefix = cases.group_prefix(path, threads, dtype) + "/"
    expected = {key: array for key, array in stored.items() if key.startswith(prefix)}
    assert expected, f"nothing stored for {prefix}"
    assert sorted(computed) == sorted(expected), "the cases no longer match the stored ones"
    mismatches = [describe_difference(key, computed[key], expected[key])
                  for key in expected if not cases.same_bits(computed[key], expected[key])]
    assert not mismatches, (f"{len(mismatches)} of {len(expected)} arrays differ from the "
                            "stored ones:\n" + "\n".join(mismatches[:20]))

    # The 2-thread groups are only evidence about the team if the team worked: their
    # long fits share products out over it (in a build with threads).
    threads_compiled = _kernels.cpu_capabilities()["threads_compiled"]
    if (threads > 1 and path != "loops" and team_tasks and _available_cores() >= 2
            and threads_compiled):
        # A helper not scheduled in time leaves its share to the main thread (on a machine
        # loaded by other processes, a whole group may run with no helper awake): the
        # group again, for up to 10 seconds, until they took some.
        deadline = time.monotonic() + 10.0
        while sum(team_tasks.values()) == 0 and time.monotonic() < deadline:
            team_tasks = {}
            cases.compute_group(force_path, path, threads, dtype, team_tasks)
        assert sum(team_tasks.values()) > 0, f"the helper threads took no task: {team_tasks}"


def test_no_stored_case_reaches_blas():
    # BLAS's bits depend on the OpenBLAS build and the CPU, so no case may go there.
    cases.check_shapes_avoid_blas()


def test_stored_file_holds_every_group(stored):
    groups = {"/".join(key.split("/")[:3]) for key in stored}
    assert groups == {cases.group_prefix(*group) for group in cases.GROUPS}
    per_group = {group: sum(key.startswith(group + "/") for key in stored) for group in groups}
    assert len(set(per_group.values())) == 1, per_group
