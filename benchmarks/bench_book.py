"""The book on the build machine: build times, each notebook's execution time, widget redraw latency.

Full mode (``run()``) builds the whole book twice into a temporary folder with the same script as
``make book`` (`scripts/build_book.py`): a cold build (empty cache: every notebook executes) and
a cached rebuild (fresh Sphinx output, notebooks taken from the cache, i.e. what a reader of the
source gets after a clean checkout with the cache kept). Quick mode (``run(quick=True)``) builds
nothing: it reads an existing ``_build`` in the repository, or reports that there is none.

* Notebook execution times come from jupyter-cache, which myst-nb uses for
  ``execute_notebooks: cache``: each cached notebook's record carries ``execution_seconds`` (the
  same figure ``{nb-exec-table}`` shows). The latest record per source file is used.
* Widget redraw latency: every kernel-free interactive figure in the built HTML is a
  ``<div class="optbook-widget" ... data-render-ms="[...]">`` whose list holds the milliseconds each
  frame took to draw (plot + PNG encoding: one live redraw). All frames of all pages are pooled.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import pin_threads, row, timed

BENCH = "book"
ROOT = Path(__file__).resolve().parent.parent
BUILD_BUDGET_S = 300  # the whole cold build
REDRAW_BUDGET_MS = 100  # median widget redraw
# Each chapter's execution budget in seconds (the issues' budgets); pages of one section share one.
BUDGETS = {
    "8.2.1 ill_conditioning": (("ill_conditioning",), 120),
    "8.2.2 local_minima + many_minima": (("local_minima", "many_minima"), 180),
    "8.2.3 saddle_points + linear_networks + flat_regions": (("saddle_points", "linear_networks", "flat_regions"), 180),
    "diagnosing": (("diagnosing",), 180),
}
_WIDGET = re.compile(r'<div class="optbook-widget"[^>]*?data-render-ms="([^"]*)"')


def widget_render_ms(html_dir: Path) -> dict[str, list[list[float]]]:
    """Per page (path relative to ``html_dir``), the frame draw times in ms of each widget on it."""
    pages = {}
    for page in sorted(Path(html_dir).rglob("*.html")):
        widgets = [json.loads(html.unescape(m)) for m in _WIDGET.findall(page.read_text(errors="replace"))]
        if widgets:
            pages[page.relative_to(html_dir).as_posix()] = [[float(v) for v in w] for w in widgets]
    return pages


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between order statistics."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def execution_seconds(cache_dir: Path) -> dict[str, float]:
    """Seconds each notebook took in its latest execution, keyed by the source's file stem."""
    from jupyter_cache import get_cache

    latest: dict[str, tuple] = {}
    for record in get_cache(str(cache_dir)).list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is None:
            continue
        stem = Path(record.uri).stem
        if stem not in latest or record.created > latest[stem][0]:
            latest[stem] = (record.created, float(seconds))
    return {stem: seconds for stem, (_, seconds) in latest.items()}


def latency_rows(html_dir: Path, source: str) -> list[dict]:
    """Rows for the widget redraw latency read from a built site."""
    pages = widget_render_ms(html_dir)
    frames = [ms for widgets in pages.values() for widget in widgets for ms in widget]
    if not frames:
        return [row(BENCH, "widget redraw", "frames found", 0, "", notes=f"no optbook widget in {source}")]
    n_widgets = sum(len(widgets) for widgets in pages.values())
    median = statistics.median(frames)
    per_page = ", ".join(
        f"{Path(page).stem} {statistics.median([ms for w in widgets for ms in w]):.0f}" for page, widgets in pages.items()
    )
    case = f"{n_widgets} widgets, {len(frames)} frames ({source})"
    return [
        row(BENCH, case, "widget redraw: median", median, "ms", f"< {REDRAW_BUDGET_MS}", median < REDRAW_BUDGET_MS,
            f"update + blit + PNG per frame (a BlitPlot's first frame of each scene also builds its figure), timed while the page was built; page medians: {per_page}"),
        row(BENCH, case, "widget redraw: 95th percentile", percentile(frames, 95), "ms"),
        row(BENCH, case, "widget redraw: slowest frame", max(frames), "ms"),
    ]


def execution_rows(cache_dir: Path, source: str) -> list[dict]:
    """Rows for each notebook's execution time and each chapter's total against its budget."""
    seconds = execution_seconds(cache_dir)
    if not seconds:
        return [row(BENCH, "notebooks", "execution times", "none", "", notes=f"no executed notebook in {source}")]
    rows = []
    for chapter, (stems, budget) in BUDGETS.items():
        found = {stem: seconds[stem] for stem in stems if stem in seconds}
        if not found:
            rows.append(row(BENCH, chapter, "execution time", "not executed", "s", f"< {budget}", None,
                            f"no cache record in {source}"))
            continue
        total = sum(found.values())
        parts = ", ".join(f"{stem} {value:.1f} s" for stem, value in found.items()) if len(stems) > 1 else ""
        missing = [stem for stem in stems if stem not in found]
        notes = "; ".join(filter(None, [parts, f"missing: {', '.join(missing)}" if missing else "", source]))
        rows.append(row(BENCH, chapter, "execution time", total, "s", f"< {budget}", total < budget, notes))
    other = sorted(set(seconds) - {stem for stems, _ in BUDGETS.values() for stem in stems})
    for stem in other:
        rows.append(row(BENCH, stem, "execution time", seconds[stem], "s", notes=source))
    return rows


def _build_module():
    """scripts/build_book.py, imported by name (its worker processes must be able to import it too)."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import build_book

    return build_book


def build_rows(work: Path) -> tuple[list[dict], Path | None]:
    """Cold build and cached rebuild into ``work``/_build; returns rows and the built build folder."""
    build = _build_module().build
    build_dir = work / "_build"
    try:
        cold, _ = timed(lambda: build(build_dir))
    except (Exception, SystemExit) as error:  # a failed build is a result to report, not a crash
        return [row(BENCH, "whole book", "cold build", "failed", "s", f"< {BUILD_BUDGET_S}", False, str(error))], None
    for part in ("html", ".doctrees", "jupyter_execute"):
        shutil.rmtree(build_dir / part, ignore_errors=True)
    try:
        cached, _ = timed(lambda: build(build_dir))
        cached_row = row(BENCH, "whole book", "cached rebuild", cached, "s", notes="one run; fresh HTML, notebooks from the cache")
    except (Exception, SystemExit) as error:
        cached_row = row(BENCH, "whole book", "cached rebuild", "failed", "s", "", False, str(error))
    return [
        row(BENCH, "whole book", "cold build", cold, "s", f"< {BUILD_BUDGET_S}", cold < BUILD_BUDGET_S,
            "one run; empty cache: every notebook executes (scripts/build_book.py)"),
        cached_row,
    ], build_dir


def run(quick: bool = False) -> list[dict]:
    """Build the book (full mode) or read the existing build (quick mode) and report its figures."""
    pin_threads()
    if quick:
        build_dir = ROOT / "_build"
        if not (build_dir / "html").is_dir():
            return [row(BENCH, "whole book", "build", "skipped", "", notes="quick mode builds nothing and no _build/html exists")]
        source = "existing _build, not rebuilt"
        return latency_rows(build_dir / "html", source) + execution_rows(build_dir / ".jupyter_cache", source)
    with tempfile.TemporaryDirectory(prefix="optbook-bench-") as tmp:
        rows, build_dir = build_rows(Path(tmp))
        if build_dir is not None:
            source = "this cold build"
            rows += execution_rows(build_dir / ".jupyter_cache", source) + latency_rows(build_dir / "html", source)
    return rows
