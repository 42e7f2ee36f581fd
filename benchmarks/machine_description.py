"""What the benchmarks ran on: CPU and its vector extensions, cores, memory, load, BLAS
libraries (threadpoolctl), versions, date."""
from __future__ import annotations

import datetime
import hashlib
import os
import platform
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_BLAS_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _cpu_model() -> str:
    """The model name, and family/model/stepping (a virtual machine's name may say only "Xeon")."""
    try:
        fields = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if not key.strip() and fields:
                break  # the end of the first processor's block
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        fields = {}
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    numbers = [f"{label} {fields[key]}" for key, label in (("cpu family", "family"), ("model", "model"),
                                                            ("stepping", "stepping")) if key in fields]
    return fields["model name"] + (f" ({', '.join(numbers)})" if numbers else "")


# /proc/cpuinfo flag -> name, for the instruction sets the kernels and BLAS choose between.
_VECTOR_FLAGS = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512F", "avx512dq": "AVX-512DQ",
                 "avx512bw": "AVX-512BW", "avx512vl": "AVX-512VL", "avx512_vnni": "AVX-512 VNNI",
                 "avx512_bf16": "AVX-512 BF16", "amx_tile": "AMX"}


def cpu_vector_features(cpuinfo: str | None = None) -> str:
    """E.g. "AVX2, FMA, AVX-512F, AVX-512DQ, AVX-512BW, AVX-512VL; no AMX", from the CPU's flags."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return "unknown (no /proc/cpuinfo)"
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if not flags:
        return "unknown (no flags in /proc/cpuinfo)"
    present = [name for flag, name in _VECTOR_FLAGS.items() if flag in flags]
    missing = [name for flag, name in _VECTOR_FLAGS.items() if flag not in flags]
    return ", ".join(present or ["none of AVX2, FMA, AVX-512"]) + (f"; not {', '.join(missing)}" if missing else "")


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" (src/ has uncommitted changes)" if dirty else "")


def _compiled_extension() -> str:
    """Which build of fastprop._kernels is measured: file, build time, content hash."""
    try:
        from fastprop import _kernels
    except ImportError:
        return "not importable"
    path = Path(_kernels.__file__)
    built = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.name}, built {built:%Y-%m-%d %H:%M UTC}, sha256 {digest}"


def _version(module_name: str) -> str:
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def thread_pools(user_api: str) -> list[str]:
    """threadpoolctl's libraries of this kind ("blas" or "openmp") loaded in this process, described."""
    try:
        import numpy  # noqa: F401  (load the libraries before asking)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed: not inspected"]
    found = [_describe_thread_pool(info) for info in threadpool_info() if info.get("user_api") == user_api]
    return found or ["none loaded"]


def _describe_thread_pool(info: dict) -> str:
    path = info.get("filepath", "?")
    where = path.split("site-packages/", 1)[-1]
    details = []
    if info.get("architecture"):
        details.append(f"{info['architecture']} kernels")
    details.append(f"{info.get('num_threads')} threads")
    if info.get("threading_layer"):
        details.append(info["threading_layer"])
    name = " ".join(str(part) for part in (info.get("internal_api"), info.get("version")) if part)
    return f"{name} ({', '.join(details)}) from {where}"


def _fastprop_kernels() -> str:
    try:
        import fastprop
        from fastprop import _kernels
    except ImportError:
        return "not importable"
    config = fastprop.get_config()
    path = _kernels.read_config()["cpu"]
    return (f"cpu={config['cpu']!r} running the {path!r} path; {config['threads']} threads in fit; "
            + ", ".join(f"{key} {value}" for key, value in config.items()
                        if key not in ("threads", "cpu")))


def describe_machine() -> dict[str, object]:
    """Facts about this machine and software, as label → text (or list of texts)."""
    try:
        usable_cores = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cores = os.cpu_count()
    torch_version = _version("torch")
    if torch_version != "not installed":
        import torch

        torch_version += f" (threads set to 2 by the baseline; MKL {'on' if torch.backends.mkl.is_available() else 'off'})"
    blas_environment = {name: os.environ[name] for name in _BLAS_ENVIRONMENT if name in os.environ}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _cpu_model(),
        "CPU vector extensions": cpu_vector_features(),
        "cores": f"{os.cpu_count()} logical, {usable_cores} usable by this process",
        "memory": _memory_gib(),
        "system": platform.platform(),
        "Python": platform.python_version(),
        "fastprop": f"{_version('fastprop')}, commit {_git_commit()}",
        "fastprop extension": _compiled_extension(),
        "fastprop kernels": _fastprop_kernels(),
        "NumPy": _version("numpy"),
        "SciPy": _version("scipy"),
        "PyTorch": torch_version,
        "JAX": _version("jax") + ("" if _version("jax") == "not installed" else
                                  f" (jaxlib {_version('jaxlib')}; XLA's CPU backend with its own threads, "
                                  "not seen by threadpoolctl)"),
        "BLAS libraries": thread_pools("blas"),  # SciPy's is the one fastprop calls
        "OpenMP runtimes": thread_pools("openmp"),
        "BLAS environment": ", ".join(f"{k}={v}" for k, v in blas_environment.items()) or "none set",
    }
