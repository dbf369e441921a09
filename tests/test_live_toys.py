"""The live toy widgets (optbook.figures.live) in a real browser: their numbers are the library's.

The widgets compute in JavaScript. Here Chromium (Debian's, driven by Playwright, offline) loads
both toys from a local file and the test compares the JavaScript paths with
`optbook.ill_conditioning.quadratic` and `optbook.saddle_points.saddles` on settings that converge,
oscillate and diverge; then it drags every slider to its ends and checks that nothing throws and
that the read-out names a divergence when theory says there is one.
"""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from optbook.figures import live_quadratic, live_saddle
from optbook.ill_conditioning import quadratic as Q
from optbook.saddle_points import saddles

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="kappa"):
        live_quadratic(kappa=0.5)
    with pytest.raises(ValueError, match="method"):
        live_quadratic(method="adam")
    with pytest.raises(TypeError, match="steps"):
        live_saddle(steps=2.5)
    with pytest.raises(ValueError, match="lr"):
        live_saddle(lr=float("nan"))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    html = tmp_path_factory.mktemp("live") / "toys.html"
    html.write_text("<!doctype html><html><body style='width:390px'>" + live_quadratic().html()
                    + live_saddle().html() + "</body></html>")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda error: errors.append(str(error)))
        pg.goto(html.as_uri())
        pg.wait_for_function("window.OptbookLive !== undefined")
        pg.errors = errors
        yield pg
        browser.close()


QUADRATIC_CASES = [  # (kappa, angle, method, lr, momentum): converging, zig-zagging, diverging, tuned, Newton
    (10.0, 0.0, "gd", 0.18, 0.0),
    (100.0, 0.5, "gd", 1.98, 0.0),
    (100.0, 0.5, "gd", 2.02, 0.0),
    (1000.0, -1.0, "momentum", None, None),
    (50.0, 0.3, "momentum", 1.5, 0.9),
    (1000.0, 0.7, "newton", None, None),
]


@pytest.mark.parametrize("kappa, angle, method, lr, momentum", QUADRATIC_CASES)
def test_quadratic_paths_are_the_library_paths(page, kappa, angle, method, lr, momentum):
    h = Q.quadratic_hessian(kappa, angle=angle)
    x0 = torch.tensor([math.cos(0.4), math.sin(0.4)], dtype=torch.float64)
    steps = 60
    if method == "momentum" and lr is None:
        lr, momentum = Q.best_momentum(h)
    expected = Q.optimize_quadratic(h, x0, method, steps, lr=lr, momentum=momentum)[:, 0].numpy()
    got = page.evaluate("o => window.OptbookLive.quadraticPath(o).path", {
        "kappa": kappa, "angle": angle, "method": method, "lr": lr or 0.0, "momentum": momentum or 0.0,
        "x0": x0.tolist(), "steps": steps})
    got = torch.tensor(got, dtype=torch.float64).numpy()
    # relative to each iterate's size, with a floor of 1e-2 (an absolute 1e-12 where only rounding noise is left, as after a Newton step)
    scale = abs(expected).max(axis=1, keepdims=True).clip(min=1e-2)
    assert abs((got - expected) / scale).max() < 1e-10
    radius = page.evaluate("o => window.OptbookLive.quadraticRadius(o)",
                           {"kappa": kappa, "method": method, "lr": lr or 0.0, "momentum": momentum or 0.0})
    assert radius == pytest.approx(Q.iteration_radius(h, method, lr=lr, momentum=momentum), abs=1e-12)


@pytest.mark.parametrize("method, lr", [("gradient descent", 0.1), ("gradient descent", 1.2), ("Newton", 1.0),
                                        ("Newton", 0.3), ("saddle-free Newton", 0.2)])
def test_saddle_paths_are_the_library_paths(page, method, lr):
    starts = torch.tensor([[1.5, 1e-3], [-1.2, -5e-4]], dtype=torch.float64)
    run = saddles.run_method(saddles.saddle_cost, starts, method, lr, 40, derivatives=saddles.saddle_derivatives)
    got = page.evaluate("o => window.OptbookLive.saddlePath(o)",
                        {"method": method, "lr": lr, "starts": starts.tolist(), "steps": 40, "noise": 0})
    assert got["divergedAt"] == run.diverged_at.tolist()
    paths = torch.tensor([[[math.nan if v is None else v for v in p] for p in path] for path in got["paths"]],
                         dtype=torch.float64).transpose(0, 1)
    assert torch.allclose(paths, run.params, rtol=1e-12, atol=1e-300, equal_nan=True)


def test_every_slider_end_draws_without_an_error(page):
    toys = page.locator(".optbook-live")
    assert toys.count() == 2
    for i in range(2):
        for slider in toys.nth(i).locator("input[type=range]").all():
            for end in ("0", "1000"):
                slider.fill(end)
                assert slider.get_attribute("aria-valuetext")
        for select in toys.nth(i).locator("select").all():
            for option in select.locator("option").all():
                select.select_option(option.get_attribute("value"))
    assert page.errors == []
    readouts = [toys.nth(i).locator(".optbook-live-readout").inner_text() for i in range(2)]
    assert all(text and "could not be drawn" not in text for text in readouts)


def test_the_readout_agrees_with_theory(page):
    quadratic = page.locator(".optbook-live").nth(0)
    quadratic.locator("select").select_option("gd")
    slider = {s.get_attribute("data-name"): s for s in quadratic.locator("input[type=range]").all()}
    slider["lr"].fill("1000")  # eps = 3 > 2 / lambda_max = 2
    assert "Diverges" in quadratic.locator(".optbook-live-readout").inner_text()
    slider["lr"].fill("500")  # eps = sqrt(0.003) ~ 0.055: stable for every kappa
    assert "Converges" in quadratic.locator(".optbook-live-readout").inner_text()
    # the exercise of section 2: at kappa = 10 a step of 2.02 diverges with GD and converges with tuned momentum
    page.evaluate("""() => { const q = document.querySelectorAll('.optbook-live')[0].optbook;
                             q.set('kappa', 10); q.set('lr', 2.02); q.set('method', 'gd'); }""")
    assert "Diverges" in quadratic.locator(".optbook-live-readout").inner_text()
    page.evaluate("() => document.querySelectorAll('.optbook-live')[0].optbook.set('method', 'tuned')")
    text = quadratic.locator(".optbook-live-readout").inner_text()
    kappa = page.evaluate("() => document.querySelectorAll('.optbook-live')[0].optbook.state.kappa")  # 10 on the slider's grid
    assert kappa == pytest.approx(10, rel=0.01)
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    assert "Converges" in text and f"\u03b2 = {beta:.3g}" in text
    saddle = page.locator(".optbook-live").nth(1)
    saddle.locator("select").select_option("gradient descent")
    steps = {s.get_attribute("data-name"): s for s in saddle.locator("input[type=range]").all()}
    steps["lr"].fill("1000")  # eps = 1.5 > 1
    steps["steps"].fill("1000")
    assert "diverged" in saddle.locator(".optbook-live-readout").inner_text()
    assert page.errors == []


def test_the_start_slider_reaches_the_ridge_exactly(page):
    saddle = page.locator(".optbook-live").nth(1)
    saddle.locator("select").select_option("gradient descent")
    sliders = {s.get_attribute("data-name"): s for s in saddle.locator("input[type=range]").all()}
    sliders["noise"].fill("0")
    sliders["lr"].fill(str(round(1000 * (math.log10(0.1) - math.log10(0.01)) / (math.log10(1.5) - math.log10(0.01)))))
    sliders["start_x2"].fill("0")
    assert sliders["start_x2"].get_attribute("aria-valuetext").endswith(" 0")
    assert page.evaluate("document.querySelectorAll('.optbook-live')[1].optbook.state.start_x2") == 0
    # on the ridge without noise gradient descent slides into the saddle (the library: x1 -> 0, x2 = 0)
    assert "from the saddle" in saddle.locator(".optbook-live-readout").inner_text()
