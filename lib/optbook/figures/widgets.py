"""Interactive figures that work live in Jupyter/Binder/Colab and without a kernel on the website.

`interactive_figure(plot, controls)` displays one output that carries two views:

* a live ipywidgets view (sliders and dropdowns that redraw by calling ``plot``), shown by
  Jupyter, Binder and Colab (ipywidgets 7 or 8), and
* a kernel-free HTML view: the figure pre-rendered for every combination of control values,
  with plain HTML sliders that swap the picture. The book's website shows this one (its
  ``_config.yml`` ranks ``text/html`` above the widget view), so readers can move the sliders
  without a kernel. It is self-contained: no CDN, no JavaScript library.

``plot`` comes in two forms:

* a function ``plot(**values) -> Figure`` that draws everything afresh: simplest, but building
  and laying out a figure costs 60-300 ms on a laptop CPU (most of it ticks and text), too slow
  for a slider;
* a :class:`BlitPlot`: the figure is built once per *scene* (axes, ticks, labels, reference
  curves), and a redraw only updates the artists that move and paints them over a cached
  background (matplotlib's blitting), which takes a few tens of milliseconds.

A ``plot`` that raises (a diverging run, an impossible setting) never shows a traceback: the
frame says in words what went wrong.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import struct
import itertools
import json
import string
import time
from numbers import Real
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._validate import check_positive_int

UpdateFn = Callable[..., Sequence[Artist]]
BuildFn = Callable[..., UpdateFn]


class PlotDefinitionError(TypeError):
    """A plot that breaks the interactive-figure contract: a bug to fix, never drawn as a message."""


class BlitPlot:
    """A figure built once per scene whose redraws repaint only the artists that change.

    ``build(fig, **scene_values)`` draws what stays put for one scene (axes with fixed limits,
    labels, legends, reference curves) and returns ``update(**values)``, which receives every
    control value, sets the data of the artists that move (``set_data``, ``set_text``,
    ``set_visible``) and returns them. The first call draws the figure without those artists and
    keeps it as the background; each redraw restores it and paints the returned artists on top.
    ``scene`` names the controls that change the background itself (say, the contours of a
    different quadratic): each combination gets its own figure, built on first use.

    Axis limits stay where ``build`` put them (ticks are part of the background), so choose them
    to show every setting; a run that leaves them is clipped at the frame, which is how a
    diverging run shows.

    Examples
    --------
    >>> import optbook as ob
    >>> def build(fig):
    ...     ax = fig.subplots()
    ...     ax.set(xlim=(0, 1), ylim=(0, 2))
    ...     (line,) = ax.plot([], [])
    ...     def update(slope):
    ...         line.set_data([0, 1], [0, slope])
    ...         return [line]
    ...     return update
    >>> plot = ob.BlitPlot(build, figsize=(3, 2))
    >>> plot.png({"slope": 1.5})[1:4], plot.png({"slope": 0.5})[1:4], len(plot._scenes)  # one scene, built once
    (b'PNG', b'PNG', 1)
    """

    def __init__(self, build: BuildFn, figsize: tuple[float, float], scene: Sequence[str] = ()):
        if not callable(build):
            raise TypeError(f"build must be callable, got {type(build).__name__}")
        if (not isinstance(figsize, (tuple, list)) or len(figsize) != 2
                or not all(isinstance(v, Real) and 0 < v < 100 for v in figsize)):
            raise ValueError(f"figsize must be two numbers in inches between 0 and 100, got {figsize!r}")
        if isinstance(scene, str) or not all(isinstance(n, str) for n in scene):
            raise TypeError(f"scene must be a sequence of control names, got {scene!r}")
        self.build, self.figsize, self.scene = build, (float(figsize[0]), float(figsize[1])), tuple(scene)
        self._scenes: dict[tuple, tuple[Figure, UpdateFn, Any]] = {}

    def _scene_for(self, values: Mapping[str, Any], dpi: int) -> tuple[Figure, UpdateFn, Any]:
        """The (figure, update, background) of this scene, built and drawn on first use."""
        missing = [n for n in self.scene if n not in values]
        if missing:
            raise PlotDefinitionError(f"scene names {missing}, which are not among the plot's values {sorted(values)}")
        key = (dpi, *(values[n] for n in self.scene))
        if key not in self._scenes:
            fig = Figure(figsize=self.figsize, dpi=dpi, facecolor="white")
            FigureCanvasAgg(fig)
            update = self.build(fig, **{n: values[n] for n in self.scene})
            if not callable(update):
                raise PlotDefinitionError(f"build must return the update function, got {type(update).__name__}")
            for artist in _artists(update(**values)):
                artist.set_animated(True)  # left out of the background
            fig.canvas.draw()
            self._scenes[key] = (fig, update, fig.canvas.copy_from_bbox(fig.bbox))
        return self._scenes[key]

    def png(self, values: Mapping[str, Any], dpi: int = 72) -> bytes:
        """Update the moving artists for ``values``, paint them over the background, return PNG bytes."""
        from PIL import Image

        fig, update, background = self._scene_for(values, dpi)
        artists = _artists(update(**values))
        fig.canvas.restore_region(background)
        for artist in artists:
            artist.set_animated(True)
            fig.draw_artist(artist)
        return encode_png(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())))


def encode_png(image: "PIL.Image.Image") -> bytes:
    """PNG bytes of an opaque figure with a 256-colour palette: a third of the size, visually the same.

    Plots use few colours (antialiased edges aside), so an octree palette without dithering keeps
    them intact (measured on the book's frames: mean error 1-2 of 255 per channel) and the pages
    that carry dozens of pre-rendered frames load three times faster. Quantizing and compressing
    take about 2 ms, less than compressing the RGB image.
    """
    from PIL import Image

    palette = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", compress_level=6)
    return buffer.getvalue()


def _artists(returned: Any) -> list[Artist]:
    """Check that ``update`` returned a sequence of matplotlib artists."""
    if isinstance(returned, Artist):
        returned = [returned]
    if not isinstance(returned, (list, tuple)) or not all(isinstance(a, Artist) for a in returned):
        raise PlotDefinitionError(f"update must return the matplotlib artists it changed, got {type(returned).__name__}")
    return list(returned)


PlotFn = Callable[..., Figure]
Plot = Union[PlotFn, BlitPlot]


def render_png(plot: Plot, values: Mapping[str, Any], dpi: int = 72) -> bytes:
    """Draw ``plot`` for ``values`` and return PNG bytes; failures become a message figure."""
    import matplotlib.pyplot as plt

    if isinstance(plot, BlitPlot):
        try:
            return plot.png(values, dpi)
        except PlotDefinitionError:
            raise  # a mistake in the plot's code, not a setting the reader chose
        except Exception as error:  # noqa: BLE001 - a reader must see words, not a traceback
            fig = failure_figure(error)
    else:
        fig = safe_draw(plot, values)
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    buffer.seek(0)
    return encode_png(Image.open(buffer))


def safe_draw(plot: PlotFn, values: Mapping[str, Any]) -> Figure:
    """Call ``plot(**values)``; if it raises, return a figure that explains the failure."""
    import matplotlib.pyplot as plt

    try:
        fig = plot(**values)
    except Exception as error:  # noqa: BLE001 - a reader must see words, not a traceback
        plt.close("all")
        return failure_figure(error)
    if not isinstance(fig, Figure):
        raise PlotDefinitionError(f"plot must return a matplotlib Figure, got {type(fig).__name__}")
    return fig


def failure_figure(error: Exception) -> Figure:
    """What a widget draws when a setting raises: the error in words, never a traceback."""
    return message_figure(f"This setting cannot be drawn:\n{type(error).__name__}: {error}")


def message_figure(text: str) -> Figure:
    """A small figure that shows ``text``: what a widget draws instead of a traceback."""
    fig = Figure(figsize=(6, 2), facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11)
    return fig


def _check_controls(controls: Mapping[str, Sequence]) -> dict[str, list]:
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError("controls must be a non-empty mapping from argument name to a list of values")
    checked = {}
    for name, values in controls.items():
        values = list(values)
        if not values:
            raise ValueError(f"controls[{name!r}] must list at least one value")
        checked[name] = values
    return checked


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _render_frames(
    plot: Plot, names: list[str], grids: list[list], defaults: Mapping[str, Any], dpi: int
) -> tuple[dict[str, str], list[float]]:
    """Every combination of the grids drawn as a base64 PNG, keyed "i,j,..." by value index, and each draw's ms."""
    frames, render_ms = {}, []
    for combo in itertools.product(*[range(len(g)) for g in grids]):
        values = {n: grids[i][j] for i, (n, j) in enumerate(zip(names, combo))}
        values.update({k: v for k, v in defaults.items() if k not in values})
        started = time.perf_counter()
        frames[",".join(map(str, combo))] = base64.b64encode(render_png(plot, values, dpi)).decode()
        render_ms.append(round(1000 * (time.perf_counter() - started), 1))
    return frames, render_ms


def _check_alt(alt: str | None, controls: Sequence[str], fixed: Sequence[str] = ()) -> str:
    """The frames' alt text: a template with ``{name}`` fields for controls and fixed values (generic if None)."""
    names = [*controls, *fixed]
    if alt is None:
        return "interactive figure at " + ", ".join(f"{n} = {{{n}}}" for n in controls)
    if not isinstance(alt, str):
        raise TypeError(f"alt must be a string, got {type(alt).__name__}")
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(alt) if f is not None]
    except ValueError as error:
        raise ValueError(f"alt must be a template with {{name}} fields, got {alt!r} ({error})") from None
    bad = [f for f, spec, conv in fields if f not in names or spec or conv]
    if bad:
        raise ValueError(f"alt may only hold plain {{name}} fields of the controls {list(names)}, got {bad}")
    if len(alt.split()) < 4:
        raise ValueError(f"alt must describe the figure in words (four or more), got {alt!r}")
    return alt


def _slider_row(name: str, grid: list, start: int) -> str:
    """The HTML of one labelled range slider over ``grid``'s indices, set at ``start``, with its value shown."""
    labels = json.dumps([_format(v) for v in grid])
    return (
        f'<label style="display:block;margin:2px 0"><span style="display:inline-block;min-width:9em">'
        f"{html.escape(name)}</span>"
        f'<input type="range" min="0" max="{len(grid) - 1}" step="1" value="{start}" '
        f'aria-label="{html.escape(name)}" aria-valuetext="{html.escape(_format(grid[start]))}" '
        f"data-labels='{html.escape(labels)}' style=\"width:14em;vertical-align:middle\"> "
        f'<output style="font-family:monospace">{html.escape(_format(grid[start]))}</output></label>'
    )


def _css_width(frame: str, density: float) -> int:
    """The display width in CSS pixels of a base64 PNG drawn at ``density`` pixels per CSS pixel."""
    width = struct.unpack(">I", base64.b64decode(frame[:44])[16:20])[0]
    return round(width / density)


def static_html(
    plot: Plot,
    controls: Mapping[str, Sequence],
    defaults: Mapping[str, Any],
    dpi: int = 72,
    max_frames: int = 64,
    density: float = 2.0,
    alt: str | None = None,
) -> str:
    """Pre-render every combination of ``controls`` and return a self-contained HTML slider view.

    Frames are drawn at ``density`` times ``dpi`` and shown at the size ``dpi`` gives, so that
    they stay sharp on high-density (phone) screens. ``alt`` is the frames' alt text, a template
    whose ``{name}`` fields take each control's shown value (`interactive_figure`).
    """
    names = list(controls)
    template = _check_alt(alt, names, list(defaults))
    grids = [list(controls[n]) for n in names]
    n_frames = 1
    for grid in grids:
        n_frames *= len(grid)
    if n_frames > max_frames:
        raise ValueError(f"{n_frames} static frames exceed max_frames={max_frames}: pass fewer values in static=")
    frames, render_ms = _render_frames(plot, names, grids, defaults, round(dpi * density))
    start = [g.index(defaults[n]) if defaults.get(n) in g else len(g) // 2 for n, g in zip(names, grids)]
    uid = "optbook-" + hashlib.sha1("".join(sorted(frames.values())).encode()).hexdigest()[:10]
    rows = [_slider_row(name, grid, start[i]) for i, (name, grid) in enumerate(zip(names, grids))]
    key = ",".join(map(str, start))
    alts = {}  # each frame's alt text: the template filled with the values that frame shows
    for combo in itertools.product(*[range(len(g)) for g in grids]):
        shown = {**{n: _format(v) for n, v in defaults.items()}, **{n: _format(g[i]) for n, g, i in zip(names, grids, combo)}}
        alts[",".join(map(str, combo))] = template.format(**shown)
    alts_json = json.dumps(alts).replace("</", "<\\/")  # raw text in a <script>: only "</" could end it
    # data-render-ms: what each frame took to draw (plot + PNG), i.e. one live redraw; the
    # benchmarks read it from the built pages.
    return f"""<div class="optbook-widget" id="{uid}" data-render-ms="{json.dumps(render_ms)}">
<div class="optbook-controls">{''.join(rows)}</div>
<img class="optbook-frame" alt="{html.escape(alts[key])}" width="{_css_width(frames[key], density)}"
 style="max-width:100%;height:auto" src="data:image/png;base64,{frames[key]}">
<script type="application/json" class="optbook-frames">{json.dumps(frames)}</script>
<script type="application/json" class="optbook-alts">{alts_json}</script>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var frames = JSON.parse(root.querySelector(".optbook-frames").textContent);
  var alts = JSON.parse(root.querySelector(".optbook-alts").textContent);
  var inputs = root.querySelectorAll("input[type=range]");
  function update() {{
    var key = [];
    inputs.forEach(function (input) {{
      var labels = JSON.parse(input.dataset.labels);
      input.nextElementSibling.textContent = labels[input.value];
      input.setAttribute("aria-valuetext", labels[input.value]);  // screen readers say the value, not its index
      key.push(input.value);
    }});
    var frame = root.querySelector("img.optbook-frame");
    frame.src = "data:image/png;base64," + frames[key.join(",")];
    frame.alt = alts[key.join(",")];
  }}
  inputs.forEach(function (input) {{ input.addEventListener("input", update); }});
}})();
</script>
<p class="optbook-note" style="font-size:0.85em;opacity:0.8">Pre-computed frames: move the sliders.
Run the notebook (Binder, Colab or locally) for the live version.</p>
</div>"""


def _in_kernel() -> bool:
    """True when running inside a Jupyter kernel (a frontend can drive widgets)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def live_widget(plot: Plot, controls: Mapping[str, Sequence], defaults: Mapping[str, Any], dpi: int = 72):
    """The ipywidgets view: one slider (numbers) or dropdown (strings) per control, live redraw.

    Each change draws one PNG (by blitting for a :class:`BlitPlot`) into an ``Image`` widget, so
    the picture is replaced in place without clearing an output area. Uses only widgets that
    ipywidgets 7 and 8 share (SelectionSlider, Dropdown, Image), so it runs on Colab (7.x) and in
    current Jupyter (8.x).
    """
    import ipywidgets as w

    def control(name: str, values: list):
        value = defaults.get(name, values[len(values) // 2])
        if all(isinstance(v, str) for v in values):
            return w.Dropdown(options=values, value=value, description=name)
        options = [(_format(v), v) for v in values]
        return w.SelectionSlider(options=options, value=value, description=name, continuous_update=False)

    sliders = {name: control(name, list(values)) for name, values in controls.items()}
    image = w.Image(format="png")

    def redraw(change: Any = None) -> None:
        values = {**defaults, **{name: slider.value for name, slider in sliders.items()}}
        image.value = render_png(plot, values, dpi)

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    return w.VBox([w.VBox(list(sliders.values())), image])


class InteractiveFigure:
    """One displayable output carrying the live widget view and the kernel-free HTML view."""

    def __init__(self, plot: Plot, controls: dict[str, list], defaults: dict[str, Any],
                 static: dict[str, list], dpi: int, max_frames: int, alt: str | None = None):
        self.static_html = static_html(plot, static, {**defaults}, dpi=dpi, max_frames=max_frames, alt=alt)
        self.widget = live_widget(plot, controls, defaults, dpi) if _in_kernel() else None

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/html": self.static_html, "text/plain": "<interactive figure>"}
        if self.widget is not None:
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id,
            }
        return bundle


def interactive_figure(
    plot: Plot,
    controls: Mapping[str, Sequence],
    defaults: Mapping[str, Any] | None = None,
    static: Mapping[str, Sequence] | None = None,
    dpi: int = 72,
    max_frames: int = 64,
    alt: str | None = None,
) -> InteractiveFigure:
    """Turn a plot and control ranges into a live-and-static interactive figure.

    ``plot`` is ``plot(**values) -> Figure`` or a :class:`BlitPlot` (fast redraws). ``controls`` maps each keyword of ``plot`` to the values a slider (numbers) or dropdown
    (strings) offers. ``defaults`` gives starting values (middle of each range otherwise) and
    fixed values for keywords without a control. ``static`` restricts the pre-rendered grid for
    the website (default: every combination of ``controls``, at most ``max_frames``). ``alt`` is
    what the picture shows, for readers who cannot see it: a template whose ``{name}`` fields take
    each control's value (e.g. ``"Cost histogram at width k = {k}"``); every frame of the static
    view gets its own, and a slider change updates it.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import optbook as ob
    >>> def line(slope):
    ...     fig, ax = plt.subplots(figsize=(2, 1.5))
    ...     ax.plot([0, 1], [0, slope])
    ...     return fig
    >>> figure = ob.interactive_figure(line, {"slope": [0.5, 1.0, 2.0]}, alt="A line from the origin with slope {slope}")
    >>> figure.static_html.count('type="range"'), 'alt="A line from the origin with slope 1"' in figure.static_html
    (1, True)
    """
    if not callable(plot) and not isinstance(plot, BlitPlot):
        raise TypeError(f"plot must be a function returning a Figure or a BlitPlot, got {type(plot).__name__}")
    controls = _check_controls(controls)
    check_positive_int("dpi", dpi, minimum=10)
    check_positive_int("max_frames", max_frames)
    defaults = dict(defaults or {})
    for name, values in controls.items():
        if name in defaults and defaults[name] not in values:
            raise ValueError(f"defaults[{name!r}]={defaults[name]!r} is not among controls[{name!r}]")
        defaults.setdefault(name, values[len(values) // 2])
    static = _check_controls(static) if static is not None else controls
    unknown = set(static) - set(controls)
    if unknown:
        raise ValueError(f"static names controls that do not exist: {sorted(unknown)}")
    _check_alt(alt, list(controls), list(defaults))
    return InteractiveFigure(plot, controls, defaults, static, dpi, max_frames, alt)
