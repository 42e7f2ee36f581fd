"""GFLOP/s of each product of a training step, one thread, vector kernels against BLAS.

    python benchmarks/kernel_rates.py                      # the layers of cases B, C and D
    python benchmarks/kernel_rates.py --shape 128,784,256 --dtype float64

For each layer shape (batch, n_in, n_out) it times the three products of a step
through fastprop's kernel wrappers on the calling thread alone: the forward step
(``A_in @ W.T`` with bias and sigmoid), the weight-gradient step (``W -= lr *
delta.T @ A_prev``, with the bias sums) and the hidden delta (``delta @ W`` times
sigma'), first forced into the AVX2/FMA kernels on the calling thread alone,
then into BLAS, whose own threads do run (on 2 cores, compare with twice the
one-thread figure). Each is 2 * batch * n_in * n_out FLOPs; a core of the
project's machine peaks at one 256-bit FMA per cycle (about 39 GFLOP/s in
float32 at its 2.45 GHz). Best of several timings of a loop of calls; for small
layers the wrappers' checks (a few microseconds per call) dominate.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import fastprop
from fastprop import _kernels

# Layers of the benchmark cases: (batch, n_in, n_out).
CASE_LAYERS = {
    "B": [(32, 32, 64), (32, 64, 64)],
    "C": [(128, 784, 256)],
    "D": [(128, 784, 1024), (128, 1024, 1024)],
}


def _best_seconds(call, seconds_per_timing: float) -> float:
    call()
    calls = 1
    start = time.perf_counter()
    while time.perf_counter() - start < seconds_per_timing / 10:
        call()
        calls += 1
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def product_rates(batch: int, n_in: int, n_out: int, dtype, seconds_per_timing: float = 0.5) -> dict:
    """GFLOP/s of the forward, weight-gradient and hidden-delta products of one layer."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (batch, n_in)).astype(dtype)
    W = (rng.normal(size=(n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
    b = np.zeros(n_out, dtype)
    A_out = np.empty((batch, n_out), dtype)
    delta = (rng.normal(size=(batch, n_out)) * 0.01).astype(dtype)
    S = rng.uniform(size=(batch, n_in)).astype(dtype)
    delta_in = np.empty((batch, n_in), dtype)
    flops = 2.0 * batch * n_in * n_out
    calls = {
        "forward": lambda: _kernels.dense_sigmoid_forward(X, W, b, A_out),
        # A tiny step: the weights barely move (lr 0 would let BLAS skip the product).
        "weight gradient": lambda: _kernels.fused_gradient_step(delta, X, W, b, 1e-9),
        "hidden delta": lambda: _kernels.hidden_delta(delta, W, S, delta_in),
    }
    return {name: flops / _best_seconds(call, seconds_per_timing) / 1e9 for name, call in calls.items()}


# The configuration that sends every product, on one thread, to each path
FORCED = {
    "vector": dict(vector_min_multiply_adds=0, blas_min_multiply_adds_float32=None,
                   blas_min_multiply_adds_float64=None, single_thread_blas_min_multiply_adds=None),
    "blas": dict(vector_min_multiply_adds=None, blas_min_multiply_adds_float32=0,
                 blas_min_multiply_adds_float64=0, loops_blas_min_multiply_adds=0,
                 single_thread_blas_min_multiply_adds=0),
}


def measure(shapes, dtype, seconds_per_timing: float = 0.5) -> list[tuple]:
    paths = ["vector", "blas"] if _kernels.read_config()["cpu"] != "baseline" else ["blas"]
    rows = []
    for shape in shapes:
        for path in paths:
            with fastprop.config_context(**FORCED[path]):
                rows.append((shape, path, product_rates(*shape, dtype, seconds_per_timing)))
    return rows


def table(rows) -> str:
    lines = ["| batch x n_in -> n_out | path (vector: one thread; blas: with its threads) "
             "| forward | weight gradient | hidden delta |",
             "|---|---|---|---|---|"]
    for (batch, n_in, n_out), path, rates in rows:
        lines.append(f"| {batch} x {n_in} -> {n_out} | {path} | {rates['forward']:.1f} | "
                     f"{rates['weight gradient']:.1f} | {rates['hidden delta']:.1f} |")
    return "\n".join(lines)


def _shape(text: str) -> tuple[int, int, int]:
    try:
        batch, n_in, n_out = (int(part) for part in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--shape must be batch,n_in,n_out, got {text!r}") from error
    if min(batch, n_in, n_out) < 1:
        raise argparse.ArgumentTypeError(f"--shape entries must be >= 1, got {text!r}")
    return batch, n_in, n_out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=_shape, action="append",
                        help="batch,n_in,n_out (repeatable); default: the layers of cases B, C and D")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seconds", type=float, default=0.5, help="time per timing loop")
    args = parser.parse_args(argv)
    shapes = args.shape or [shape for layers in CASE_LAYERS.values() for shape in layers]
    print(f"GFLOP/s, {args.dtype}")
    print(table(measure(shapes, np.dtype(args.dtype), args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
