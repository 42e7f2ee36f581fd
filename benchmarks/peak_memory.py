"""Peak memory a call needs on top of what is already allocated (e.g. the training data).

Two views, because neither sees everything:

* ``traced_peak_bytes``: tracemalloc's peak over the call, minus what was
  traced before it. Sees every NumPy array and Python object (NumPy reports its
  buffers to tracemalloc), not memory a C library mallocs by itself (BLAS
  buffers, torch tensors).
* ``rss_growth_bytes``: the process's peak resident set during the call
  (``VmHWM`` after resetting it through ``/proc/self/clear_refs``) minus the
  resident set before it. Sees everything the process touches, including
  thread stacks and BLAS buffers; ``None`` where Linux's interface is missing.

Run this apart from timing: tracemalloc slows every allocation down.
"""
from __future__ import annotations

import gc
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class PeakMemory:
    traced_peak_bytes: int
    rss_growth_bytes: int | None


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Set VmHWM back to the current resident set (Linux ≥ 4.0)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def measure_peak_memory(call) -> PeakMemory:
    """Run ``call()`` once and return how much memory it needed above the starting point."""
    gc.collect()
    rss_tracked = _reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    already_tracing = tracemalloc.is_tracing()
    if not already_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    traced_before, _ = tracemalloc.get_traced_memory()
    try:
        call()
        _, traced_peak = tracemalloc.get_traced_memory()
        rss_peak = _status_kib("VmHWM")
    finally:
        if not already_tracing:
            tracemalloc.stop()
    rss_growth = None
    if rss_tracked and rss_before is not None and rss_peak is not None:
        rss_growth = max(0, rss_peak - rss_before) * 1024
    return PeakMemory(traced_peak_bytes=traced_peak - traced_before, rss_growth_bytes=rss_growth)
