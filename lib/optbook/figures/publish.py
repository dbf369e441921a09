"""Put computed numbers and figures into the prose (MyST-NB glue), also where MyST-NB is absent.

On the book's build machine `glue` hands the value to MyST-NB, so the text can quote it with
``{glue:text}`key:.3f```; on Colab or a bare Jupyter (no MyST-NB installed) it does nothing
visible, so the same notebook runs everywhere.
"""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``name`` for the page's text.

    Returns None, so a cell that ends in ``glue(...)`` shows nothing on the page.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return None
    myst_glue(name, value, display=display)
    if hasattr(value, "savefig"):  # a matplotlib Figure: do not let the inline backend show it twice
        import matplotlib.pyplot as plt

        plt.close(value)
