"""fastprop's configuration: how many threads fit uses, which CPU path runs, and where
each product runs.

The configuration is one C struct in the compiled extension (``_config.h``), read and
written here; it is process-wide, like the number of threads of a BLAS. Each kernel call
and each chunk of a fit reads it once, when it starts. ``set_config`` checks every option
before it changes anything, so a bad call leaves the configuration as it was.

Environment variables set the defaults at import:

* ``FASTPROP_NUM_THREADS``: the number of threads (default: the cores this process may
  run on, at most 8, and at most ``OMP_NUM_THREADS`` where that is set: what joblib sets
  to limit the inner threads of its worker processes, and what OpenMP code obeys);
* ``FASTPROP_PIN_THREADS``: "1" (default) or "0", whether fit's helper threads are
  pinned to CPUs of their own;
* ``FASTPROP_CPU``: the CPU path, "auto" (default), "avx512", "avx2" or "baseline";
* ``FASTPROP_PLAN``: how fit routes its products, "measured" (default), "portable" or
  "fixed".
"""
from __future__ import annotations

import contextlib
import numbers
import operator
import os
import platform
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from . import _kernels, _plan_cache
from ._version import __version__

CPU_PATHS = ("auto", "avx512", "avx2", "baseline")
PLANS = ("measured", "portable", "fixed")
THRESHOLDS = _kernels.THRESHOLD_FIELDS
KEYS = ("threads", "pin_threads", "cpu", "plan") + THRESHOLDS
MAX_THREADS = _kernels.MAX_THREADS

# What the struct does not hold as it was asked for: "auto" is resolved to a path there.
_requested = {"cpu": "auto"}


def get_config() -> dict[str, Any]:
    """The configuration in use, as a dict.

    Keys: ``threads`` (fit's threads, 1 to 8), ``pin_threads`` (True, the default on
    Linux: each of fit's helper threads runs on a CPU of its own, none on the one the
    calling thread started on; the scheduler otherwise tends to wake a helper on the
    calling thread's CPU, where both share one core; False leaves them to the
    scheduler), ``cpu`` ("auto", "avx512", "avx2" or
    "baseline": the instruction sets fastprop may use; "auto" is the best this CPU and
    build have), ``plan`` (how fit routes each product of a training step):

    * "measured" (the default): as measured on this machine, the first time a network
      of that shape, dtype and batch size is trained (under this CPU path and thread
      count), and stored in the plan cache for later fits (:func:`fastprop.tune`
      measures ahead of time; :func:`show_config` shows the plans and where they are
      stored). Calls other than fit and step (forward passes, gradients) route by the
      thresholds below;
    * "portable": in fastprop's plain loops only, which perform the same operations in
      the same order on every machine, CPU path and thread count: the same bits
      everywhere (the reproducibility switch; slower for large networks);
    * "fixed": by the thresholds below, for every call;

    and the routing thresholds, each a number of multiply-adds (m * n * k) of a
    product, or None for never:

    * ``vector_min_multiply_adds``: from here a product runs in the vector kernels
      rather than plain loops (paths avx2 and avx512);
    * ``blas_min_multiply_adds_float32`` / ``_float64``: from here in BLAS GEMM rather
      than the vector kernels;
    * ``loops_blas_min_multiply_adds``: from here in BLAS rather than plain loops, on
      the baseline path;
    * ``single_thread_blas_min_multiply_adds``: from here in BLAS, for a product that is
      not shared out over fit's threads (BLAS has threads of its own);
    * ``narrow_blas_min_multiply_adds``: from here in BLAS, for a product too narrow to
      fill a vector (fewer than 8 floats or 4 doubles across);
    * ``parallel_min_multiply_adds`` and ``parallel_min_batch_rows``: a product is shared
      out over fit's threads from this size, in steps on at least this many samples.

    Which path ran and what the CPU has: :func:`show_config`.

    Returns
    -------
    dict
        The keys above, each with its value in use (a threshold of never as None).

    Examples
    --------
    >>> import fastprop
    >>> config = fastprop.get_config()
    >>> config["plan"] in ("measured", "portable", "fixed")
    True
    >>> 1 <= config["threads"] <= 8
    True
    """
    values = _kernels.read_config()
    config = {"threads": values["threads"], "pin_threads": values["pin_threads"],
              "cpu": _requested["cpu"], "plan": values["plan"]}
    for name in THRESHOLDS:
        config[name] = None if values[name] >= _kernels.NEVER else values[name]
    return config


def set_config(**options: Any) -> None:
    """Change the configuration: ``set_config(threads=1, cpu="avx2")``.

    Keys and meanings as :func:`get_config` returns them. An unknown key, a bad value,
    or a CPU path this CPU or build cannot run raises ``ValueError`` (``TypeError`` for
    a value of the wrong type) and changes nothing. Results do not depend on
    ``threads``; they agree to rounding across plans, paths and thresholds (a sum runs
    in another order in BLAS than in the loops), and bit for bit under
    ``plan="portable"``.

    Parameters
    ----------
    **options
        ``threads`` (int, 1 to 8), ``pin_threads`` (bool), ``cpu`` ("auto", "avx512",
        "avx2" or "baseline"), ``plan`` ("measured", "portable" or "fixed"), and the
        routing thresholds (int multiply-adds, or None for never).

    Raises
    ------
    ValueError
        For an unknown key, a value out of range, or a CPU path this CPU or build
        cannot run.
    TypeError
        For a value of the wrong type (threads not an integer, pin_threads not a bool).

    Examples
    --------
    >>> import fastprop
    >>> saved = fastprop.get_config()
    >>> fastprop.set_config(plan="portable")
    >>> fastprop.get_config()["plan"]
    'portable'
    >>> fastprop.set_config(**saved)
    """
    unknown = [key for key in options if key not in KEYS]
    if unknown:
        raise ValueError(f"unknown configuration key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; the keys are {', '.join(KEYS)}")
    values = _kernels.read_config()
    requested = dict(_requested)
    if "threads" in options:
        values["threads"] = _check_threads(options["threads"], "threads")
    if "pin_threads" in options:
        if not isinstance(options["pin_threads"], bool):
            raise TypeError(f"pin_threads must be True or False, got {options['pin_threads']!r}")
        values["pin_threads"] = options["pin_threads"]
    if "cpu" in options:
        requested["cpu"] = _check_cpu(options["cpu"], "cpu")
        values["cpu"] = _resolve_cpu(requested["cpu"], "cpu")
    if "plan" in options:
        values["plan"] = _check_plan(options["plan"], "plan")
    for name in THRESHOLDS:
        if name in options:
            values[name] = _check_threshold(options[name], name)
    _kernels.write_config(values)
    _requested.update(requested)


@contextlib.contextmanager
def config_context(**options: Any) -> Iterator[dict[str, Any]]:
    """Within the ``with`` block, the configuration is changed as by ``set_config``.

    On leaving the block, also by an exception, the configuration is restored.

    Parameters
    ----------
    **options
        As for :func:`set_config`.

    Yields
    ------
    dict
        The configuration in the block, as :func:`get_config` returns it.

    Raises
    ------
    ValueError, TypeError
        As :func:`set_config`, before the block runs (nothing changed).

    Examples
    --------
    >>> import numpy as np
    >>> import fastprop
    >>> net = fastprop.Network([2, 2, 1], seed=0)
    >>> X, Y = np.array([[0.0, 1.0]]), np.array([[1.0]])
    >>> with fastprop.config_context(threads=1, cpu="baseline") as config:
    ...     losses = net.fit(X, Y, epochs=10, lr=0.5)
    >>> config["threads"], config["cpu"]
    (1, 'baseline')
    """
    saved = get_config()
    set_config(**options)
    try:
        yield get_config()
    finally:
        set_config(**saved)


def show_config(file: TextIO | None = None) -> None:
    """Print fastprop's version and build, the CPU and the path in use, the BLAS, the threads
    and the plan.

    The BLAS is given by name, version and threads; under the measured plan, the plans
    this process has used are listed with the plan cache's file.

    Parameters
    ----------
    file : text stream, optional
        Where to print (default: ``sys.stdout``).

    Examples
    --------
    >>> import fastprop
    >>> fastprop.show_config()  # doctest: +ELLIPSIS
    fastprop ...
    """
    print(config_report(), file=sys.stdout if file is None else file)


def config_report() -> str:
    """The text :func:`show_config` prints."""
    from . import _threadpool

    capabilities = _kernels.cpu_capabilities()
    config = get_config()
    resolved = _kernels.read_config()["cpu"]
    yes = {True: "yes", False: "no"}
    lines = [
        f"fastprop {__version__}",
        f"  build: {_kernels.BUILD_FLAGS}",
        f"  vector kernels compiled: {yes[capabilities['vector_kernels_compiled']]}; "
        f"threads compiled: {yes[capabilities['threads_compiled']]}",
        f"CPU: {_plan_cache.cpu_model()} ({platform.machine()})",
        f"  AVX2 and FMA: {yes[capabilities['avx2_fma']]}; "
        f"AVX-512 (F, DQ, BW, VL): {yes[capabilities['avx512']]}",
        f"  path: cpu={config['cpu']!r} runs {resolved!r}: {_path_in_use(resolved)}",
    ]
    lines += [f"BLAS: {entry}" for entry in _plan_cache.blas_descriptions()]
    lines.append(f"threads: {config['threads']} (of at most {MAX_THREADS}); helpers pinned to "
                 f"CPUs of their own: {yes[config['pin_threads']]}")
    lines.append(f"  {_threadpool.status()}")
    lines += _plan_lines(config["plan"])
    lines.append("thresholds (multiply-adds; None: never), which route "
                 + {"fixed": "every product:", "measured": "the calls fit does not plan:",
                    "portable": "nothing under this plan:"}[config["plan"]])
    lines += [f"  {name} = {config[name]}" for name in THRESHOLDS]
    return "\n".join(lines)


def _plan_lines(plan: str) -> list[str]:
    from . import _plan_cache, _planning

    if plan == "portable":
        return ["plan: 'portable': every product in fastprop's plain loops, the same bits on "
                "every machine"]
    if plan == "fixed":
        return ["plan: 'fixed': every product routed by the thresholds below"]
    lines = ["plan: 'measured': each fit's products routed as measured on this machine",
             f"  plan cache: {_plan_cache.cache_file()}"]
    in_use = _planning.plans_in_use()
    for used in in_use:
        lines.append(f"  in use: {used}")
        if used.timed:
            lines.append("    steps timed (l loops, v vector kernels, b BLAS, + shared out; "
                         "layers separated by /): "
                         + "; ".join(f"{code} {seconds * 1e6:.1f} us" for code, seconds in used.timed))
    if not in_use:
        lines.append("  in use: none yet in this process")
    return lines


def _path_in_use(path: str) -> str:
    if path == "baseline":
        return "no vector kernels: plain loops and BLAS; the sigmoid in 16-byte vectors"
    if path == "avx2":
        return "AVX2/FMA vector kernels"
    return "AVX-512 vector kernels (the same bits as avx2)"


def _check_threads(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer from 1 to {MAX_THREADS}, got {value!r}")
    count = operator.index(value)
    if not 1 <= count <= MAX_THREADS:
        raise ValueError(f"{name} must be from 1 to {MAX_THREADS}, got {count}")
    return count


def _check_plan(value: object, name: str) -> str:
    if not isinstance(value, str) or value not in PLANS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, PLANS))}, got {value!r}")
    return value


def _check_cpu(value: object, name: str) -> str:
    if not isinstance(value, str) or value not in CPU_PATHS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, CPU_PATHS))}, got {value!r}")
    return value


def _resolve_cpu(requested: str, name: str) -> str:
    """The path that runs for a requested one; ValueError where the CPU or build lacks it."""
    capabilities = _kernels.cpu_capabilities()
    if requested == "auto":
        return capabilities["best_path"]
    if requested == "baseline":
        return "baseline"
    needs = {"avx2": ("avx2_fma", "AVX2 and FMA"), "avx512": ("avx512", "AVX-512 (F, DQ, BW, VL)")}
    feature, description = needs[requested]
    if not capabilities["vector_kernels_compiled"]:
        raise ValueError(f"{name}={requested!r}: this build of fastprop has no vector kernels "
                         f"(built with FASTPROP_BUILD_WITHOUT_VECTOR_KERNELS or for a CPU without "
                         f"them); the only path is 'baseline'")
    if not capabilities[feature]:  # type: ignore[literal-required]  # "avx2_fma" or "avx512"
        raise ValueError(f"{name}={requested!r} needs {description}, which this CPU does not "
                         f"have; the best path here is {capabilities['best_path']!r}")
    return requested


def _check_threshold(value: object, name: str) -> int:
    if value is None:
        return _kernels.NEVER
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number of multiply-adds or None (never), "
                        f"got {value!r}")
    multiply_adds = operator.index(value)
    if not 0 <= multiply_adds <= _kernels.NEVER:
        raise ValueError(f"{name} must be from 0 to 2**{_kernels.NEVER.bit_length() - 1} "
                         f"or None (never), got {multiply_adds}")
    return multiply_adds


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def configure_from_environment() -> None:
    """The defaults at import: every core (at most 8, at most OMP_NUM_THREADS), the best
    CPU path and the measured plan, unless FASTPROP_NUM_THREADS, FASTPROP_CPU or
    FASTPROP_PLAN say otherwise."""
    threads = min(MAX_THREADS, _available_cores())
    cpu = "auto"
    # joblib limits its workers' inner threads by OMP_NUM_THREADS (and the BLAS
    # variables), not through threadpoolctl: fit's threads heed it as OpenMP's do.
    # An unusable value is ignored here, as OpenMP runtimes ignore it.
    openmp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if openmp.isdigit() and int(openmp) >= 1:
        threads = min(threads, int(openmp))
    value = os.environ.get("FASTPROP_NUM_THREADS", "").strip()
    if value:
        try:
            threads = _check_threads(int(value), "FASTPROP_NUM_THREADS")
        except (TypeError, ValueError):
            raise ValueError(f"FASTPROP_NUM_THREADS must be a whole number from 1 to "
                             f"{MAX_THREADS}, got {value!r}") from None
    value = os.environ.get("FASTPROP_CPU", "").strip()
    if value:
        cpu = _check_cpu(value, "FASTPROP_CPU")
        _resolve_cpu(cpu, "FASTPROP_CPU")
    plan = _check_plan(os.environ.get("FASTPROP_PLAN", "").strip() or "measured", "FASTPROP_PLAN")
    value = os.environ.get("FASTPROP_PIN_THREADS", "").strip() or "1"
    if value not in ("0", "1"):
        raise ValueError(f"FASTPROP_PIN_THREADS must be 0 or 1, got {value!r}")
    set_config(threads=threads, pin_threads=value == "1", cpu=cpu, plan=plan)


# Thin aliases of the configuration, kept from earlier releases.

def threads() -> int:
    """``get_config()["threads"]`` (an alias kept from earlier releases).

    Returns
    -------
    int
        The number of threads fit uses, 1 to 8.

    Examples
    --------
    >>> import fastprop
    >>> fastprop.threads() == fastprop.get_config()["threads"]
    True
    """
    count: int = get_config()["threads"]
    return count


def set_threads(n: int) -> None:
    """``set_config(threads=n)`` (an alias kept from earlier releases).

    Parameters
    ----------
    n : int
        The number of threads fit uses, 1 to 8.

    Raises
    ------
    ValueError
        If ``n`` is not from 1 to 8.
    TypeError
        If ``n`` is not an integer.

    Examples
    --------
    >>> import fastprop
    >>> saved = fastprop.threads()
    >>> fastprop.set_threads(1)
    >>> fastprop.threads()
    1
    >>> fastprop.set_threads(saved)
    """
    set_config(threads=n)
