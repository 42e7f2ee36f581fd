"""Helpers shared by fastprop's tests (they need the ``test`` extra: hypothesis).

Test modules import these from here, never from one another, so that the suite runs
under any pytest import mode.

* Tolerances. The references are evaluated in float64 from the very same inputs
  (float32 inputs are exactly representable in float64), so what is measured is a
  kernel's own rounding. A sum of k products carries an error of at most about
  k * eps * sum(|terms|); every comparison is
  ``|got - expected| <= rtol * (|expected| + scale)`` with rtol 1e-12 (float64) or
  1e-5 (float32) and ``scale`` the sum of the magnitudes of the terms added up.
* Paths. ``product_path(name)`` sends every product to the plain loops, the vector
  kernels (this run's, or one CPU path's: "vector_avx2", "vector_avx512") or BLAS,
  through ``fastprop.config_context``; ``vector_cpu_paths()`` lists the CPU paths
  with vector kernels that this run tests.
"""
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal, cast

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _kernels
from ._configuration import config_context, get_config

RTOL: dict[np.dtype[Any], float] = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# Below the smallest normal number only absolute precision is left (products of
# tiny inputs underflow to zero): a floor far below any value that matters.
UNDERFLOW = {dtype: 16 * float(np.finfo(dtype).tiny) for dtype in RTOL}
OTHER: dict[np.dtype[Any], np.dtype[Any]] = {np.dtype(np.float32): np.dtype(np.float64), np.dtype(np.float64): np.dtype(np.float32)}


def assert_close(actual: ArrayLike, expected: ArrayLike, dtype: DTypeLike,
                 scale: float | NDArray[Any] = 0.0) -> None:
    """|actual - expected| <= rtol * (|expected| + scale) + underflow floor, elementwise."""
    got = np.asarray(actual, dtype=np.float64)
    exact = np.asarray(expected, dtype=np.float64)
    assert got.shape == exact.shape
    rtol = RTOL[np.dtype(dtype)]
    bound = rtol * (np.abs(exact) + scale) + UNDERFLOW[np.dtype(dtype)]
    error = np.abs(got - exact)
    worst = np.argmax(error - bound) if error.size else 0
    assert np.all(error <= bound), (
        f"max violation at flat index {worst}: got {got.flat[worst]!r}, "
        f"expected {exact.flat[worst]!r}, bound {bound.flat[worst]!r}")


def f64(array: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(array, dtype=np.float64)


def np_sigmoid(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-z))  # only ever given moderate z in the tests


def element_floats(dtype: DTypeLike, low: float = -4.0, high: float = 4.0
                   ) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False,
                     width=cast(Literal[16, 32, 64], 8 * np.dtype(dtype).itemsize))


def arrays(dtype: DTypeLike, shape: int | tuple[int, ...], low: float = -4.0, high: float = 4.0
           ) -> st.SearchStrategy[NDArray[Any]]:
    return hnp.arrays(dtype, shape, elements=element_floats(dtype, low, high))


widths = st.integers(1, 8)
learning_rates = st.floats(1e-3, 2.0)


def nan_filled(shape: int | tuple[int, ...], dtype: DTypeLike) -> NDArray[Any]:
    """An output buffer full of NaN, so that any element a kernel forgets to write shows."""
    return np.full(shape, np.nan, dtype=dtype)


def random_arrays(rng: np.random.Generator, dtype: DTypeLike, *shapes: int | tuple[int, ...],
                  low: float = -2.0, high: float = 2.0) -> list[NDArray[Any]]:
    return [rng.uniform(low, high, size=shape).astype(dtype) for shape in shapes]


def ulp_distance_ok(got: Any, exact: float, n_ulps: float) -> bool:
    return bool(abs(got - exact) <= n_ulps * np.spacing(type(got)(abs(exact))))


def check_hidden_delta_against_numpy(delta_next: NDArray[Any], W_next: NDArray[Any],
                                     A: NDArray[Any], dtype: DTypeLike) -> None:
    """hidden_delta against (delta_next @ W_next) * A * (1 - A) in float64."""
    delta = nan_filled(A.shape, dtype)
    _kernels.hidden_delta(delta_next, W_next, A, delta)
    derivative = f64(A) * (1 - f64(A))
    scale = (np.abs(f64(delta_next)) @ np.abs(f64(W_next))) * derivative
    assert_close(delta, (f64(delta_next) @ f64(W_next)) * derivative, dtype, scale)


def train_buffers(sizes: Sequence[int], dtype: DTypeLike, batch_rows: int, shuffled: bool,
                  extra_rows: int = 0) -> tuple[list[NDArray[Any]], list[NDArray[Any]],
                                                NDArray[Any] | None, NDArray[Any] | None]:
    """NaN-filled (activations, deltas, batch_X, batch_Y) for Trainer / train_epochs."""
    rows = batch_rows + extra_rows
    activations = [nan_filled((rows, width), dtype) for width in sizes[1:]]
    deltas = [nan_filled((rows, width), dtype) for width in sizes[1:]]
    if shuffled:
        return activations, deltas, nan_filled((rows, sizes[0]), dtype), nan_filled((rows, sizes[-1]), dtype)
    return activations, deltas, None, None


def make_training_problem(dtype: DTypeLike, sizes: Sequence[int] = (3, 4, 2), n: int = 10,
                          seed: int = 0) -> tuple[list[int], list[NDArray[Any]],
                                                  list[NDArray[Any]], NDArray[Any], NDArray[Any]]:
    """(sizes, weights, biases, X, Y) of a small random training problem."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 1, (n_out, n_in)).astype(dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-0.5, 0.5, n_out).astype(dtype) for n_out in sizes[1:]]
    X = rng.uniform(-1, 1, (n, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (n, sizes[-1])).astype(dtype)
    return list(sizes), weights, biases, X, Y


# --- CPU paths and product routes ------------------------------------------------

def session_cpu_path() -> str:
    """The path this test run runs on ("baseline", "avx2" or "avx512"; FASTPROP_CPU sets it)."""
    path: str = _kernels.read_config()["cpu"]
    return path


def available_cpu_paths() -> list[str]:
    """The CPU paths this CPU and build can run, from "baseline" up."""
    capabilities = _kernels.cpu_capabilities()
    paths = ["baseline"]
    if capabilities["vector_kernels_compiled"]:
        paths += [path for path, vector in (("avx2", capabilities["avx2_fma"]),
                                            ("avx512", capabilities["avx512"])) if vector]
    return paths


def vector_kernels_in_use() -> bool:
    """Whether this run's CPU path has the vector kernels."""
    return session_cpu_path() != "baseline"


CPU_PATH_ORDER = ("baseline", "avx2", "avx512")
VECTOR_CPU_PATHS = ("avx2", "avx512")


def vector_cpu_paths() -> list[str]:
    """The CPU paths with vector kernels this run tests: those this CPU and build have, up
    to this run's path (FASTPROP_CPU=avx2 leaves avx512 out, =baseline both)."""
    session = CPU_PATH_ORDER.index(session_cpu_path())
    return [path for path in available_cpu_paths()
            if path in VECTOR_CPU_PATHS and CPU_PATH_ORDER.index(path) <= session]


NO_VECTOR_KERNELS = "this run's CPU path (FASTPROP_CPU) has no vector kernels"


def no_vector_kernels_on(cpu: str) -> str:
    """Why the vector kernels of cpu are not tested in this run."""
    return f"this CPU, build or run (FASTPROP_CPU) has no {cpu} path"

# Options of config_context that send every product to one route.
# Each under the fixed plan, so that fit routes by these thresholds too.
PATH_OPTIONS: dict[str, dict[str, Any]] = {
    "loops": dict(plan="fixed", vector_min_multiply_adds=None, blas_min_multiply_adds_float32=None,
                  blas_min_multiply_adds_float64=None, loops_blas_min_multiply_adds=None,
                  single_thread_blas_min_multiply_adds=None),
    "vector": dict(plan="fixed", vector_min_multiply_adds=0, blas_min_multiply_adds_float32=None,
                   blas_min_multiply_adds_float64=None, single_thread_blas_min_multiply_adds=None),
    "blas": dict(plan="fixed", blas_min_multiply_adds_float32=0, blas_min_multiply_adds_float64=0,
                 loops_blas_min_multiply_adds=0, single_thread_blas_min_multiply_adds=0),
}


def product_path(name: str) -> contextlib.AbstractContextManager[dict[str, Any]]:
    """A context in which every product runs in "loops", "vector" (the vector kernels of
    this run's CPU path), "vector_avx2" or "vector_avx512" (those of that CPU path), or
    "blas"."""
    if name == "vector" and not vector_kernels_in_use():
        raise ValueError(NO_VECTOR_KERNELS)
    if name.startswith("vector_"):
        cpu = name[len("vector_"):]
        if cpu not in vector_cpu_paths():
            raise ValueError(no_vector_kernels_on(cpu))
        return config_context(cpu=cpu, **PATH_OPTIONS["vector"])
    return config_context(**PATH_OPTIONS[name])


def default_thresholds() -> list[int]:
    """The default thresholds that pick a route on this run's path (sorted, never excluded)."""
    defaults = _kernels.default_config()
    names = (["vector_min_multiply_adds", "blas_min_multiply_adds_float32",
              "blas_min_multiply_adds_float64", "narrow_blas_min_multiply_adds"]
             if vector_kernels_in_use() else ["loops_blas_min_multiply_adds"])
    names.append("single_thread_blas_min_multiply_adds")
    return sorted({defaults[name] for name in names})

