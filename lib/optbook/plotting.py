"""Shared figure style and small plotting helpers used across the chapters."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._validate import check_positive_int

BOOK_STYLE = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "legend.frameon": False,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (white background, so figures read in dark mode too)."""
    import matplotlib as mpl

    mpl.rcParams.update(BOOK_STYLE)


def running_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average of ``values`` (shorter windows at the start), same length as input."""
    check_positive_int("window", window)
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {x.shape}")
    csum = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, x.size + 1)
    start = np.maximum(idx - window, 0)
    return (csum[idx] - csum[start]) / (idx - start)
