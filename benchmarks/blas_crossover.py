"""Measure where BLAS GEMM starts to beat fastprop's plain loops.

For networks [w, w, w] trained full-batch on m samples, time many compiled epochs
twice in one process: with every product in the plain loops, and with every
product in BLAS. Each product of such a step has m * w * w multiply-adds. Prints,
per dtype, the time per step of each path and which one wins; the crossover
``BLAS_MIN_MULTIPLY_ADDS`` in ``_kernels.pyx`` is chosen from this table.

    python benchmarks/blas_crossover.py
"""
import time

import numpy as np

import fastprop
from fastprop import _kernels

NEVER, ALWAYS = 1 << 62, 0


def seconds_per_step(net, X, Y, threshold, target_seconds=0.05):
    _kernels.set_blas_min_multiply_adds(threshold)
    epochs = 16
    while True:
        start = time.perf_counter()
        net.fit(X, Y, epochs, 1e-3, shuffle=False)
        elapsed = time.perf_counter() - start
        if elapsed > target_seconds:
            return elapsed / epochs
        epochs *= 4


def main():
    default = _kernels.blas_min_multiply_adds()
    rng = np.random.default_rng(0)
    print("dtype   | batch m | width w | m*w*w   | loops us/step | BLAS us/step | faster")
    print("--------+---------+---------+---------+---------------+--------------+-------")
    try:
        for dtype in (np.float32, np.float64):
            for m in (1, 4, 16, 32, 128):
                for w in (2, 4, 8, 16, 32, 64):
                    X = rng.random((m, w)).astype(dtype)
                    Y = rng.random((m, w)).astype(dtype)
                    net = fastprop.Network([w, w, w], seed=0, dtype=dtype)
                    best = {}
                    for name, threshold in (("loops", NEVER), ("BLAS", ALWAYS)):
                        best[name] = min(seconds_per_step(net, X, Y, threshold) for _ in range(3))
                    winner = min(best, key=best.get)
                    print(f"{np.dtype(dtype).name:7} | {m:7} | {w:7} | {m * w * w:7} | "
                          f"{best['loops'] * 1e6:13.2f} | {best['BLAS'] * 1e6:12.2f} | {winner}")
    finally:
        _kernels.set_blas_min_multiply_adds(default)
    print(f"\ncurrent BLAS_MIN_MULTIPLY_ADDS = {default}")


if __name__ == "__main__":
    main()
