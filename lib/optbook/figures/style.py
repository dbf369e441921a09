"""The book's figure style, and the few matplotlib objects page packages need without importing it.

The figures layer (`optbook.figures`) is the only part of the library that imports matplotlib:
page packages draw on the figure a `BlitPlot` or `new_figure` hands them.
"""

from __future__ import annotations

import numpy as np

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


def new_figure(figsize: tuple[float, float], dpi: int | None = None):
    """A new matplotlib Figure of ``figsize`` inches (pyplot's, so notebooks show it inline)."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, dpi=dpi)


def pale_colormap(name: str, weight: float = 0.5):
    """The colour map ``name`` mixed with white (what alpha = weight looks like on a white background)."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    if not 0 < weight <= 1:
        raise ValueError(f"weight must lie in (0, 1], got {weight}")
    colors = matplotlib.colormaps[name](np.linspace(0, 1, 256))
    colors[:, :3] = weight * colors[:, :3] + (1 - weight)
    return ListedColormap(colors)
