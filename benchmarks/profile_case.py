"""Run one case's training by one implementation, for a profiler to watch.

    perf record -e cpu-clock -g -o perf.C.data python benchmarks/profile_case.py C
    perf report -i perf.C.data --no-children --sort dso,symbol
    py-spy record --native -o C.svg -- python benchmarks/profile_case.py C
    valgrind --tool=callgrind python benchmarks/profile_case.py A --quick

Builds the data and the network first (not part of what is being looked at,
but a profiler sees it: compare with ``--repeats 0``), then trains
``--repeats`` times, printing each run's time.
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
    for repeat in range(args.repeats):
        trainer = make_trainer(args.implementation, case)
        start = time.perf_counter()
        trainer.train(X, Y)
        print(f"{case.name} {args.implementation} run {repeat + 1}: {(time.perf_counter() - start) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
