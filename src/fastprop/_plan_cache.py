"""Where measured plans are kept between processes: one JSON file per machine.

A plan (see ``_planning``) is only as good as the machine it was measured on, so
plans are filed under a *machine key*: the CPU (model and the instruction sets
fastprop uses), fastprop's version and build, the planner's version (a plan measured
by an earlier planner may be one it measured wrongly) and the BLAS it calls (library,
version, kernels, threads). The file of a key is
``<cache directory>/plans-<hash of the key>.json``; it repeats its key, so that a
file copied from another machine, or left by another version, is recognised and
not used. A file that is corrupt, foreign or holds entries that do not check is
ignored with a :class:`PlanCacheWarning` and rewritten when a new plan is stored.

The cache directory is ``FASTPROP_CACHE_DIR`` if set, else the platform's user
cache directory (``$XDG_CACHE_HOME/fastprop`` or ``~/.cache/fastprop`` on Linux,
``~/Library/Caches/fastprop`` on macOS, ``%LOCALAPPDATA%\\fastprop\\Cache`` on
Windows). Files are written whole, to a temporary file then renamed, so a reader
never sees half a file; when the directory cannot be written, plans are kept for
the process only (with one warning).
"""
import hashlib
import json
import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _kernels
from ._version import __version__

FORMAT = "fastprop-plan-cache"
FORMAT_VERSION = 1
# Raised when planning changes what it measures, so that plans an earlier planner measured
# are measured again rather than kept: 2 times plans that share nothing without the team's
# helpers running (the first planner timed them with the helpers of the plans before still
# waiting, and chose the team for 64-128-10 at 24.5 us a step against 18 alone), and
# wants the team to win by 10% (_planning.TEAM_MARGIN), not 3%; 3 tries the data-parallel
# step (a plan's parts), which plans measured before never had; 4 lets the team win steps
# timed on one whole batch by 3% (_planning.LONG_STEP_TEAM_MARGIN), where 3 kept BLAS on
# one thread for 784-1024-1024-10 although the team's fits were 12% faster.
PLANNER_VERSION = 4


class PlanCacheWarning(UserWarning):
    """A plan cache file was ignored (corrupt, or made for another machine) or could not
    be written; fastprop measures the plans it needs again."""


def cache_directory() -> Path:
    """The directory of the plan files (it may not exist yet)."""
    configured = os.environ.get("FASTPROP_CACHE_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "fastprop" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "fastprop"
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(home / ".cache")
    return Path(base) / "fastprop"


_machine_key: dict[str, str] | None = None


def machine_key() -> dict[str, str]:
    """What a plan depends on besides the network: a dict of strings, computed once per
    process (a BLAS thread count changed later in the process is not seen)."""
    global _machine_key
    if _machine_key is None:
        capabilities = _kernels.cpu_capabilities()
        _machine_key = {
            "cpu": cpu_model(),
            "machine": platform.machine(),
            "cpu_features": ", ".join(
                name for name in ("avx2_fma", "avx512") if capabilities[name]) or "none",
            "fastprop": __version__,
            "planner": str(PLANNER_VERSION),
            "build": _kernels.BUILD_FLAGS,
            "blas": "; ".join(blas_descriptions()),
        }
    return dict(_machine_key)


_cache_files: dict[tuple[object, ...], Path] = {}


def cache_file(key: Mapping[str, str] | None = None) -> Path:
    """The path of the plan file of a machine key (default: this machine's); remembered
    per directory setting, since every fit asks for it."""
    if key is None:
        machine_key()
        key = _machine_key
    settings = (id(key), *(os.environ.get(name) for name in _DIRECTORY_VARIABLES))
    path = _cache_files.get(settings)
    if path is None:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        path = _cache_files[settings] = cache_directory() / f"plans-{digest}.json"
    return path


# What cache_directory reads that a process may change (the home directory it takes as set).
_DIRECTORY_VARIABLES = ("FASTPROP_CACHE_DIR", "XDG_CACHE_HOME")


def read_plans(path: str | os.PathLike[str], key: Mapping[str, str]) -> dict[str, Any]:
    """The entries of the plan file at path, or {} (with a warning when the file exists
    but is corrupt or was made for another machine key)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        _warn(f"cannot read the plan cache {path} ({error})")
        return {}
    try:
        content = json.loads(text)
    except ValueError as error:
        _warn(f"the plan cache {path} is not valid JSON ({error}); ignoring it")
        return {}
    if not (isinstance(content, dict) and content.get("format") == FORMAT
            and isinstance(content.get("plans"), dict)):
        _warn(f"{path} is not a fastprop plan cache; ignoring it")
        return {}
    if content.get("format_version") != FORMAT_VERSION:
        _warn(f"the plan cache {path} has format version {content.get('format_version')!r}, "
              f"this fastprop reads {FORMAT_VERSION}; ignoring it")
        return {}
    if content.get("machine") != key:
        _warn(f"the plan cache {path} was made for another machine or version of fastprop "
              f"(it differs in: {', '.join(_differences(content.get('machine'), key))}); "
              f"ignoring it")
        return {}
    plans: dict[str, Any] = content["plans"]
    return plans


def write_plans(path: str | os.PathLike[str], key: Mapping[str, str],
                plans: Mapping[str, Any]) -> bool:
    """Write plans (merged over the entries the file holds now) to path, whole; False (with
    a warning) when that is not possible."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PlanCacheWarning)   # a bad file is replaced
            merged = read_plans(path, key)
        merged.update(plans)
        content = {"format": FORMAT, "format_version": FORMAT_VERSION, "machine": key,
                   "plans": merged}
        descriptor, temporary = tempfile.mkstemp(prefix=".plans-", suffix=".tmp",
                                                 dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump(content, stream, indent=1, sort_keys=True)
                stream.write("\n")
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        _warn(f"cannot write the plan cache {path} ({error}); plans are kept for this "
              f"process only")
        return False
    return True


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_descriptions() -> list[str]:
    """One line per BLAS library loaded in this process (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl is not installed: BLAS not inspected"]
    import scipy.linalg  # noqa: F401  (loads the BLAS that fastprop calls, if not yet loaded)

    entries: list[str] = []
    for library in threadpool_info():
        if library.get("user_api") != "blas":
            continue
        entries.append(f"{library.get('internal_api')} {library.get('version')}, "
                       f"{library.get('num_threads')} threads, "
                       f"{library.get('architecture', '?')} kernels ({library.get('filepath')})")
    # Sorted: threadpoolctl lists libraries in the order they were loaded, which depends on
    # what the program imported first, and the machine key must not.
    return sorted(entries) or ["none found by threadpoolctl"]


def _differences(stored: object, key: Mapping[str, str]) -> list[str]:
    if not isinstance(stored, dict):
        return ["its key is missing"]
    return sorted(name for name in set(stored) | set(key) if stored.get(name) != key.get(name))


def _warn(message: str) -> None:
    warnings.warn(f"fastprop: {message}", PlanCacheWarning, stacklevel=4)
