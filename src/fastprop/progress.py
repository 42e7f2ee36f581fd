"""A progress bar for ``Network.fit``: tqdm when it is installed, a plain text bar otherwise.

``fit(..., progress=True)`` creates ``EpochProgress(epochs)`` and calls
``update(epochs_done, loss)`` between compiled chunks of work. Redraws are
throttled to a few per second, so an update that does not redraw costs one
clock read.
"""
from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Literal, TextIO

REDRAW_INTERVAL_SECONDS = 0.2
_TEXT_BAR_WIDTH = 24


def _tqdm_class() -> Any:
    """tqdm's bar class, or None when tqdm (the ``progress`` extra) is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _format_loss(loss: float) -> str:
    return f"{loss:.4g}"


class EpochProgress:
    """Shows how many of ``total_epochs`` are done and the latest epoch's loss, on stderr."""

    def __init__(self, total_epochs: int, *, file: TextIO | None = None) -> None:
        if isinstance(total_epochs, bool) or not isinstance(total_epochs, int):
            raise TypeError(f"total_epochs must be an int, got {type(total_epochs).__name__}")
        if total_epochs < 0:
            raise ValueError(f"total_epochs must be >= 0, got {total_epochs}")
        self.total_epochs = total_epochs
        self.epochs_done = 0
        self.loss: float | None = None
        self._file = file if file is not None else sys.stderr
        self._next_redraw = 0.0
        self._closed = False
        self._bar: Any = None          # a tqdm bar, when tqdm is installed
        tqdm = _tqdm_class()
        if tqdm is not None:
            self._bar = tqdm(
                total=total_epochs, unit="epoch", desc="training", file=self._file,
                mininterval=REDRAW_INTERVAL_SECONDS, dynamic_ncols=True,
            )
        else:
            self._bar = None
            self._is_terminal = bool(getattr(self._file, "isatty", lambda: False)())

    def update(self, epochs_done: int, loss: float) -> None:
        """Record that ``epochs_done`` epochs are finished, the last with ``loss``."""
        self.epochs_done = epochs_done
        self.loss = loss
        now = time.monotonic()
        if now < self._next_redraw or epochs_done >= self.total_epochs:
            return  # throttled, or finished: close() draws the final state
        self._next_redraw = now + REDRAW_INTERVAL_SECONDS
        self._draw()

    def close(self) -> None:
        """Draw the final state and release the bar. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._sync_tqdm()
            self._bar.close()  # tqdm draws the final state itself
        elif self._is_terminal:
            self._draw()
            self._file.write("\n")
            self._file.flush()
        else:
            # Not a terminal (a log, a pipe): one line at the end, nothing in between.
            self._file.write(self._text_line() + "\n")
            self._file.flush()

    def _draw(self) -> None:
        if self._bar is not None:
            self._sync_tqdm()
            self._bar.refresh()
        elif self._is_terminal:
            self._file.write("\r" + self._text_line())
            self._file.flush()

    def _sync_tqdm(self) -> None:
        self._bar.n = self.epochs_done
        if self.loss is not None:
            self._bar.set_postfix_str(f"loss={_format_loss(self.loss)}", refresh=False)

    def _text_line(self) -> str:
        total = self.total_epochs
        fraction = self.epochs_done / total if total else 1.0
        filled = int(round(fraction * _TEXT_BAR_WIDTH))
        bar = "#" * filled + "-" * (_TEXT_BAR_WIDTH - filled)
        line = f"training {fraction:4.0%} [{bar}] {self.epochs_done}/{total} epochs"
        if self.loss is not None:
            line += f", loss {_format_loss(self.loss)}"
        return line

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> Literal[False]:
        self.close()
        return False
