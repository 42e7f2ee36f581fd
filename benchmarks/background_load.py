"""How busy the machine is with work that is not ours: the noise in a timing, measured.

From Linux's ``/proc/stat`` (all CPUs' busy time, in clock ticks) minus this
process's own CPU time over the same interval, divided by the wall time: the
average number of cores other processes (and the hypervisor, as steal time)
kept busy. On a 2-core machine, 1.0 means a timed run had to share one core.
Resolution is a clock tick (10 ms), so intervals shorter than
``MIN_SECONDS_FOR_A_READING`` give ``None``, as does a system without ``/proc/stat``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

_PROC_STAT = Path("/proc/stat")
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
QUIET_CORES = 0.25  # below this, the machine counts as quiet
MIN_SECONDS_FOR_A_READING = 0.2  # shorter intervals give no reading: ticks are 10 ms


def _busy_seconds() -> float | None:
    try:
        fields = _PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user
    ticks = [int(value) for value in fields[1:9]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / _TICKS_PER_SECOND


class BackgroundLoad:
    """Context manager: ``with BackgroundLoad() as load: ...``; then ``load.cores``."""

    cores: float | None = None

    def __enter__(self):
        self._busy, self._own, self._wall = _busy_seconds(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        busy, own, wall = _busy_seconds(), time.process_time(), time.perf_counter()
        if busy is not None and self._busy is not None and wall - self._wall >= MIN_SECONDS_FOR_A_READING:
            others = (busy - self._busy) - (own - self._own)
            self.cores = max(0.0, others / (wall - self._wall))
        return False


def current_background_load(seconds: float = 0.5) -> float | None:
    """Cores kept busy by others while this process sleeps for ``seconds``."""
    with BackgroundLoad() as load:
        time.sleep(seconds)
    return load.cores


def wait_for_quiet(max_wait_seconds: float, window_seconds: float = 0.5) -> float | None:
    """Sleep until others use fewer than ``QUIET_CORES`` cores, or the wait runs out; the last reading."""
    deadline = time.perf_counter() + max_wait_seconds
    while True:
        cores = current_background_load(window_seconds)
        if cores is None or cores < QUIET_CORES or time.perf_counter() >= deadline:
            return cores
