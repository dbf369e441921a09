"""Smoke tests of the benchmarks: each runs at its smallest size and returns well-formed rows.

Timings are not asserted (the machine is shared); what the benchmarks check about values (the
library against dense oracles, against the peers at the same points, batched against looped
training) is. The peers (benchmarks/requirements.txt) are not installed in CI: their comparisons
are skipped there, the library side still runs.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_book, run as bench_run  # noqa: E402
from benchmarks.timing import minor_page_faults  # noqa: E402

KEYS = {"benchmark", "case", "metric", "value", "unit", "target", "ok"}


def _rows(name: str) -> list[dict]:
    return importlib.import_module(f"benchmarks.bench_{name}").run(quick=True)


def _check_contract(rows: list[dict]) -> None:
    assert rows, "a benchmark must return at least one row"
    for r in rows:
        assert KEYS <= set(r), r
        assert r["ok"] in (True, False, None), r
        assert isinstance(r["target"], str) and isinstance(r["unit"], str), r
    json.dumps(rows)  # the table is written as JSON


def _by_metric(rows: list[dict], text: str) -> list[dict]:
    found = [r for r in rows if text in r["metric"]]
    assert found, f"no row whose metric contains {text!r}"
    return found


@pytest.fixture(scope="module")
def hvp_rows() -> list[dict]:
    return _rows("hvp")


@pytest.fixture(scope="module")
def landscape_rows() -> list[dict]:
    return _rows("landscape")


@pytest.fixture(scope="module")
def restarts_rows() -> list[dict]:
    return _rows("restarts")


def test_hvp_library_side(hvp_rows):
    _check_contract(hvp_rows)
    assert len(_by_metric(hvp_rows, "ob.hvp / gradient")) == 3  # MLP, CNN, the large MLP
    for metric in ("top-5: ob.lanczos", "lambda_min: ob.lanczos", "trace: ob.hutchinson_trace"):
        assert all(r["ok"] for r in _by_metric(hvp_rows, metric) if r["ok"] is not None), metric


def test_page_faults_are_counted_for_fresh_memory():
    pytest.importorskip("resource")
    faults = minor_page_faults(lambda: torch.ones(16_000_000))  # 64 MB: always freshly mapped, then touched
    assert faults >= 32  # 15,625 faults with 4 kB pages; 32 even if the kernel hands out 2 MB huge pages
    assert minor_page_faults(lambda: None) < 8


def test_hvp_against_pyhessian(hvp_rows):
    pytest.importorskip("pyhessian")
    (agree,) = _by_metric(hvp_rows, "relative difference lib vs PyHessian")
    assert agree["ok"], agree
    (fewer,) = _by_metric(hvp_rows, "top eigenvalue: HVPs PyHessian / lib")
    assert fewer["value"] > 1


def test_landscape_library_side(landscape_rows):
    _check_contract(landscape_rows)
    oracle = _by_metric(landscape_rows, "float64 direct evaluation")
    assert len(oracle) == 2 and all(r["ok"] for r in oracle)


def test_landscape_against_loss_landscapes(landscape_rows):
    pytest.importorskip("loss_landscapes")
    same = _by_metric(landscape_rows, "same points")
    assert len(same) == 2 and all(r["ok"] for r in same), same


def test_restarts_same_results(restarts_rows):
    _check_contract(restarts_rows)
    assert all(r["ok"] for r in _by_metric(restarts_rows, "final parameters"))


def test_other_benchmarks_keep_the_contract():
    """Modules written by others (e.g. bench_monitor) must return rows of the same shape."""
    others = [n for n in bench_run.discover() if n not in ("hvp", "landscape", "restarts", "book")]
    for name in others:
        _check_contract(_rows(name))


def _fake_site(tmp_path: Path) -> Path:
    html_dir = tmp_path / "_build" / "html"
    (html_dir / "chapters").mkdir(parents=True)
    widget = '<div class="optbook-widget" id="optbook-{i}" data-render-ms="{ms}">\n<img src="x"></div>'
    (html_dir / "chapters" / "a.html").write_text(
        "<html>" + widget.format(i=1, ms=json.dumps([10.0, 20.0, 30.0])) + widget.format(i=2, ms="[40.0]") + "</html>")
    (html_dir / "chapters" / "b.html").write_text("<html>" + widget.format(i=3, ms="[50.5, 1000]") + "</html>")
    (html_dir / "index.html").write_text("<html>no widget here</html>")
    return html_dir


def test_book_widget_latency_parsed_from_html(tmp_path):
    html_dir = _fake_site(tmp_path)
    pages = bench_book.widget_render_ms(html_dir)
    assert pages == {"chapters/a.html": [[10.0, 20.0, 30.0], [40.0]], "chapters/b.html": [[50.5, 1000.0]]}
    rows = bench_book.latency_rows(html_dir, "fake")
    _check_contract(rows)
    median, p95, slowest = rows
    assert median["value"] == 35.0 and median["ok"] is True
    assert p95["value"] == pytest.approx(bench_book.percentile([10, 20, 30, 40, 50.5, 1000], 95))
    assert slowest["value"] == 1000.0
    assert bench_book.percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_book_execution_times_from_jupyter_cache(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    jupyter_cache = pytest.importorskip("jupyter_cache")
    cache = jupyter_cache.get_cache(str(tmp_path / ".jupyter_cache"))
    for stem, seconds in [("ill_conditioning", 150.0), ("saddle_points", 50.0), ("flat_regions", 60.0),
                          ("extra_page", 3.0)]:
        path = tmp_path / f"{stem}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = {stem!r}")]), str(path))
        cache.cache_notebook_file(str(path), uri=str(path), data={"execution_seconds": seconds},
                                  check_validity=False)
    times = bench_book.execution_seconds(tmp_path / ".jupyter_cache")
    assert times == {"ill_conditioning": 150.0, "saddle_points": 50.0, "flat_regions": 60.0, "extra_page": 3.0}
    rows = {r["case"]: r for r in bench_book.execution_rows(tmp_path / ".jupyter_cache", "fake")}
    assert rows["8.2.1 ill_conditioning"]["ok"] is False  # 150 s against a 120 s budget
    section = rows["8.2.3 saddle_points + linear_networks + flat_regions"]
    assert section["value"] == 110.0 and section["ok"] is True and "missing: linear_networks" in section["notes"]
    assert rows["8.2.2 local_minima + many_minima"]["value"] == "not executed"
    assert rows["extra_page"]["value"] == 3.0


def test_book_quick_mode_never_builds(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_book, "build_rows", lambda work: pytest.fail("quick mode must not build"))
    monkeypatch.setattr(bench_book, "ROOT", tmp_path)
    (row,) = bench_book.run(quick=True)
    assert row["value"] == "skipped"
    _fake_site(tmp_path)
    rows = bench_book.run(quick=True)
    _check_contract(rows)
    assert any(r["metric"] == "widget redraw: median" for r in rows)


def test_book_full_mode_builds_cold_then_cached(tmp_path, monkeypatch):
    """The build path, with a stand-in for scripts/build_book.build (the real one takes minutes)."""
    calls = []

    def fake_build(build_dir: Path) -> Path:
        calls.append(sorted(p.name for p in build_dir.iterdir()) if build_dir.exists() else [])
        _fake_site(build_dir.parent)
        (build_dir / ".doctrees").mkdir(exist_ok=True)
        return build_dir / "html"

    monkeypatch.setattr(bench_book, "_build_module", lambda: type("M", (), {"build": staticmethod(fake_build)}))
    rows = bench_book.run(quick=False)
    _check_contract(rows)
    assert calls == [[], []]  # cold: nothing there; cached rebuild: html and doctrees removed first
    metrics = {r["metric"]: r for r in rows}
    assert metrics["cold build"]["ok"] is True and isinstance(metrics["cached rebuild"]["value"], float)
    assert metrics["widget redraw: median"]["value"] == 35.0

    def failing_build(build_dir: Path) -> Path:
        raise SystemExit("book build failed (exit 1; 1 execution report(s))")

    monkeypatch.setattr(bench_book, "_build_module", lambda: type("M", (), {"build": staticmethod(failing_build)}))
    (failed,) = bench_book.run(quick=False)
    assert failed["value"] == "failed" and failed["ok"] is False and "execution report" in failed["notes"]


def test_run_writes_table_json_and_book_page(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(bench_run, "PAGE", tmp_path / "performance.md")
    rows = [
        {"benchmark": "hvp", "case": "a | b", "metric": "ratio", "value": 2.5, "unit": "x", "target": "<= 3",
         "ok": True},
        {"benchmark": "hvp", "case": "a | b", "metric": "time", "value": 12.345, "unit": "ms", "target": "",
         "ok": None, "notes": "costs $5"},
        {"benchmark": "book", "case": "c", "metric": "n", "value": "skipped", "unit": "", "target": "", "ok": False},
    ]
    report = {"generated": "now", "command": "python benchmarks/run.py", "quick": True, "threads": 1,
              "machine": {"cpu": "CPU", "cores": 2, "platform": "linux"}, "versions": {"python": "3", "torch": "2"},
              "benchmarks": {}, "rows": rows, "duration_s": 1.0}
    bench_run.write(report)
    page = (tmp_path / "performance.md").read_text()
    assert page.startswith("# Performance\n")
    assert "a \\| b" in page and "2.5x" in page and "12.35 ms" in page and "**no**" in page and "\\$5" in page
    assert json.loads((tmp_path / "results" / "latest.json").read_text())["rows"] == rows
    assert "| hvp | a \\| b | ratio |" in (tmp_path / "results" / "latest.md").read_text()
    assert "|  |  | time |" in page  # a repeated case is left blank
    targets, every = page.split("### Targets")[1].split("### Every figure, with notes")
    assert "| hvp | a \\| b | ratio | 2.5x | <= 3 | yes |" in targets.splitlines()  # narrow: no notes column
    assert "time" not in targets and "costs" in every
