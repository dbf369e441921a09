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


def running_average(values: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along axis 0 (shorter windows at the start), for [T] or [T, R] input."""
    check_positive_int("window", window)
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"values must be a non-empty 1-D or 2-D array, got shape {x.shape}")
    csum = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    idx = np.arange(1, x.shape[0] + 1)
    start = np.maximum(idx - window, 0)
    count = (idx - start).reshape(-1, *([1] * (x.ndim - 1)))
    return (csum[idx] - csum[start]) / count
