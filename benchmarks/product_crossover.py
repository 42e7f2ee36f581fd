"""Measure where each product path starts to pay: plain loops, the AVX2/FMA
kernels on one thread, the same kernels shared out over the team of threads,
and BLAS GEMM.

For networks [w, w, w] trained full-batch on m samples, every product of a step
has m * w * w multiply-adds. Each path is forced in turn (in one process, in
rotation, best of several runs) and timed over many compiled epochs. Prints,
per dtype, microseconds per step for each path and the fastest; the thresholds
in ``_kernels.pyx`` (VECTOR_DEFAULT_MIN, VECTOR_DEFAULT_BLAS_MIN_*,
ALONE_DEFAULT_BLAS_MIN, NARROW_BLAS_MIN_MULTIPLY_ADDS, PARALLEL_MIN_MULTIPLY_ADDS
and, without AVX2, LOOPS_ONLY_BLAS_MIN) are chosen from this table.

    python benchmarks/product_crossover.py            # the whole grid, a few minutes;
                                                      # writes benchmarks/PRODUCT_CROSSOVER.md
    python benchmarks/product_crossover.py --quick    # a few rows (a smoke test), writes nothing
"""
from __future__ import annotations

import argparse
import datetime
import platform
import time
from pathlib import Path

import numpy as np

import fastprop
from fastprop import _kernels

NEVER = 2 ** 62
OUTPUT = Path(__file__).with_name("PRODUCT_CROSSOVER.md")
# (vector_min, blas_min, threads, parallel_min) for each path
PATHS = {
    "loops": (NEVER, NEVER, 1, NEVER),
    "vector": (0, NEVER, 1, NEVER),
    "vector+team": (0, NEVER, None, 0),
    "BLAS": (NEVER, 0, 1, NEVER),
}


def seconds_per_step(net, X, Y, target_seconds):
    epochs = 4
    while True:
        start = time.perf_counter()
        net.fit(X, Y, epochs, 1e-3, shuffle=False)
        elapsed = time.perf_counter() - start
        if elapsed > target_seconds:
            return elapsed / epochs
        epochs *= 4


def force(path, default_threads):
    vector_min, blas_min, threads, parallel_min = PATHS[path]
    _kernels.set_blas_min_multiply_adds(blas_min)
    _kernels.set_alone_blas_min_multiply_adds(blas_min)
    if _kernels.vector_products_available():
        _kernels.set_vector_min_multiply_adds(vector_min)
    _kernels.set_threads(threads or default_threads)
    _kernels.set_parallel_min_multiply_adds(parallel_min)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few shapes, short timings")
    args = parser.parse_args(argv)
    alone_blas_min = _kernels.alone_blas_min_multiply_adds()
    settings = (_kernels.vector_min_multiply_adds(),
                (_kernels.blas_min_multiply_adds(np.float32), _kernels.blas_min_multiply_adds(np.float64)),
                _kernels.threads(), _kernels.parallel_min_multiply_adds())
    default_threads = settings[2]
    paths = [p for p in PATHS if _kernels.vector_products_available() or "vector" not in p]
    if default_threads < 2:
        paths = [p for p in paths if p != "vector+team"]
    batches = (4, 32) if args.quick else (1, 4, 16, 32, 128, 256)
    widths = (8, 64) if args.quick else (2, 4, 8, 16, 32, 64, 128, 256, 512)
    target, repeats = (0.01, 1) if args.quick else (0.04, 3)
    rng = np.random.default_rng(0)
    lines = []

    def say(line):
        print(line, flush=True)
        lines.append(line)

    header = " | ".join(f"{p:>11}" for p in paths)
    say(f"threads for vector+team: {default_threads}; microseconds per training step (3 products per layer)")
    say("")
    say(f"| dtype   | batch m | width w | m*w*w      | {header} | fastest |")
    say("|---------|---------|---------|------------|" + "|".join("-" * 13 for _ in paths) + "|---------|")
    try:
        for dtype in (np.float32, np.float64):
            for m in batches:
                for w in widths:
                    X = rng.random((m, w)).astype(dtype)
                    Y = rng.random((m, w)).astype(dtype)
                    net = fastprop.Network([w, w, w], seed=0, dtype=dtype)
                    best = {p: float("inf") for p in paths}
                    for _ in range(repeats):
                        for path in paths:  # in rotation, so drift hits every path alike
                            force(path, default_threads)
                            best[path] = min(best[path], seconds_per_step(net, X, Y, target))
                    fastest = min(best, key=best.get)
                    cells = " | ".join(f"{best[p] * 1e6:11.2f}" for p in paths)
                    say(f"| {np.dtype(dtype).name:7} | {m:7} | {w:7} | {m * w * w:10} | {cells} | {fastest} |")
    finally:
        _kernels.set_blas_min_multiply_adds(settings[1][0], np.float32)
        _kernels.set_blas_min_multiply_adds(settings[1][1], np.float64)
        _kernels.set_alone_blas_min_multiply_adds(alone_blas_min)
        if _kernels.vector_products_available():
            _kernels.set_vector_min_multiply_adds(settings[0])
        _kernels.set_threads(settings[2])
        _kernels.set_parallel_min_multiply_adds(settings[3])
    say("")
    say(f"current thresholds: vector from {settings[0]}, BLAS from {settings[1][0]} (float32) "
          f"and {settings[1][1]} (float64), {alone_blas_min} when on one thread; shared out over {settings[2]} threads from "
          f"{settings[3]} multiply-adds (batches of 16 or more)")
    if not args.quick:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
            else platform.processor()
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        OUTPUT.write_text("\n".join([
            "# Product paths: where each one pays",
            "",
            "Written by `python benchmarks/product_crossover.py` (do not edit by hand); "
            f"{cpu}, {stamp}, best of {repeats} runs in rotation.",
            "The thresholds in `src/fastprop/_kernels.pyx` are chosen from this table.",
            "",
            *lines,
            "",
        ]), encoding="utf-8")
        print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
