"""The machine's matrix-product rate, measured now, for the GEMM floor.

The GEMM floor of a case is its FLOP count (``BenchmarkCase.training_flops``)
divided by the rate measured here on a large square product through NumPy
(``A @ B``, which calls the BLAS xGEMM NumPy is linked to), in the dtype of
the case, best of several repeats. A large square product is the friendliest
shape a BLAS gets, so the floor is an optimistic lower bound for training.

fastprop calls GEMM through SciPy's BLAS (``scipy.linalg.cython_blas``), which
may be a different build of the library; ``scipy_gemm_rate`` measures that one
too, for the record.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

FULL_SIZE = 2048
QUICK_SIZE = 512


@dataclass(frozen=True)
class GemmRate:
    dtype: str
    size: int
    seconds: float  # best of the repeats
    library: str  # "numpy" or "scipy"

    @property
    def flops_per_second(self) -> float:
        return 2.0 * self.size**3 / self.seconds

    def describe(self) -> str:
        return f"{self.library} {self.dtype} GEMM {self.size}³: {self.flops_per_second / 1e9:.1f} GFLOP/s"


def _square_operands(size: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((size, size), dtype=dtype), rng.random((size, size), dtype=dtype)


def _best_seconds(product, repeats: int) -> float:
    product()  # warm up: thread pool start, page faults
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - start)
    return best


def numpy_gemm_rate(dtype=np.float32, size: int = FULL_SIZE, repeats: int = 5) -> GemmRate:
    a, b = _square_operands(size, dtype)
    out = np.empty_like(a)
    seconds = _best_seconds(lambda: np.matmul(a, b, out=out), repeats)
    return GemmRate(np.dtype(dtype).name, size, seconds, "numpy")


def scipy_gemm_rate(dtype=np.float32, size: int = FULL_SIZE, repeats: int = 5) -> GemmRate:
    from scipy.linalg import blas

    gemm = blas.sgemm if np.dtype(dtype) == np.float32 else blas.dgemm
    a, b = (np.asfortranarray(m) for m in _square_operands(size, dtype))
    seconds = _best_seconds(lambda: gemm(1.0, a, b), repeats)
    return GemmRate(np.dtype(dtype).name, size, seconds, "scipy")
