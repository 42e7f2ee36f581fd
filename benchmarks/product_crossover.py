"""Measure where each product path starts to pay: plain loops, the AVX2/FMA
kernels on one thread, the same kernels shared out over the team of threads,
and BLAS GEMM.

For networks [w, w, w] trained full-batch on m samples, every product of a step
has m * w * w multiply-adds. Each path is forced in turn (in one process, in
rotation, best of several runs) and timed over many compiled epochs. Prints,
per dtype, microseconds per step for each path and the fastest; the default
thresholds of ``fastprop.get_config()`` (set in ``src/fastprop/_config.c``) are
chosen from this table. Run it with ``FASTPROP_CPU=baseline`` for the loops/BLAS
crossover of machines without vector kernels.

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

OUTPUT = Path(__file__).with_name("PRODUCT_CROSSOVER.md")
NO_BLAS = dict(blas_min_multiply_adds_float32=None, blas_min_multiply_adds_float64=None,
               loops_blas_min_multiply_adds=None, single_thread_blas_min_multiply_adds=None)
# The configuration that forces each path (threads None: the default)
PATHS = {
    "loops": dict(NO_BLAS, vector_min_multiply_adds=None, threads=1),
    "vector": dict(NO_BLAS, vector_min_multiply_adds=0, threads=1),
    "vector+team": dict(NO_BLAS, vector_min_multiply_adds=0, threads=None,
                        parallel_min_multiply_adds=0),
    "BLAS": dict(blas_min_multiply_adds_float32=0, blas_min_multiply_adds_float64=0,
                 loops_blas_min_multiply_adds=0, single_thread_blas_min_multiply_adds=0, threads=1),
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
    """A context in which every product runs on path."""
    options = dict(PATHS[path])
    options["threads"] = options["threads"] or default_threads
    return fastprop.config_context(**options)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few shapes, short timings")
    args = parser.parse_args(argv)
    settings = fastprop.get_config()
    default_threads = settings["threads"]
    vector = _kernels.read_config()["cpu"] != "baseline"
    paths = [p for p in PATHS if vector or "vector" not in p]
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
    for dtype in (np.float32, np.float64):
        for m in batches:
            for w in widths:
                X = rng.random((m, w)).astype(dtype)
                Y = rng.random((m, w)).astype(dtype)
                net = fastprop.Network([w, w, w], seed=0, dtype=dtype)
                best = {p: float("inf") for p in paths}
                for _ in range(repeats):
                    for path in paths:  # in rotation, so drift hits every path alike
                        with force(path, default_threads):
                            best[path] = min(best[path], seconds_per_step(net, X, Y, target))
                fastest = min(best, key=best.get)
                cells = " | ".join(f"{best[p] * 1e6:11.2f}" for p in paths)
                say(f"| {np.dtype(dtype).name:7} | {m:7} | {w:7} | {m * w * w:10} | {cells} | {fastest} |")
    say("")
    say("current configuration: " + ", ".join(f"{key} {value}" for key, value in settings.items()))
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
            "The default thresholds in `src/fastprop/_config.c` are chosen from this table.",
            "",
            *lines,
            "",
        ]), encoding="utf-8")
        print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
