"""Interactive figures: kernel-free frames for the website, live ipywidgets view, no tracebacks."""

import base64
import io
import json
import re

import matplotlib.pyplot as plt
import pytest

import optbook as ob
from optbook.figures import widgets


def line_plot(slope, kind="line"):
    if slope > 2:
        raise FloatingPointError("the run diverged")
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, slope] if kind == "line" else [slope, 0])
    return fig


def frames_of(html: str) -> dict:
    return json.loads(re.search(r'class="optbook-frames">(.*?)</script>', html, re.S).group(1))


def test_static_view_has_one_png_per_combination_and_sliders():
    fig = ob.interactive_figure(line_plot, {"slope": [0.5, 1.0, 2.0], "kind": ["line", "flip"]})
    frames = frames_of(fig.static_html)
    assert sorted(frames) == sorted(f"{i},{j}" for i in range(3) for j in range(2))
    assert all(base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n" for png in frames.values())
    assert fig.static_html.count('type="range"') == 2
    assert len(set(frames.values())) == 6  # every setting draws a different picture
    timings = json.loads(re.search(r'data-render-ms="([^"]*)"', fig.static_html).group(1))
    assert len(timings) == 6 and all(t >= 0 for t in timings)


def test_defaults_pick_the_first_frame_and_fix_other_arguments():
    fig = ob.interactive_figure(line_plot, {"slope": [0.5, 1.0]}, defaults={"slope": 0.5, "kind": "flip"})
    html = fig.static_html
    first = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert first == frames_of(html)["0"]
    # frames are drawn at twice the dpi (sharp on phones) and shown at the dpi's size
    png = widgets.render_png(line_plot, {"slope": 0.5, "kind": "flip"}, dpi=144)
    assert frames_of(html)["0"] == base64.b64encode(png).decode()
    width = int(re.search(r'<img class="optbook-frame"[^>]* width="(\d+)"', html).group(1))
    assert width == round(int.from_bytes(png[16:20], "big") / 2)


def test_every_frame_has_alt_text_with_its_own_values():
    fig = ob.interactive_figure(line_plot, {"slope": [0.5, 1.0]}, defaults={"slope": 1.0, "kind": "flip"},
                                alt="A {kind} of slope {slope} </script> from the origin")
    html = fig.static_html
    alts = json.loads(re.search(r'class="optbook-alts">(.*?)</script>', html, re.S).group(1))
    assert alts == {"0": "A flip of slope 0.5 </script> from the origin",
                    "1": "A flip of slope 1 </script> from the origin"}
    assert re.search(r'<img class="optbook-frame" alt="A flip of slope 1 &lt;/script&gt; from the origin"', html)
    assert "frame.alt = alts[" in html  # the slider's handler swaps the alt text with the picture
    generic = ob.interactive_figure(line_plot, {"slope": [0.5, 1.0]}, defaults={"slope": 0.5}).static_html
    assert 'alt="interactive figure at slope = 0.5"' in generic
    for bad, error in ((3, TypeError), ("a {angle} b c", ValueError), ("slope {slope:.2f} is shown", ValueError),
                       ("slope {slope!r} is shown", ValueError), ("a {slope}", ValueError), ("a {0} b c", ValueError),
                       ("unclosed {slope is shown", ValueError)):
        with pytest.raises(error, match="alt"):
            ob.interactive_figure(line_plot, {"slope": [0.5, 1.0]}, alt=bad)


def test_a_failing_setting_draws_a_message_not_a_traceback():
    fig = widgets.safe_draw(line_plot, {"slope": 5.0})
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "FloatingPointError: the run diverged" in text
    ob.interactive_figure(line_plot, {"slope": [1.0, 5.0]})  # must not raise


def test_static_grid_can_be_restricted_and_is_bounded():
    controls = {"slope": [0.1 * i for i in range(20)], "kind": ["line", "flip"]}
    with pytest.raises(ValueError, match="max_frames"):
        ob.interactive_figure(line_plot, controls, max_frames=10)
    fig = ob.interactive_figure(line_plot, controls, static={"slope": [0.5, 1.0]})
    assert len(frames_of(fig.static_html)) == 2


def blit_line(builds: list):
    """A BlitPlot whose moving line has the given slope; the scene ``kind`` picks the background."""

    def build(fig, kind):
        builds.append(kind)
        ax = fig.subplots()
        ax.set(xlim=(0, 1), ylim=(-2, 2), title=f"scene {kind}")
        ax.axhline(1 if kind == "line" else -1, color="gray")
        (line,) = ax.plot([], [], lw=3, color="C1")
        label = ax.text(0.05, -1.8, "")

        def update(slope, kind):
            if slope > 2:
                raise FloatingPointError("the run diverged")
            line.set_data([0, 1], [0, slope])
            label.set_text(f"slope {slope}")
            return [line, label]

        return update

    return widgets.BlitPlot(build, figsize=(2, 1.5), scene=["kind"])


def png_pixels(png: bytes):
    from PIL import Image
    import io
    import numpy as np

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_blit_plot_builds_each_scene_once_and_matches_a_full_draw():
    builds = []
    plot = blit_line(builds)
    frames = {(slope, kind): widgets.render_png(plot, {"slope": slope, "kind": kind})
              for kind in ["line", "flip"] for slope in [0.5, 1.0, 1.5, 0.5]}
    assert builds == ["line", "flip"]  # one figure per scene, then only blits
    assert len(set(frames.values())) == 6
    # the blitted frame is the picture a full redraw of the same figure gives
    fig, update, _ = plot._scene_for({"slope": 1.0, "kind": "line"}, 72)
    for artist in update(slope=1.0, kind="line"):
        artist.set_animated(False)
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=72)
    for artist in update(slope=1.0, kind="line"):
        artist.set_animated(True)
    full.seek(0)
    from PIL import Image

    same_encoding = widgets.encode_png(Image.open(full))  # the frames carry a 256-colour palette
    difference = abs(png_pixels(same_encoding) - png_pixels(frames[(1.0, "line")])).max(axis=2)
    # only where the moving line crosses the axis spine (drawn above it in a full draw) may they differ
    assert (difference > 8).mean() < 1e-3


def test_png_palette_keeps_the_picture():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.contourf(*[[[0, 1], [0, 1]]] * 2, [[0, 1], [1, 2]], levels=20)
    ax.plot([0, 1], [1, 0], lw=2)
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=72)
    plt.close(fig)
    full.seek(0)
    from PIL import Image

    rgb = Image.open(full).convert("RGB")
    palette = widgets.encode_png(rgb)
    assert len(palette) < len(full.getvalue())
    difference = abs(png_pixels(palette) - png_pixels(full.getvalue()))
    assert difference.mean() < 3 and (difference.max(axis=2) > 24).mean() < 0.01


def test_blit_plot_failures_draw_a_message_and_recover():
    plot = blit_line([])
    good = widgets.render_png(plot, {"slope": 1.0, "kind": "line"})
    failed = widgets.render_png(plot, {"slope": 5.0, "kind": "line"})
    assert failed != good and failed[:8] == b"\x89PNG\r\n\x1a\n"
    assert widgets.render_png(plot, {"slope": 1.0, "kind": "line"}) == good
    html = ob.interactive_figure(plot, {"slope": [1.0, 5.0], "kind": ["line", "flip"]}).static_html
    assert len(frames_of(html)) == 4


def test_blit_plot_contract_errors_are_raised_not_drawn():
    with pytest.raises(TypeError, match="build"):
        widgets.BlitPlot("not a function", figsize=(2, 2))
    with pytest.raises(ValueError, match="figsize"):
        widgets.BlitPlot(lambda fig: None, figsize=(2, -1))
    with pytest.raises(TypeError, match="scene"):
        widgets.BlitPlot(lambda fig: None, figsize=(2, 2), scene="kind")
    with pytest.raises(TypeError, match="update function"):
        widgets.render_png(widgets.BlitPlot(lambda fig: None, figsize=(2, 2)), {"slope": 1.0})
    with pytest.raises(TypeError, match="artists"):
        widgets.render_png(widgets.BlitPlot(lambda fig: (lambda **v: 3), figsize=(2, 2)), {"slope": 1.0})
    with pytest.raises(TypeError, match="scene names"):
        widgets.render_png(blit_line([]), {"slope": 1.0})


def test_live_widget_with_blit_plot_updates_the_image_in_place():
    view = widgets.live_widget(blit_line([]), {"slope": [0.5, 1.0, 5.0], "kind": ["line", "flip"]},
                               {"slope": 1.0, "kind": "line"})
    (slider, dropdown), image = view.children[0].children, view.children[1]
    first = image.value
    slider.value = 0.5
    assert image.value != first
    dropdown.value = "flip"
    slider.value = 5.0  # diverges: a message, not a traceback
    assert bytes(image.value)[:8] == b"\x89PNG\r\n\x1a\n"


def test_live_widget_redraws_on_change():
    calls = []

    def plot(slope, kind="line"):
        calls.append((slope, kind))
        return line_plot(slope, kind)

    view = widgets.live_widget(plot, {"slope": [0.5, 1.0, 2.0], "kind": ["line", "flip"]}, {"slope": 1.0, "kind": "line"})
    slider, dropdown = view.children[0].children
    assert calls[-1] == (1.0, "line")
    slider.value = 2.0
    dropdown.value = "flip"
    assert calls[-1] == (2.0, "flip")
    plt.close("all")


def test_mime_bundle_is_static_html_outside_a_kernel():
    fig = ob.interactive_figure(line_plot, {"slope": [1.0]})
    bundle = fig._repr_mimebundle_()
    assert "optbook-widget" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" not in bundle


def test_bad_input():
    with pytest.raises(ValueError, match="controls"):
        ob.interactive_figure(line_plot, {})
    with pytest.raises(ValueError, match=r"controls\['slope'\]"):
        ob.interactive_figure(line_plot, {"slope": []})
    with pytest.raises(ValueError, match="defaults"):
        ob.interactive_figure(line_plot, {"slope": [1.0]}, defaults={"slope": 3.0})
    with pytest.raises(ValueError, match="static"):
        ob.interactive_figure(line_plot, {"slope": [1.0]}, static={"angle": [1.0]})
    with pytest.raises(ValueError, match="dpi"):
        ob.interactive_figure(line_plot, {"slope": [1.0]}, dpi=0)
    with pytest.raises(TypeError, match="Figure"):
        ob.interactive_figure(lambda slope: None, {"slope": [1.0]})
