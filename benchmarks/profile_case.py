"""Run one case's training by one implementation, for a profiler to watch.

    perf record -e cpu-clock -k CLOCK_MONOTONIC -o perf.C.data python benchmarks/profile_case.py C
    perf report -i perf.C.data --no-children --sort dso,symbol --time START,END
    py-spy record --native -o C.svg -- python benchmarks/profile_case.py C
    valgrind --tool=callgrind python benchmarks/profile_case.py A --quick

Builds the data and the networks first (not part of what is being looked at,
but a profiler sees it), then trains ``--repeats`` times, printing each run's
time and the CLOCK_MONOTONIC window of the runs: with ``perf record -k
CLOCK_MONOTONIC``, ``perf report --time START,END`` then shows the training alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import benchmark_cases, make_training_data  # noqa: E402
from trainers import FASTPROP, IMPLEMENTATIONS, make_trainer  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", help="A, B, C or D")
    parser.add_argument("--implementation", choices=IMPLEMENTATIONS, default=FASTPROP)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the quick-mode size of the case")
    args = parser.parse_args(argv)

    case = {c.name: c for c in benchmark_cases(args.quick)}[args.case.upper()]
    X, Y = make_training_data(case)
    trainers = [make_trainer(args.implementation, case) for _ in range(args.repeats)]  # imports, too
    data = [trainer.prepare_data(X, Y) for trainer in trainers]  # JAX: onto its device
    window_start = time.clock_gettime(time.CLOCK_MONOTONIC)
    for repeat, trainer in enumerate(trainers):
        start = time.perf_counter()
        trainer.train(*data[repeat])
        print(f"{case.name} {args.implementation} run {repeat + 1}: {(time.perf_counter() - start) * 1e3:.1f} ms")
    window_end = time.clock_gettime(time.CLOCK_MONOTONIC)
    print(f"training window (CLOCK_MONOTONIC, for perf report --time): {window_start:.6f},{window_end:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
