"""fit's threads under threadpoolctl: a controller for them, registered on import.

threadpoolctl (3.2 or later has ``register``) finds the thread pools of a process by
listing its loaded shared libraries and matching each file's name against the
``filename_prefixes`` of every controller it knows. fastprop's pool lives in its
compiled extension, ``fastprop/_kernels.<ABI tag>.so`` (``.pyd`` on Windows), so the
controller below matches that file name, and then keeps only the file this fastprop
imported: another package may have an extension called ``_kernels`` too, with the same
name once the ABI tag is the same, and that one has nothing to do with fastprop's threads.

Once registered, ``threadpoolctl.threadpool_info()`` lists fastprop with
``user_api`` and ``internal_api`` "fastprop" and ``num_threads`` the configuration's
``threads``, and ``threadpool_limits(n)`` (every API) or ``threadpool_limits(n,
user_api="fastprop")`` sets them through :func:`fastprop.set_config`, so each fit
started (or chunk of a fit run) within the block uses ``n`` threads, clamped to 1 ..
MAX_THREADS; on leaving the block threadpoolctl sets back the number it read on entering.

fastprop's configuration is process-wide (one C struct, as a BLAS's thread count), not
per Python thread, so a limit set in one thread holds for fits in every thread until it
is lifted; threadpoolctl reports this as ``thread_limit_scope`` "process". Limits
entered and left by two threads at once are not nested: each sets back, on leaving, the
number it read on entering, so the last to leave decides (as with a process-wide BLAS
pool). A limit sets the threads by ``set_config``, which is no more atomic than a
``set_config`` call in another thread; and on leaving any ``threadpool_limits`` block,
even one for user_api "blas" only, threadpoolctl sets every library it listed back, so a
``set_config(threads=...)`` made inside such a block is undone there.

joblib (1.6) does not call threadpoolctl in its workers: it limits their inner threads
by environment variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, ... set to
``inner_max_num_threads``) given to the loky worker processes it starts. fastprop's
default number of threads is at most OMP_NUM_THREADS (_configuration.py), so those
workers fit on as many threads as joblib allows them.
"""
import os
from types import ModuleType

from . import _configuration, _kernels
from ._version import __version__

USER_API = "fastprop"
INTERNAL_API = "fastprop"

# The extension this fastprop imported, by real path (threadpoolctl resolves symlinks
# too), and its file name as threadpoolctl compares it (lower case).
_LIBRARY_PATH = os.path.normcase(os.path.realpath(_kernels.__file__))
_LIBRARY_NAME = os.path.basename(_kernels.__file__).lower()
# A symbol every CPython extension module called _kernels exports: the check that the
# file is an extension module of that name at all; _is_fastprop's narrows it to ours.
_INIT_SYMBOL = "PyInit__kernels"

try:
    import threadpoolctl
except ImportError:  # pragma: no cover - threadpoolctl is a dependency
    threadpoolctl = None


def _is_fastprop(filepath: str | None) -> bool:
    return filepath is not None and os.path.normcase(os.path.realpath(filepath)) == _LIBRARY_PATH


if threadpoolctl is not None and hasattr(threadpoolctl, "LibController"):

    class FastpropController(threadpoolctl.LibController):  # type: ignore[misc]  # untyped base
        """fit's threads, as threadpoolctl sees a library's thread pool: the number is
        ``fastprop.get_config()["threads"]``; setting it calls ``fastprop.set_config``."""

        user_api = USER_API
        internal_api = INTERNAL_API
        filename_prefixes = (_LIBRARY_NAME,)
        # threadpoolctl (3.3 and later) keeps a matched library only if its handle has
        # one of these symbols. Every extension called _kernels has this one; for a file
        # other than fastprop's, set_additional_attributes hides the handle so that it has
        # none and threadpoolctl leaves that file out. (3.2 checks no symbols: there
        # such a file, if one were loaded, would be listed as a second fastprop entry.)
        check_symbols = (_INIT_SYMBOL,)

        def set_additional_attributes(self) -> None:
            if not _is_fastprop(self.filepath):
                self.dynlib = None

        def get_num_threads(self) -> int:
            return _configuration.threads()

        def set_num_threads(self, num_threads: int) -> None:
            # Clamped as a limit: fewer than one thread means one, more than the team
            # has means all of it (a BLAS takes any number; set_config would refuse).
            _configuration.set_config(
                threads=min(max(int(num_threads), 1), _configuration.MAX_THREADS))

        def get_version(self) -> str:
            return __version__

else:  # pragma: no cover - threadpoolctl missing, or older than 3.0
    # A class or None, as threadpoolctl allows: mypy takes the class's definition as the type.
    FastpropController = None  # type: ignore[misc, assignment]


def _register(module: ModuleType | None) -> str:
    """Register FastpropController with the threadpoolctl module given; returns what
    show_config says about it."""
    if module is None:
        return "threadpoolctl: not installed; fit's threads are set by set_config only"
    version = getattr(module, "__version__", "?")
    register = getattr(module, "register", None)
    if FastpropController is None or register is None:
        return (f"threadpoolctl {version}: does not control them (it has no register(); "
                f"threadpoolctl 3.2 or later does)")
    # Once per process: after importlib.reload, registering again would put a second
    # fastprop controller in threadpoolctl's list (and 3.2 would list the threads twice).
    registered = getattr(module, "_ALL_CONTROLLERS", ())
    if not any(getattr(known, "internal_api", None) == INTERNAL_API for known in registered):
        register(FastpropController)
    return f"threadpoolctl {version}: controls them as user_api {USER_API!r}"


_status = _register(threadpoolctl)


def status() -> str:
    """The line show_config prints about threadpoolctl."""
    return _status
