"""``plot_loss``: the loss curve of a fit, drawn with matplotlib (the ``plot`` extra)."""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Losses spanning more than this many decades are drawn on a log scale.
LOG_SCALE_DECADES = 1.5


def _check_history(history: ArrayLike) -> NDArray[np.float64]:
    try:
        values = np.asarray(history, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"history must be a 1-D sequence of numbers ({error})") from error
    if values.ndim != 1:
        raise ValueError(f"history must be 1-D (one loss per epoch), got shape {values.shape}")
    if values.size == 0:
        raise ValueError("history is empty: there is no loss to plot")
    if not np.isfinite(values).all():
        raise ValueError("history holds non-finite losses (nan or inf)")
    return values


def uses_log_scale(values: NDArray[np.float64]) -> bool:
    """Whether the losses are all positive and span more than LOG_SCALE_DECADES decades."""
    low, high = float(values.min()), float(values.max())
    return low > 0 and math.log10(high / low) > LOG_SCALE_DECADES


def require_matplotlib() -> type[Figure]:
    """Import matplotlib's Figure class, or raise an ImportError that says how to install it."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib, which is not installed: pip install matplotlib "
            "(or, in fastprop's source checkout, pip install \".[plot]\")") from error
    return Figure


def plot_loss(history: ArrayLike, path: str | os.PathLike[str] | None = None) -> Figure:
    """Draw the per-epoch losses in ``history`` and return the matplotlib Figure.

    The y axis is logarithmic when the losses are positive and span more than
    1.5 decades. No pyplot state is touched, so this works without a screen and
    leaves the user's backend alone. Needs matplotlib (the ``plot`` extra).

    Parameters
    ----------
    history : array_like of shape (n_epochs,)
        One loss per epoch, as ``Network.fit`` returns them; finite numbers.
    path : str or os.PathLike, optional
        Where to save the figure too; the format follows the suffix (``.png``,
        ``.svg``, ``.pdf``...).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with one axes: loss against epoch (from 1).

    Raises
    ------
    ValueError
        If ``history`` is not a non-empty 1-D sequence of finite numbers.
    TypeError
        If ``path`` is neither a str nor an os.PathLike.
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> import fastprop
    >>> figure = fastprop.plot_loss([0.9, 0.4, 0.2, 0.1])
    >>> axes = figure.axes[0]
    >>> axes.get_xlabel(), axes.get_ylabel(), axes.get_yscale()
    ('epoch', 'loss', 'linear')
    """
    values = _check_history(history)
    if path is not None and (isinstance(path, bytes) or not isinstance(path, (str, os.PathLike))):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    Figure = require_matplotlib()
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.add_subplot()
    epochs = np.arange(1, values.size + 1)
    axes.plot(epochs, values, color="tab:blue", linewidth=1.5,
              marker="o" if values.size == 1 else None)
    if uses_log_scale(values):
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title(f"Training loss: {values[0]:.4g} → {values[-1]:.4g} in {values.size} epochs")
    axes.grid(True, which="both", alpha=0.3)
    if path is not None:
        figure.savefig(path)
    return figure
