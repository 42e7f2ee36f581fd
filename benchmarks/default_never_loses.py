""""The default never loses": fastprop's default configuration against one thread and
against every product forced onto one route, per case, dtype and CPU path.

For each case (in float32 and in float64) and each CPU path this machine has
(``fastprop._testing.available_cpu_paths()``), fastprop's fit is timed under
``fastprop.config_context(cpu=path, ...)`` with

* the default configuration (no plan given: whatever plan is the default);
* ``threads=1`` (the default plan, one thread);
* each forced route, with an explicit ``plan="fixed"`` and thresholds that send every
  product to plain loops, to the vector kernels (not on the baseline path, which has
  none; products too narrow for a vector stay in loops), or to BLAS;
* the other plans fastprop accepts (``"fixed"`` when it is not the default, ``"portable"``),
  when ``fastprop.set_config`` accepts them.

Runs are interleaved (every variant once, in a rotated order, per repeat) and the
best run counts; a cheap case (``CHEAP_RUN_SECONDS``) gets more runs, each right after an
untimed one. A variant whose best of its first ``RUNS_BEFORE_DROPPING`` runs
takes more than ``CONTENDER_FACTOR`` times the default's best is not run again:
it cannot be the fastest (two runs, not one, because on a shared machine a single
run was seen 10x slower than the same variant's next); one whose first run takes
more than ``HOPELESS_FACTOR`` times the default's best, after that run. Large cases are
timed on fewer samples (``BenchmarkCase.route_comparison_n_samples``: the same
batches and the same short last batch, fewer of them), since plain loops take
40x longer there. Every variant's final weights are checked against the
default's (rounding only: the routes sum in different orders).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from background_load import wait_for_quiet
from cases import (DEFAULT_MAX_RATIO_TO_FASTEST_FORCED, DEFAULT_MAX_RATIO_TO_ONE_THREAD, BenchmarkCase,
                   make_training_data)
from measurements import CHEAP_RUN_SECONDS, freeze_garbage_collector
from trainers import Agreement, FastpropTrainer, compare_parameters

DEFAULT = "default"
ONE_THREAD = "one thread"
ALL_LOOPS = "all in plain loops"
ALL_VECTOR = "all in the vector kernels"
ALL_BLAS = "all in BLAS"
FORCED_ROUTES = (ALL_LOOPS, ALL_VECTOR, ALL_BLAS)
OTHER_PLANS = ("fixed", "portable")  # timed as variants when accepted and not the default
CONTENDER_FACTOR = 1.5
RUNS_BEFORE_DROPPING = 2
# ... and one whose first run takes more than this many times the default's best, after that
# run (the plain loops on C and D: 50-150x; twice the worst noise seen in one run).
HOPELESS_FACTOR = 20
# A case whose default fit takes less than CHEAP_RUN_SECONDS is run CHEAP_REPEATS_FACTOR
# times as often, each timed run right after an untimed one of the same variant: a run of
# a few milliseconds varies by several percent on a shared machine, and one that starts
# after the pause runs on a core that has just been idle (XOR 2-2-1: 1.4-1.7 ms, median
# 2.0, after a 0.1 s pause; 1.24-1.27, median 1.6, without).
CHEAP_REPEATS_FACTOR = 3
PAUSE_BEFORE_EACH_RUN_SECONDS = 0.1  # for BLAS and fit's helper threads to stop spinning

_NO_BLAS = {"blas_min_multiply_adds_float32": None, "blas_min_multiply_adds_float64": None,
            "loops_blas_min_multiply_adds": None, "single_thread_blas_min_multiply_adds": None,
            "narrow_blas_min_multiply_adds": None}
_ROUTE_OPTIONS = {
    ALL_LOOPS: {"plan": "fixed", "vector_min_multiply_adds": None, **_NO_BLAS},
    ALL_VECTOR: {"plan": "fixed", "vector_min_multiply_adds": 0, **_NO_BLAS},
    ALL_BLAS: {"plan": "fixed", "blas_min_multiply_adds_float32": 0, "blas_min_multiply_adds_float64": 0,
               "loops_blas_min_multiply_adds": 0, "single_thread_blas_min_multiply_adds": 0,
               "narrow_blas_min_multiply_adds": 0},
}


def plan_is_accepted(plan: str) -> bool:
    """Whether this fastprop knows the plan (``set_config`` raises ValueError for unknown ones)."""
    import fastprop

    try:
        with fastprop.config_context(plan=plan):
            return True
    except ValueError:
        return False


def variants(cpu_path: str) -> dict[str, dict]:
    """Variant name -> options for ``fastprop.config_context``, on top of ``cpu=cpu_path``."""
    import fastprop

    chosen = {DEFAULT: {}, ONE_THREAD: {"threads": 1}}
    chosen.update({route: options for route, options in _ROUTE_OPTIONS.items()
                   if not (route == ALL_VECTOR and cpu_path == "baseline")})
    default_plan = fastprop.get_config()["plan"]
    for plan in OTHER_PLANS:
        if plan != default_plan and plan_is_accepted(plan):
            chosen[f"plan {plan!r}"] = {"plan": plan}
    return chosen


def cpu_paths() -> list[str]:
    from fastprop import _testing

    return list(_testing.available_cpu_paths())


@dataclass
class RouteComparison:
    case: BenchmarkCase  # as timed: its dtype and number of samples
    cpu_path: str
    seconds: dict[str, list[float]] = field(default_factory=dict)
    agreement: dict[str, Agreement] = field(default_factory=dict)  # final weights against the default's
    routes: dict[str, tuple | None] = field(default_factory=dict)  # each variant's, see routes_in_use

    def best_seconds(self, variant: str) -> float | None:
        runs = self.seconds.get(variant)
        return min(runs) if runs else None

    @property
    def default_seconds(self) -> float | None:
        return self.best_seconds(DEFAULT)

    def runs_the_defaults_routes(self, variant: str) -> bool:
        """Whether the variant's fit ran the very routes of the default's, none shared out
        (so on one thread, the team never started): the same code on the same data, whose
        times differ by the noise of the machine only."""
        ours, theirs = self.routes.get(DEFAULT), self.routes.get(variant)
        return (ours is not None and ours == theirs
                and not any(shared for _, shared in ours))

    @property
    def fastest_alternative(self) -> str | None:
        """The fastest variant other than the default and one thread (a forced route or another
        plan) that does not run the default's own routes."""
        timed = [name for name in self.seconds
                 if name not in (DEFAULT, ONE_THREAD) and not self.runs_the_defaults_routes(name)]
        return min(timed, key=self.best_seconds) if timed else None

    def ratio_to(self, variant: str | None) -> float | None:
        """Default's time / the variant's: above 1, the default lost."""
        theirs = self.best_seconds(variant) if variant else None
        return self.default_seconds / theirs if theirs and self.default_seconds else None

    @property
    def goal_met(self) -> bool | None:
        """Within the bounds of the fastest alternative and of one thread; a variant that runs
        the default's own routes cannot be beaten, nor beat it, but by noise."""
        if self.default_seconds is None or ONE_THREAD not in self.seconds:
            return None
        to_fastest = self.ratio_to(self.fastest_alternative)
        to_one_thread = self.ratio_to(ONE_THREAD)
        return ((to_fastest is None or to_fastest <= DEFAULT_MAX_RATIO_TO_FASTEST_FORCED)
                and (self.runs_the_defaults_routes(ONE_THREAD)
                     or to_one_thread <= DEFAULT_MAX_RATIO_TO_ONE_THREAD))

    @property
    def same_work(self) -> bool:
        return all(agreement.agrees for agreement in self.agreement.values())


def comparison_case(case: BenchmarkCase, dtype) -> BenchmarkCase:
    """The case as the comparison times it: in ``dtype``, on its route-comparison subset of samples."""
    n_samples = min(case.n_samples, case.route_comparison_n_samples or case.n_samples)
    return replace(case, dtype=dtype, n_samples=n_samples, batch_size=min(case.batch_size, n_samples))


def routes_in_use(case: BenchmarkCase) -> tuple | None:
    """The (route, shared) decisions of the case's fit under the configuration in use, after
    a fit made its plan: the measured plan's, the fixed plan's or the portable plan's (every
    product in the plain loops, which are never shared out); None for another plan."""
    import fastprop
    from fastprop import _kernels, _plan_cache, _planning

    sizes, batch_rows = list(case.layer_sizes), min(case.batch_size, case.n_samples)
    plan = fastprop.get_config()["plan"]
    if plan == "portable":
        decisions = [("loops", False)] * ((len(sizes) - 1) * len(_planning.PRODUCT_KINDS))
    elif plan == "fixed":
        decisions = _kernels.threshold_decisions(sizes, batch_rows, np.dtype(case.dtype) == np.float32)
    elif plan == "measured":
        key = _planning.entry_key(sizes, case.dtype, batch_rows, _kernels.path_and_threads())
        entry = _planning._plans_in(_plan_cache.cache_file()).get(key)
        if entry is None:
            return None
        decisions = _planning._plan_of(key, entry, "").decisions()
    else:
        return None
    decisions = [tuple(decision) for decision in decisions]
    decisions[_planning.PRODUCT_KINDS.index("hidden_delta")] = ("loops", False)  # layer 0 has none
    return tuple(decisions)


def _timed_fit(case: BenchmarkCase, X, Y, cpu_path: str, options: dict, max_wait_for_quiet: float,
               pause_seconds: float, routes: dict | None = None, name: str | None = None):
    """(seconds, final parameters) of one fit; routes[name] := its routes (routes_in_use)."""
    import fastprop

    trainer = FastpropTrainer(case)
    if pause_seconds:
        wait_for_quiet(max_wait_for_quiet, window_seconds=pause_seconds)
    with fastprop.config_context(cpu=cpu_path, **options):
        start = time.perf_counter()
        trainer.train(X, Y)
        seconds = time.perf_counter() - start
        if routes is not None:
            routes[name] = routes_in_use(case)
    return seconds, trainer.parameters()


def compare_routes(case: BenchmarkCase, cpu_path: str, repeats: int, max_wait_for_quiet: float = 0.0,
                   pause_seconds: float = PAUSE_BEFORE_EACH_RUN_SECONDS) -> RouteComparison:
    """Time every variant on the case (already in its dtype and subset) on one CPU path."""
    X, Y = make_training_data(case)
    options = variants(cpu_path)
    names = list(options)
    result = RouteComparison(case=case, cpu_path=cpu_path)
    # Warm up: helper threads, BLAS, first-call costs, and the plan of every variant that
    # runs fastprop's default plan (measured once, here, not in a timed run).
    for name in names:
        if name == DEFAULT or "plan" not in options[name]:
            _timed_fit(case, X, Y, cpu_path, options[name], 0.0, 0.0)
    cheap = _timed_fit(case, X, Y, cpu_path, options[DEFAULT], 0.0, 0.0)[0] < CHEAP_RUN_SECONDS
    if cheap:
        repeats *= CHEAP_REPEATS_FACTOR
    freeze_garbage_collector()  # once: fit makes few Python objects to collect
    final_parameters = {}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            runs = result.seconds.get(name)
            default = result.default_seconds
            if runs and default and (min(runs) > HOPELESS_FACTOR * default or (
                    len(runs) >= RUNS_BEFORE_DROPPING and min(runs) > CONTENDER_FACTOR * default)):
                continue  # out of the running
            if cheap:
                _timed_fit(case, X, Y, cpu_path, options[name], max_wait_for_quiet, pause_seconds)
            seconds, parameters = _timed_fit(case, X, Y, cpu_path, options[name],
                                             0.0 if cheap else max_wait_for_quiet,
                                             0.0 if cheap else pause_seconds,
                                             result.routes, name)
            result.seconds.setdefault(name, []).append(seconds)
            final_parameters.setdefault(name, parameters)
    for name, parameters in final_parameters.items():
        if name != DEFAULT:
            result.agreement[name] = compare_parameters(case, final_parameters[DEFAULT], parameters)
    return result


def compare_all(cases, repeats: int, both_dtypes: bool = True, max_wait_for_quiet: float = 0.0,
                pause_seconds: float | None = None,
                log=lambda message: print(message, file=sys.stderr, flush=True)) -> list[RouteComparison]:
    """Every case in float32 and float64 (or only in its own dtype), on every CPU path.
    ``pause_seconds`` before each run (None: ``PAUSE_BEFORE_EACH_RUN_SECONDS``)."""
    pause_seconds = PAUSE_BEFORE_EACH_RUN_SECONDS if pause_seconds is None else pause_seconds
    comparisons = []
    for case in cases:
        for dtype in (np.float32, np.float64) if both_dtypes else (case.dtype,):
            timed_case = comparison_case(case, dtype)
            for cpu_path in cpu_paths():
                comparison = compare_routes(timed_case, cpu_path, repeats, max_wait_for_quiet, pause_seconds)
                comparisons.append(comparison)
                times = ", ".join(f"{name} {comparison.best_seconds(name) * 1e3:.1f}" for name in comparison.seconds)
                log(f"  routes {case.name} {timed_case.dtype_name} {cpu_path}: {times} ms")
    return comparisons
