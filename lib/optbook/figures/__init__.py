"""The figures layer: the only part of optbook that imports matplotlib.

- `style`: the book's figure style (`use_book_style`), `new_figure` and `pale_colormap` for page
  packages that draw without importing matplotlib themselves;
- `publish`: `glue`, numbers and figures into the page's prose (MyST-NB), a no-op elsewhere;
- `widgets`: `interactive_figure` and `BlitPlot`, a live ipywidgets view in a kernel and
  pre-rendered frames with sliders on the static website;
- `report`: `report_figure`, the diagnosing report's three panels;
- `live`: `live_quadratic` and `live_saddle`, the two-dimensional toys computed in the browser.
"""

from .live import LiveToy, live_quadratic, live_saddle
from .publish import glue
from .report import report_figure
from .style import BOOK_STYLE, new_figure, pale_colormap, use_book_style
from .widgets import BlitPlot, interactive_figure

__all__ = ["BOOK_STYLE", "BlitPlot", "LiveToy", "glue", "interactive_figure", "live_quadratic", "live_saddle", "new_figure",
           "pale_colormap", "report_figure", "use_book_style"]
