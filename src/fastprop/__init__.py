"""fastprop: backpropagation for dense networks on the CPU, in compiled C behind Cython.

The hot path lives in the compiled extension ``fastprop._kernels``; there is no
pure-Python fallback. ``fastprop.reference`` holds the same steps written as a
textbook, in plain Python floats, for checking.
"""
try:
    from . import _kernels  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only on broken installs
    raise ImportError(
        "fastprop's compiled extension fastprop._kernels could not be imported "
        f"({error}). fastprop has no pure-Python fallback: install it with "
        "'pip install .' (which compiles the extension; it needs a C compiler), or, "
        "in a source checkout, build in place with 'python setup.py build_ext --inplace'."
    ) from error

from . import _configuration
from . import _threadpool  # noqa: F401  (registers fit's threads with threadpoolctl)
from ._configuration import (
    config_context,
    get_config,
    set_config,
    set_threads,
    show_config,
    threads,
)
from ._plan_cache import PlanCacheWarning
from ._planning import Plan, tune
from ._version import __version__
from .explain import explain
from .export import to_onnx, to_torch
from .network import ConvergenceWarning, Network, TrainingDivergedError, load
from .optimizers import SGD, Adam
from .persistence import ModelFileError
from .plotting import plot_loss

__all__ = [
    "Adam",
    "ConvergenceWarning",
    "ModelFileError",
    "Network",
    "Plan",
    "PlanCacheWarning",
    "SGD",
    "__version__",
    "config_context",
    "explain",
    "get_config",
    "load",
    "plot_loss",
    "set_config",
    "set_threads",
    "show_config",
    "threads",
    "to_onnx",
    "to_torch",
    "TrainingDivergedError",
    "tune",
]

_configuration.configure_from_environment()
