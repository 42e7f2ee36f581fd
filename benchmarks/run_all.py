"""Run every benchmark case for every implementation in this one process and report.

    python benchmarks/run_all.py            # full run: prints the tables, writes
                                            # benchmarks/RESULTS.md and the README section
    python benchmarks/run_all.py --quick    # seconds; prints only (FASTPROP_BENCH_QUICK=1 does the same)

Times each case (interleaved repeats of every implementation, of the case's
GEMMs alone and of a large square GEMM for the floor; best reported), checks
all implementations end with the same weights, and measures peak memory above
the data of one extra fit per implementation. PyTorch and JAX are included
when they are installed (``pip install '.[bench]'``). Then "the default never
loses" (``default_never_loses.py``): fastprop's default configuration against
one thread and every forced product route, per case, dtype and CPU path. Then, when
scikit-learn is installed, fastprop.sklearn's NetworkClassifier against scikit-learn's
MLPClassifier (``sklearn_comparison.py``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE))

import hide_packages  # noqa: E402,F401  (first: FASTPROP_BENCH_HIDE=torch,jax hides them)
from background_load import wait_for_quiet  # noqa: E402
from cases import benchmark_cases, quick_mode_requested  # noqa: E402
from default_never_loses import (CHEAP_REPEATS_FACTOR, CHEAP_RUN_SECONDS, CONTENDER_FACTOR,  # noqa: E402
                                 HOPELESS_FACTOR, RUNS_BEFORE_DROPPING, compare_all)
from gemm_rate import FULL_SIZE, QUICK_SIZE, GemmRate, numpy_gemm_rate, scipy_gemm_rate  # noqa: E402
from machine_description import describe_machine, load_average  # noqa: E402
from measurements import measure_case  # noqa: E402
from report import (default_never_loses_summary, default_never_loses_table, goal_outcomes,  # noqa: E402
                    goal_table, ratio_table, sklearn_goals_line, sklearn_notes, sklearn_table, write_reports)
from sklearn_comparison import compare_with_scikit_learn, scikit_learn_missing  # noqa: E402
from trainers import DISPLAY_NAMES, FASTPROP, OPTIONAL_PACKAGES, TORCH, available_implementations  # noqa: E402

# "The default never loses": timed runs per variant (a full run; quick mode: 1). Fits of
# C and D on their subsets vary by 10-30% from run to run on a shared machine (D float32
# on the baseline path, default plan: 153 and 221 ms, best of 3, in two runs a minute
# apart); the variants that stay in the running take 0.05-0.4 s each.
ROUTE_REPEATS = 7

DEFAULT_RESULTS = HERE / "RESULTS.md"
DEFAULT_README = HERE.parent / "README.md"


def _parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=quick_mode_requested(),
                        help="small cases, one run each, write nothing (also FASTPROP_BENCH_QUICK=1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per implementation and case (default: the case's own, 3-5)")
    parser.add_argument("--cases", default=None, help="only these cases, e.g. 'AC'")
    parser.add_argument("--wait-for-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each timed run, wait up to this long for other processes to use "
                             "< 0.25 cores (default 0: only record their load)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory fits")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"write the report here (default in a full run: {DEFAULT_RESULTS})")
    parser.add_argument("--readme", type=Path, default=None,
                        help=f"update the benchmark section of this README (default in a full run: {DEFAULT_README})")
    parser.add_argument("--no-write", action="store_true", help="print only, even in a full run")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the perf profiles of the cases with a goal not met")
    parser.add_argument("--no-routes", action="store_true",
                        help="skip \"the default never loses\" (default against one thread and forced routes)")
    parser.add_argument("--plan-cache", type=Path, default=None, metavar="DIRECTORY",
                        help="fastprop's plan cache (FASTPROP_CACHE_DIR) for this run (default: a new "
                             "temporary directory, so that every plan is measured in this run, as a "
                             "new user's first fits measure theirs)")
    parser.add_argument("--route-repeats", type=int, default=None,
                        help=f"timed runs per variant there (default {ROUTE_REPEATS}; quick mode 1)")
    parser.add_argument("--no-sklearn", action="store_true",
                        help="skip the comparison with scikit-learn's MLPClassifier (sklearn_comparison.py)")
    return parser.parse_args(argv)


def _measure_gemm_rates(size: int, repeats: int, max_wait_for_quiet: float = 0.0) -> dict[str, GemmRate]:
    """NumPy's SGEMM and DGEMM, and for the record SciPy's SGEMM (the BLAS fastprop calls)."""
    if max_wait_for_quiet:
        wait_for_quiet(max_wait_for_quiet)
    return {
        "numpy float32": numpy_gemm_rate(np.float32, size, repeats),
        "numpy float64": numpy_gemm_rate(np.float64, size, repeats),
        "scipy float32": scipy_gemm_rate(np.float32, size, repeats),
    }


def profile_cases_with_unmet_goals(results, implementations, repeats: int = 3) -> dict[str, str]:
    """Case name -> perf_summary.py's account of where fastprop's training time goes
    (and, for a goal against PyTorch, PyTorch's), for every case with a goal not met."""
    missed = [o for o in goal_outcomes(results) if o.met is False]
    unmet = sorted({o.case_name for o in missed})
    if not unmet:
        return {}
    if shutil.which("perf") is None:
        return {name: "(not profiled: `perf` is not installed; Debian: linux-perf)" for name in unmet}
    profiles = {}
    for name in unmet:
        parts = []
        against_torch = any(o.case_name == name and "PyTorch" in o.goal for o in missed)
        for implementation in [FASTPROP] + ([TORCH] if against_torch and TORCH in implementations else []):
            print(f"profiling case {name}, {implementation}", file=sys.stderr)
            command = [sys.executable, str(HERE / "perf_summary.py"), name, "--implementation",
                       implementation, "--repeats", str(repeats), "--symbols", "6"]
            run = subprocess.run(command, capture_output=True, text=True)
            text = run.stdout.strip() if run.returncode == 0 else f"(perf failed: {run.stderr.strip()[-300:]})"
            parts.append(f"{implementation}:\n{text}")
        profiles[name] = "\n\n".join(parts)
    return profiles


def main(argv=None) -> int:
    args = _parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="fastprop-plans-") as temporary:
        os.environ["FASTPROP_CACHE_DIR"] = str(args.plan_cache or temporary)
        return _run(args)


def _plans_measured() -> list[str]:
    """The plans fastprop measured or read in this run (what each fit of the default ran)."""
    from fastprop import _planning

    return [str(plan) for plan in _planning.plans_in_use()]


def _run(args) -> int:
    implementations = available_implementations()
    if FASTPROP not in implementations:
        print("fastprop cannot be imported: build it first (pip install . or "
              "python setup.py build_ext --inplace with PYTHONPATH=src)", file=sys.stderr)
        return 2
    cases = [c for c in benchmark_cases(args.quick) if args.cases is None or c.name in args.cases.upper()]
    gemm_size, gemm_repeats = (QUICK_SIZE, 2) if args.quick else (FULL_SIZE, 5)
    started = time.perf_counter()
    machine = describe_machine()
    load_before = load_average()

    print(f"implementations: {', '.join(implementations)}; quick mode: {args.quick}", file=sys.stderr)
    # The rate of a large square GEMM drifts on a shared host (benchmarks/README.md).
    # The floor of each case uses the square products timed in that case's own
    # rotation (measurements.py); these readings before the run and after every
    # case are the record of the drift.
    readings = [_measure_gemm_rates(gemm_size, gemm_repeats, args.wait_for_quiet)]
    results = []
    for case in cases:
        print(f"case {case.label}", file=sys.stderr)
        results.append(measure_case(case, implementations, repeats=args.repeats,
                                    measure_memory=not args.no_memory,
                                    max_wait_for_quiet=args.wait_for_quiet, square_gemm_size=gemm_size,
                                    **({"pause_seconds": 0.0} if args.quick else {})))
        readings.append(_measure_gemm_rates(gemm_size, gemm_repeats, args.wait_for_quiet))
    comparisons = []
    routes_started = time.perf_counter()
    if not args.no_routes:
        print("the default never loses: default against one thread and forced routes", file=sys.stderr)
        route_repeats = args.route_repeats or (1 if args.quick else ROUTE_REPEATS)
        comparisons = compare_all([case for case in cases if case.compare_routes], route_repeats,
                                  both_dtypes=not args.quick,
                                  max_wait_for_quiet=args.wait_for_quiet,
                                  pause_seconds=0.0 if args.quick else None)
    routes_seconds = time.perf_counter() - routes_started  # (before the scikit-learn comparison)
    sklearn_comparisons, sklearn_run_notes = [], []
    sklearn_started = time.perf_counter()
    if not args.no_sklearn:
        missing = scikit_learn_missing()
        if missing:
            sklearn_run_notes.append(f"not measured: scikit-learn or fastprop.sklearn cannot be imported ({missing})")
        else:
            print("against scikit-learn's MLPClassifier", file=sys.stderr)
            sklearn_comparisons = compare_with_scikit_learn(args.repeats, args.quick, args.wait_for_quiet)
            sklearn_run_notes = sklearn_notes(sklearn_comparisons, args.wait_for_quiet) + [
                f"the comparison took {time.perf_counter() - sklearn_started:.0f} s"]
    rates = "; ".join(
        f"{key} " + ", ".join(f"{reading[key].flops_per_second / 1e9:.1f}" for reading in readings)
        for key in readings[0])
    background = [c for r in results for runs in r.background_cores.values() for c in runs if c is not None]
    run_notes = [
        f"GEMM rates in GFLOP/s, square {gemm_size}, best of {gemm_repeats}, read before the run and after "
        f"each case: {rates} (a record of the drift: each case's floor uses the square products timed in its "
        "own rotation; SciPy's BLAS is the one fastprop calls)",
        f"load average (1, 5, 15 min; counts this run's own threads too) before the run: {load_before}; "
        f"after: {load_average()}",
        "cores kept busy by other processes during the timed runs: "
        + (f"mean {sum(background) / len(background):.2f}, max {max(background):.2f}" if background else "unknown")
        + f" (waited up to {args.wait_for_quiet:g} s before each run for fewer than 0.25)",
        f"whole run: {time.perf_counter() - started:.0f} s"
        + (f", of which the default-never-loses comparison {routes_seconds:.0f} s "
           f"({route_repeats} run{'s' if route_repeats > 1 else ''} per variant, "
           f"{route_repeats * CHEAP_REPEATS_FACTOR} where the default's fit takes under {CHEAP_RUN_SECONDS:g} s"
           + (f", {RUNS_BEFORE_DROPPING} for variants over {CONTENDER_FACTOR:g}x the default"
              if route_repeats > RUNS_BEFORE_DROPPING else "")
           + f", 1 for variants over {HOPELESS_FACTOR:g}x the default; "
           + ("only each case's own dtype, " if args.quick else "")
           + "large cases on fewer samples)" if comparisons else "")
        + "".join(f"; {DISPLAY_NAMES[name]} not installed ({package}), not measured"
                  for name, package in OPTIONAL_PACKAGES.items() if name not in implementations),
    ]
    plans = _plans_measured()
    run_notes.append(
        f"fastprop's plans (the measured plan, the default: measured by the first fit of each case, "
        f"CPU path and thread count in this run, in the plan cache {os.environ['FASTPROP_CACHE_DIR']}; "
        f"each lists its products' routes): " + ("; ".join(f"`{plan}`" for plan in plans) or "none"))
    if args.quick:
        run_notes.append("QUICK MODE: small cases, numbers not comparable with the goals")

    print(ratio_table(results))
    print()
    print(goal_table(results, sklearn_comparisons))
    print()
    if comparisons:
        print(default_never_loses_table(comparisons))
        print(default_never_loses_summary(comparisons))
        print()
    if sklearn_comparisons:
        print(sklearn_table(sklearn_comparisons))
        print(sklearn_goals_line(sklearn_comparisons))
        print()
    for note in sklearn_run_notes:
        print(f"scikit-learn comparison: {note}")
    for note in run_notes:
        print(note)

    profiles = {} if args.quick or args.no_profile else profile_cases_with_unmet_goals(results, implementations)

    results_path, readme_path = args.results, args.readme
    if not args.quick and not args.no_write:
        results_path = results_path or DEFAULT_RESULTS
        readme_path = readme_path or DEFAULT_README
    if results_path is not None:
        write_reports(results_path, readme_path, results, machine, run_notes, profiles, comparisons,
                      sklearn_comparisons if not args.no_sklearn else None, sklearn_run_notes)
        print(f"wrote {results_path}" + (f" and the benchmark section of {readme_path}" if readme_path else ""),
              file=sys.stderr)
    agreements = [a for r in results for a in r.agreement.values()]
    if not all(a.agrees for a in agreements):
        print("implementations disagree on the final weights: see the agreement table", file=sys.stderr)
        return 1
    if not all(c.same_work for c in comparisons):
        print("fastprop's routes disagree on the final weights: see the default-never-loses table",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
