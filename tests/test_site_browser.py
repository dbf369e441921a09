"""The built website in a real browser (Debian's chromium driven by Playwright), offline.

The pages ask for MathJax from a CDN; the test serves a local MathJax 3 copy (installed by
`make browser`) in its place and aborts every other request that leaves this machine, so what
is checked here is what a reader gets from our own files. Screenshots of every page (desktop,
phone width, dark mode) land in `_build/screenshots/` for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
MATHJAX = ROOT / "tests" / ".browser" / "node_modules" / "mathjax" / "es5"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No page error is allowed (scripts/site_fixes.py removes the duplicate inline scripts that
# sphinx-thebe and sphinx-togglebutton wrote into every page).
ALLOWED_PAGE_ERRORS: tuple[str, ...] = ()


def pages() -> list[str]:
    from test_book import toc_files

    return [f"{entry}.html" for entry in toc_files()]


@pytest.fixture(scope="module")
def site_url(built_site):
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
            pass

    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not MATHJAX.exists():
        pytest.fail("local MathJax copy missing: run the README's test command (`make test`), which sets it up")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def route_offline(route):
    """Serve MathJax from the local copy; abort any other request that leaves this machine."""
    url = urlparse(route.request.url)
    if url.hostname in ("127.0.0.1", "localhost"):
        return route.continue_()
    match = re.match(r"/npm/mathjax@3/es5/(.*)", url.path)
    if url.hostname == "cdn.jsdelivr.net" and match and (MATHJAX / match.group(1)).is_file():
        return route.fulfill(path=str(MATHJAX / match.group(1)))
    return route.abort()


def open_page(browser, url: str, **context_options):
    context = browser.new_context(**context_options)
    context.route("**/*", route_offline)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: None if any(a in str(e) for a in ALLOWED_PAGE_ERRORS) else problems.append(f"JS error: {e}"))
    page.on("console", lambda m: problems.append(f"console error: {m.text}") if m.type == "error" and "127.0.0.1" in m.text else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 and "127.0.0.1" in r.url else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}") if "127.0.0.1" in r.url else None)
    page.goto(url, wait_until="load")
    return context, page, problems


def wait_for_mathjax(page) -> None:
    page.wait_for_function("() => window.MathJax === undefined || (window.MathJax.startup && window.MathJax.startup.promise)", timeout=20000)
    page.evaluate("() => window.MathJax && window.MathJax.startup.promise")


def screenshot(page, name: str) -> None:
    folder = ROOT / "_build" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.parametrize("path", pages())
def test_page_loads_clean_with_figures_math_and_working_sliders(browser, site_url, path):
    context, page, problems = open_page(browser, f"{site_url}/{path}", viewport={"width": 1280, "height": 900})
    wait_for_mathjax(page)
    assert problems == []
    broken = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))")
    assert broken == [], f"images that did not load: {broken}"
    math = page.evaluate("""() => ({
        errors: document.querySelectorAll('mjx-merror').length,
        red: document.querySelectorAll('mjx-container [style*="color: red"], mjx-container [style*="color:red"]').length,
        rendered: document.querySelectorAll('mjx-container').length,
        raw: document.querySelectorAll('.math:not(:has(mjx-container))').length })""")
    assert math["errors"] == 0 and math["red"] == 0, f"MathJax errors: {math}"
    assert math["raw"] == 0, f"math left unrendered: {math}"
    for index in range(page.locator(".optbook-widget").count()):
        widget = page.locator(".optbook-widget").nth(index)
        frame = widget.locator("img.optbook-frame")
        before, alt_before = frame.get_attribute("src"), frame.get_attribute("alt")
        slider = widget.locator("input[type=range]").first
        moved = slider.evaluate("s => { s.value = (+s.value === +s.max) ? s.min : s.max; s.dispatchEvent(new Event('input')); return s.value; }")
        assert frame.get_attribute("src") != before, f"slider {index} on {path} did not change the figure"
        assert frame.get_attribute("alt") != alt_before, f"slider {index} on {path} left the alt text describing another frame"
        readout = widget.locator("output").first.text_content()
        labels = json.loads(slider.get_attribute("data-labels"))
        assert readout == labels[int(moved)]
        assert slider.get_attribute("aria-valuetext") == readout, "a slider must announce its value, not its index"
    for index in range(page.locator(".optbook-live").count()):  # the live toys: drawn, and they respond
        toy = page.locator(".optbook-live").nth(index)
        assert toy.locator("canvas").count() == 2, f"live toy {index} on {path} did not mount"
        readout = toy.locator(".optbook-live-readout")
        before = readout.inner_text()
        assert before, f"live toy {index} on {path} shows no read-out"
        steps = toy.locator("input[type=range]").last
        steps.fill("1000" if steps.input_value() != "1000" else "0")
        assert readout.inner_text() != before, f"live toy {index} on {path} did not respond to its slider"
    assert problems == []
    screenshot(page, path.replace("/", "__").replace(".html", ".png"))
    context.close()


@pytest.mark.parametrize("path", [p for p in pages() if p.startswith("chapters/")])
def test_chapter_launch_links_point_at_its_notebook(browser, site_url, path):
    context, page, _ = open_page(browser, f"{site_url}/{path}")
    links = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.href)")
    notebook = path.replace(".html", ".ipynb")
    binder = [l for l in links if "mybinder.org" in l]
    colab = [l for l in links if "colab.research.google.com" in l]
    assert binder and all(l.endswith(f"urlpath=lab/tree/{notebook}") for l in binder), binder
    assert colab and all(l.endswith(f"/blob/main/{notebook}") for l in colab), colab
    assert (ROOT / notebook).exists()
    assert page.locator("button.btn-launch-thebe, .thebe-launch-button, [onclick*='initThebe']").count() >= 1, "no Live Code button"
    downloads = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.getAttribute('href') || '').filter(h => h.endsWith('.ipynb') && h.includes('_sources'))")
    assert downloads, "no .ipynb download link"
    context.close()


@pytest.mark.parametrize("path", [p for p in pages() if p.startswith("chapters/")])
def test_readable_on_a_phone_and_in_dark_mode(browser, site_url, path):
    context, page, problems = open_page(browser, f"{site_url}/{path}", viewport={"width": 390, "height": 844},
                                        device_scale_factor=2, color_scheme="dark")
    page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; document.documentElement.dataset.mode = 'dark'; }")
    wait_for_mathjax(page)
    assert problems == []
    assert clipped(page) == [], "cut off on a phone"
    panels = page.evaluate("""() => [...document.querySelectorAll('.optbook-widget, .optbook-live')].map(w => {
        const bright = [];  // a light box behind the sliders (their labels are light text in dark mode)
        for (let a = w; a && a.tagName !== 'ARTICLE'; a = a.parentElement) {
          const m = getComputedStyle(a).backgroundColor.match(/[0-9.]+/g).map(Number);
          if ((m.length < 4 || m[3] > 0.1) && (m[0] + m[1] + m[2]) / 3 > 128) bright.push(a.className);
        }
        return bright; }).filter(b => b.length)""")
    assert panels == [], f"interactive figures on a bright panel in dark mode: {panels}"
    screenshot(page, "phone-dark__" + path.replace("/", "__").replace(".html", ".png"))
    context.close()


def test_a_tap_zooms_a_figure_on_a_phone(browser, site_url):
    """Wide figures shrink to a phone's width; a tap shows one at twice the width, scrolling sideways."""
    context, page, problems = open_page(browser, f"{site_url}/chapters/flat_regions.html",
                                        viewport={"width": 390, "height": 844}, device_scale_factor=2)
    image = page.locator(".bd-article figure img.optbook-zoomable").first
    image.scroll_into_view_if_needed()
    before = image.bounding_box()["width"]
    assert before <= 390
    image.click()
    assert image.bounding_box()["width"] >= 1.9 * before
    assert clipped(page) == [], "a zoomed figure must scroll in its own box"
    image.click()
    assert image.bounding_box()["width"] == pytest.approx(before, abs=1)
    frame = page.locator(".optbook-widget img.optbook-frame").first  # a widget's frame too, through slider changes
    frame.scroll_into_view_if_needed()
    before = frame.bounding_box()["width"]
    frame.click()
    page.locator(".optbook-widget input[type=range]").first.evaluate(
        "s => { s.value = s.min; s.dispatchEvent(new Event('input')); }")
    assert frame.bounding_box()["width"] >= 1.9 * before
    assert clipped(page) == []
    frame.click()
    assert frame.bounding_box()["width"] == pytest.approx(before, abs=1)
    assert problems == []
    context.close()


def test_bibliography_lists_the_cited_papers(browser, site_url):
    context, page, _ = open_page(browser, f"{site_url}/bibliography.html")
    text = page.locator("article").inner_text()
    for author in ("Goodfellow", "Dauphin", "Saxe", "Baldi", "Choromanska", "Sontag", "Swirszcz"):
        assert author in text
    context.close()


CLIPPED = """() => {
  // Elements a reader must see whole: out of the screen on either side is a defect, unless the
  // element sits in a box of its own that scrolls sideways and that box fits the screen.
  const W = window.innerWidth, out = [];
  const fits = r => r.left >= -1 && r.right <= W + 1;
  const scrollBox = el => {
    for (let a = el; a && a.tagName !== 'ARTICLE'; a = a.parentElement) {
      const s = getComputedStyle(a);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && fits(a.getBoundingClientRect())) return a;
    }
    return null;
  };
  const sel = 'article mjx-container[display="true"], article table, article img, article .optbook-widget, article .optbook-live canvas, article pre';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || fits(r) || scrollBox(el)) continue;
    out.push(`${el.tagName.toLowerCase()} ${Math.round(r.left)}..${Math.round(r.right)}: ${(el.textContent || el.src || '').slice(0, 40)}`);
  }
  return out;
}"""


def clipped(page) -> list[str]:
    """Equations, tables, figures, widgets and code that stick out of the screen with no way to scroll to them."""
    return page.evaluate(CLIPPED)


@pytest.mark.parametrize("path", pages())
def test_navigation_opens_on_a_phone(browser, site_url, path):
    """Tapping the sidebar toggle shows the table of contents; the page-contents toggle shows the sections."""
    context, page, problems = open_page(browser, f"{site_url}/{path}", viewport={"width": 390, "height": 844},
                                        device_scale_factor=2, is_mobile=True, has_touch=True)
    toc_link = page.locator("nav.bd-docs-nav a.reference", has_text="Local Minima")
    assert not any(toc_link.nth(i).is_visible() for i in range(toc_link.count())), "the TOC should start closed on a phone"
    page.locator(".primary-toggle:visible").first.tap()
    page.wait_for_timeout(400)
    assert any(toc_link.nth(i).is_visible() for i in range(toc_link.count())), "tapping the toggle did not show the TOC"
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    if page.locator(".secondary-toggle:visible").count():
        page.locator(".secondary-toggle:visible").first.tap()
        page.wait_for_timeout(400)
        assert page.locator(".bd-toc-nav a:visible, .page-toc a:visible").count() > 0, "page contents did not open"
    assert problems == []
    context.close()


def test_desktop_sidebar_toggle_collapses_and_restores_the_toc(browser, site_url):
    context, page, _ = open_page(browser, f"{site_url}/chapters/ill_conditioning.html", viewport={"width": 1280, "height": 900})
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator(".primary-toggle:visible").first.click()
    page.wait_for_timeout(400)
    box = sidebar.bounding_box()
    assert not sidebar.is_visible() or box is None or box["x"] + box["width"] <= 1, "the toggle did not collapse the sidebar"
    page.locator(".primary-toggle:visible").first.click()
    page.wait_for_timeout(400)
    assert sidebar.is_visible() and sidebar.bounding_box()["x"] >= 0
    context.close()


@pytest.mark.parametrize("path", pages())
def test_every_image_has_alt_text_that_describes_it(browser, site_url, path):
    context, page, _ = open_page(browser, f"{site_url}/{path}")
    alts = page.evaluate("() => [...document.querySelectorAll('article img')].map(i => i.getAttribute('alt') || '')")
    bad = [a for a in alts if len(a.split()) < 3 or re.search(r"\.(png|svg|jpe?g)$", a)]
    assert bad == [], f"alt text that is empty or a file name: {bad[:3]}"
    context.close()
