"""Timing, agreement and memory of every implementation on one case, in this process.

What pytest-benchmark (test_training_speed.py) does not: the implementations'
runs interleaved in one process, with the case's GEMMs alone and a square GEMM
for the floor in the same rotation, the same-work check and peak memory.

Timed: ``trainer.train(...)``, the whole training run on data that already
exists in each implementation's input format (NumPy arrays; torch wraps them
without copying; JAX's copy onto its device is made before). Not timed:
building the network from the initial weights (JAX compiles then).

Repeats are interleaved (fastprop, NumPy, torch, then again in a rotated
order) so that a burst of load from elsewhere on a shared machine hits every
implementation alike, and each timed run starts after a short pause, so BLAS or
OpenMP threads still spinning after the previous implementation's run have gone
to sleep. An implementation whose runs take under ``CHEAP_RUN_SECONDS`` (case A) then
runs once, untimed, right before each of its timed runs after the first. The pause can be stretched until other processes leave the machine
quiet (``max_wait_for_quiet``), and the load other processes put on the machine
during every timed run is recorded (``background_load.py``).
"""
from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass, field

from background_load import BackgroundLoad, wait_for_quiet
from cases import BenchmarkCase, make_training_data
import numpy as np

from gemm_rate import FULL_SIZE, GemmRate
from gemm_sequence import GemmSequence
from peak_memory import PeakMemory, measure_peak_memory
from trainers import FASTPROP, NUMPY, Agreement, NumpyInput, compare_parameters, make_trainer, warm_up

PAUSE_BEFORE_EACH_RUN_SECONDS = 0.3
# An implementation whose runs take less than this (case A) has each timed run right after
# an untimed run of its own, with no pause between them: a run of a few milliseconds that
# starts after the pause runs on a core that has just been idle (clocked down, its caches
# and predictors cold, under a hypervisor possibly descheduled) and is timed at 1.2-1.6x
# its time in a loop (fastprop's XOR: 1.5-2.0 ms after the pause, 1.22-1.27 right after a
# run). Every implementation is treated alike.
CHEAP_RUN_SECONDS = 0.1
# Timed alongside the implementations, in the same rotation: the case's matrix
# products alone, at its shapes, through NumPy's BLAS (gemm_sequence.py).
GEMMS_ALONE = "gemms_alone"


# Also in the rotation: one large square product in the case's dtype. The rate
# of the GEMM floor comes from the best of these, so a host that drifts slower or
# faster during a case moves the floor with the implementations it is compared to.
SQUARE_GEMM = "square_gemm"


class _SquareGemmRunner(NumpyInput):
    """Back-to-back square products; ``seconds`` is the best single one (the first wakes BLAS's threads)."""

    PRODUCTS = 4

    def __init__(self, case: BenchmarkCase, size: int):
        rng = np.random.default_rng(0)
        self.a = rng.random((size, size), dtype=case.dtype)
        self.b = rng.random((size, size), dtype=case.dtype)
        self.out = np.empty_like(self.a)
        self.seconds = None

    def train(self, X, Y):
        best = float("inf")
        for _ in range(self.PRODUCTS):
            start = time.perf_counter()
            np.matmul(self.a, self.b, out=self.out)
            best = min(best, time.perf_counter() - start)
        self.seconds = best


class _GemmsAloneRunner(NumpyInput):
    def __init__(self, case: BenchmarkCase):
        self.sequence = GemmSequence(case)

    def train(self, X, Y):
        self.sequence.run()


@dataclass
class CaseResult:
    case: BenchmarkCase
    gemm_rate: GemmRate | None  # in the case's dtype: best of the square products timed in the rotation
    data_bytes: int
    seconds: dict[str, list[float]] = field(default_factory=dict)  # every timed run
    background_cores: dict[str, list[float | None]] = field(default_factory=dict)  # others' load, per run
    agreement: dict[str, Agreement] = field(default_factory=dict)  # final weights vs NumPy's
    memory: dict[str, PeakMemory] = field(default_factory=dict)
    compile_seconds: dict[str, float] = field(default_factory=dict)  # ahead-of-time compilation (JAX), untimed

    def best_seconds(self, implementation: str) -> float | None:
        runs = self.seconds.get(implementation)
        return min(runs) if runs else None

    def background_cores_of_best_run(self, implementation: str) -> float | None:
        runs = self.seconds.get(implementation)
        return self.background_cores[implementation][runs.index(min(runs))] if runs else None

    @property
    def gemms_alone_seconds(self) -> float | None:
        """Best time of the case's matrix products alone (NumPy's BLAS, same shapes)."""
        return self.best_seconds(GEMMS_ALONE)

    @property
    def gemm_floor_seconds(self) -> float:
        return self.case.training_flops() / self.gemm_rate.flops_per_second

    def speedup_over(self, peer: str) -> float | None:
        """How many times faster fastprop is than ``peer`` (best runs of both)."""
        ours, theirs = self.best_seconds(FASTPROP), self.best_seconds(peer)
        return theirs / ours if ours and theirs else None

    @property
    def fraction_of_gemm_floor(self) -> float | None:
        """GEMM floor / fastprop's time: 1.0 would be training at the rate of a large square GEMM."""
        ours = self.best_seconds(FASTPROP)
        return self.gemm_floor_seconds / ours if ours else None

    def memory_fraction_of_data(self, implementation: str = FASTPROP) -> float | None:
        """Peak memory above the data (the larger of the traced and the RSS view) / data size."""
        memory = self.memory.get(implementation)
        if memory is None:
            return None
        peak = max(memory.traced_peak_bytes, memory.rss_growth_bytes or 0)
        return peak / self.data_bytes


def freeze_garbage_collector() -> None:
    """Collect, then leave every object alive now out of later collections (``gc.freeze``): with
    torch and jax loaded a full collection takes ~0.2 s, and one runs before every timed run."""
    gc.collect()
    gc.freeze()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _make_runner(implementation: str, case: BenchmarkCase, square_gemm_size: int):
    if implementation == GEMMS_ALONE:
        return _GemmsAloneRunner(case)
    if implementation == SQUARE_GEMM:
        return _SquareGemmRunner(case, square_gemm_size)
    return make_trainer(implementation, case)


def _timed_run(implementation: str, case: BenchmarkCase, X, Y, max_wait_for_quiet: float,
               square_gemm_size: int, pause_seconds: float, warm: bool = False):
    """One timed run (after the pause); warm: right after an untimed run of its own."""
    trainer = _make_runner(implementation, case, square_gemm_size)
    data = trainer.prepare_data(X, Y)
    if warm:
        untimed = _make_runner(implementation, case, square_gemm_size)
        untimed_data = untimed.prepare_data(X, Y)
    gc.collect()
    if pause_seconds:
        wait_for_quiet(max_wait_for_quiet, window_seconds=pause_seconds)
    if warm:
        untimed.train(*untimed_data)
    with BackgroundLoad() as background:
        start = time.perf_counter()
        trainer.train(*data)
        seconds = time.perf_counter() - start
    if isinstance(trainer, _SquareGemmRunner):
        seconds = trainer.seconds
    return seconds, background.cores, trainer


def measure_case(case: BenchmarkCase, implementations, repeats: int | None = None, measure_memory: bool = True,
                 max_wait_for_quiet: float = 0.0, square_gemm_size: int = FULL_SIZE,
                 pause_seconds: float = PAUSE_BEFORE_EACH_RUN_SECONDS) -> CaseResult:
    repeats = repeats or case.repeats
    X, Y = make_training_data(case)
    _make_runner(SQUARE_GEMM, case, square_gemm_size).train(X, Y)  # warm up
    result = CaseResult(case=case, gemm_rate=None, data_bytes=X.nbytes + Y.nbytes)
    for implementation in implementations:
        warm_up(implementation, case)
    freeze_garbage_collector()
    timed = tuple(implementations) + (GEMMS_ALONE, SQUARE_GEMM)
    final_parameters = {}
    for repeat in range(repeats):
        shift = repeat % len(timed)
        for implementation in timed[shift:] + timed[:shift]:
            runs = result.seconds.get(implementation)
            warm = bool(runs) and min(runs) < CHEAP_RUN_SECONDS and implementation != SQUARE_GEMM
            seconds, others, trainer = _timed_run(implementation, case, X, Y, max_wait_for_quiet, square_gemm_size,
                                                  pause_seconds, warm)
            result.seconds.setdefault(implementation, []).append(seconds)
            result.background_cores.setdefault(implementation, []).append(others)
            load = "" if others is None else f"  (other processes: {others:.2f} cores)"
            _log(f"  case {case.name} run {repeat + 1}/{repeats} {implementation:8s} {seconds * 1e3:10.1f} ms{load}"
                 + ("  (right after an untimed run)" if warm else ""))
            if repeat == 0 and implementation not in (GEMMS_ALONE, SQUARE_GEMM):
                final_parameters[implementation] = trainer.parameters()
                if hasattr(trainer, "compile_seconds"):
                    result.compile_seconds[implementation] = trainer.compile_seconds
    result.gemm_rate = GemmRate(case.dtype_name, square_gemm_size, result.best_seconds(SQUARE_GEMM), "numpy")
    for implementation in implementations:
        if implementation != NUMPY and NUMPY in final_parameters:
            result.agreement[implementation] = compare_parameters(
                case, final_parameters[NUMPY], final_parameters[implementation])
    if measure_memory:
        for implementation in implementations:
            trainer = make_trainer(implementation, case)
            data = trainer.prepare_data(X, Y)
            result.memory[implementation] = measure_peak_memory(lambda: trainer.train(*data))
    return result
