"""fastprop: backpropagation for dense sigmoid networks, in compiled Cython.

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

from .network import Network
from .explain import explain
from .network import load
from .plotting import plot_loss
from ._kernels import set_threads, threads

__version__ = "0.1.0"

__all__ = ["Network", "explain", "load", "plot_loss", "set_threads", "threads", "__version__"]


def _threads_from_environment():
    """FASTPROP_NUM_THREADS, if set, replaces the default number of threads of fit."""
    import os

    value = os.environ.get("FASTPROP_NUM_THREADS", "").strip()
    if not value:
        return
    try:
        set_threads(int(value))
    except ValueError:
        raise ValueError(
            f"FASTPROP_NUM_THREADS must be a whole number from 1 to 8, got {value!r}") from None


_threads_from_environment()
