"""Where one case's training spends its CPU time, by Linux perf, grouped by kind of work.

    python benchmarks/perf_summary.py C                # perf record + the summary
    python benchmarks/perf_summary.py B --repeats 5    # several fits in the window
    python benchmarks/perf_summary.py D --implementation numpy

Runs ``profile_case.py`` under ``perf record -e cpu-clock`` (a software event:
works in VMs without hardware counters), keeps only the samples of the training
window, and sums them into groups: BLAS GEMM kernel, BLAS packing, BLAS
threading (workers syncing, spinning or idle-waiting), fastprop's own compiled
loops, the Python interpreter, the Linux kernel. Percentages are of CPU time
over all threads, so on 2 cores a run that keeps one core busy shows at most
half of its samples in any one thread. Needs ``perf`` (Debian: linux-perf).
"""
from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_GROUPS = (  # (group, pattern on "dso symbol"), first match wins
    ("BLAS GEMM kernel", r"blas.* \S*gemm_kernel"),
    ("BLAS packing (copy)", r"blas.* \S*(copy)"),
    ("BLAS beta (scales or zeroes C)", r"blas.* \S*beta"),
    ("BLAS threading (sync, spin, idle workers)", r"blas.* \S*(inner_thread|thread_server|exec_blas|sched_yield)"),
    ("BLAS other", r"blas"),
    ("fastprop's own loops (_kernels)", r"^_kernels"),
    ("torch / MKL / OpenMP", r"torch|mkl|gomp|dnnl"),
    ("Python interpreter", r"python|^\[unknown\]"),
    ("Linux kernel", r"kernel\.kallsyms"),
    ("C library", r"^libc|^libm|^ld-linux"),
)
_LINE = re.compile(r"^\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(\S+)")


def group_of(dso: str, symbol: str) -> str:
    text = f"{dso} {symbol}"
    for group, pattern in _GROUPS:
        if re.search(pattern, text):
            return group
    return f"other ({dso})"


def summarise(perf_data: Path, window: str | None, top_symbols: int = 3) -> str:
    command = ["perf", "report", "-i", str(perf_data), "--no-children", "--sort", "dso,symbol",
               "-g", "none", "--percent-limit", "0", "--stdio"] + (["--time", window] if window else [])
    report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    totals = collections.Counter()
    symbols = collections.defaultdict(collections.Counter)
    for line in report.splitlines():
        match = _LINE.match(line)
        if match:
            percent, dso, symbol = float(match[1]), match[2], match[3]
            group = group_of(dso, symbol)
            totals[group] += percent
            symbols[group][symbol] += percent
    lines = []
    for group, percent in totals.most_common():
        top = ", ".join(f"{symbol} {share:.1f}%" for symbol, share in symbols[group].most_common(top_symbols))
        lines.append(f"{percent:5.1f}%  {group}: {top}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case")
    parser.add_argument("--implementation", default="fastprop")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--frequency", type=int, default=1000, help="samples per second per CPU")
    parser.add_argument("--symbols", type=int, default=3, help="symbols listed per group")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        perf_data = Path(scratch) / "perf.data"
        command = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(args.frequency), "-k", "CLOCK_MONOTONIC",
                   "-o", str(perf_data), sys.executable, str(HERE / "profile_case.py"), args.case,
                   "--implementation", args.implementation, "--repeats", str(args.repeats)]
        command += ["--quick"] if args.quick else []
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        print(output.strip())
        window = re.search(r"perf report --time\): (\S+)", output)
        print(summarise(perf_data, window[1] if window else None, args.symbols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
