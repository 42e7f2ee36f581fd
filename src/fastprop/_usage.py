"""Who is using a network: one call that changes it at a time, never alongside a reader.

The compiled kernels run without the GIL, so two Python threads can be inside one
network at once. A ``fit`` or ``step`` (a writer) changes the weights in place, step after
step; anything reading them meanwhile from another thread (``forward``, ``gradients``,
``save``, ``weights``) would see a mix of steps, and a second writer would interleave
its steps with the first's. So a network refuses, with ``RuntimeError`` naming the call
in progress:

* a writer while another call (writer or reader) is in progress in another thread, or
  while a writer is in progress in the same thread (``fit`` called from fit's callback);
* a reader while a writer is in progress in another thread.

Readers run together freely (``forward`` from many threads at once is safe), and fit's
callback, which runs between epochs in the fitting thread when the weights are those of
a whole number of steps, may read the network (``save`` a checkpoint, ``forward`` a
validation set). Nothing waits: a refused call returns at once and changes nothing.
"""
import contextlib
import threading
from collections.abc import Iterator


class NetworkInUseError(RuntimeError):
    """A call refused because another call is using the network (see ``fastprop._usage``)."""


class UsageGuard:
    """The calls in progress on one network: at most one writer, or any number of readers."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._writer: tuple[int, str] | None = None   # (thread id, call name) of the writer
        self._readers: dict[int, tuple[str, int]] = {}  # {thread id: (call name, how many)}

    def __reduce__(self) -> tuple[type["UsageGuard"], tuple[()]]:
        """A network is copied and pickled with a fresh guard: calls in progress are not state."""
        return (UsageGuard, ())

    @contextlib.contextmanager
    def writing(self, call: str) -> Iterator[None]:
        """Hold the network for call (fit, step) in this thread, or raise NetworkInUseError."""
        me = threading.get_ident()
        with self._mutex:
            if self._writer is not None:
                owner, running = self._writer
                where = ("in this thread: called from its callback?" if owner == me
                         else "in another thread")
                raise NetworkInUseError(f"cannot {call}: {running} is in progress on this "
                                        f"network ({where}); a network trains in one call "
                                        "at a time")
            others = [name for thread, (name, _) in self._readers.items() if thread != me]
            if others:
                raise NetworkInUseError(f"cannot {call}: {others[0]} is in progress on this "
                                        "network in another thread")
            self._writer = (me, call)
        try:
            yield
        finally:
            with self._mutex:
                self._writer = None

    @contextlib.contextmanager
    def reading(self, call: str) -> Iterator[None]:
        """Read the network in this thread, unless another thread is changing it."""
        me = threading.get_ident()
        with self._mutex:
            if self._writer is not None and self._writer[0] != me:
                raise NetworkInUseError(f"cannot {call}: {self._writer[1]} is changing this "
                                        "network in another thread; call it after, or from "
                                        "fit's callback (between epochs)")
            name, count = self._readers.get(me, (call, 0))
            self._readers[me] = (name, count + 1)
        try:
            yield
        finally:
            with self._mutex:
                name, count = self._readers[me]
                if count == 1:
                    del self._readers[me]
                else:
                    self._readers[me] = (name, count - 1)
