"""The book as a whole: notebooks committed clean and in sync, the Colab cell, Binder, the build."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from unittest import mock

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return files


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    assert {f"chapters/{p.stem}" for p in CHAPTERS} <= set(listed)
    for entry in listed:
        assert (ROOT / f"{entry}.md").exists(), entry


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_paired_notebook_is_in_sync_and_has_no_outputs(source):
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "run `make notebooks` on a clean source"
    assert "widgets" not in notebook.metadata
    expected = jupytext.read(source)
    assert [(c.cell_type, c.source) for c in notebook.cells] == [(c.cell_type, c.source) for c in expected.cells], (
        f"{source.name} and its .ipynb differ: run `make notebooks`"
    )


def first_code_cell(source: Path) -> str:
    return next(c.source for c in jupytext.read(source).cells if c.cell_type == "code")


def test_every_chapter_opens_with_the_same_colab_cell_pointing_at_this_repository():
    cells = {first_code_cell(p) for p in CHAPTERS}
    assert len(cells) == 1
    cell = cells.pop()
    url = CONFIG["repository"]["url"]
    assert f"git+{url}@{CONFIG['repository']['branch']}#subdirectory=lib" in cell


def run_colab_cell(found: bool) -> list:
    """Execute the first cell with the import lookup faked; return the pip commands it ran."""
    cell = first_code_cell(CHAPTERS[0])
    spec = object() if found else None
    with mock.patch("importlib.util.find_spec", return_value=spec), mock.patch("subprocess.run") as run:
        exec(compile(cell, "colab-cell", "exec"), {})
    return [call.args[0] for call in run.call_args_list]


def test_colab_cell_installs_nothing_when_the_library_imports():
    assert run_colab_cell(found=True) == []


def test_colab_cell_builds_the_right_install_command_when_it_does_not():
    (command,) = run_colab_cell(found=False)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    requirement = command[-1]
    assert [a for a in command[4:] if not a.startswith("-")] == [requirement], "installs only the helper library"
    assert requirement.startswith("optbook @ git+https://github.com/")
    assert requirement.endswith("#subdirectory=lib")


def test_library_dependencies_are_loose_and_leave_colab_alone():
    project = tomllib.loads((ROOT / "lib" / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert not any("==" in d for d in deps)
    assert not any(re.match(r"torch\b", d) for d in deps), "Colab brings its own torch"
    ipywidgets = next(d for d in deps if d.startswith("ipywidgets"))
    assert ">=7" in ipywidgets and "<9" in ipywidgets
    assert project["requires-python"] == ">=3.10"


def test_binder_config_parses_and_uses_cpu_only_torch():
    lines = [l.strip() for l in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    lines = [l for l in lines if l and not l.startswith("#")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    torch_pin = next(l for l in lines if l.startswith("torch"))
    assert torch_pin.endswith("+cpu")
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111 and "pip install" in post_build.read_text()
    subprocess.run(["bash", "-n", str(post_build)], check=True)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    ci = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l and not l.startswith(("#", "set ", "cd "))]
    assert ci == ["make test"]


# ---- the build (executes every notebook once per test run; the browser tests reuse it) ----

def test_book_builds_with_warnings_as_errors(built_site):
    assert (built_site / "index.html").exists()
    assert not (built_site / "reports").exists()
    for entry in toc_files():
        assert (built_site / f"{entry}.html").exists(), entry


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_pages_have_figures_and_resolved_references(built_site, source):
    page = (built_site / "chapters" / f"{source.stem}.html").read_text()
    assert "_images/" in page or 'src="data:image/png' in page, "a chapter without a figure"
    assert "???" not in page, "an unresolved {numref} or glue"
    assert "Traceback (most recent call last)" not in page
    assert not re.search(r'class="[^"]*\berror\b', page)


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_numbered_captioned_and_referred_to(built_site, source):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((built_site / "chapters" / f"{source.stem}.html").read_text(), "html.parser")
    article = soup.find("article")
    referenced = {a["href"].split("#")[-1] for a in article.find_all("a", href=True) if "#" in a["href"]}
    for figure in article.find_all("figure"):
        caption = figure.find("figcaption")
        assert caption is not None and caption.find(class_="caption-number"), f"unnumbered figure {figure.get('id')}"
        assert len(caption.get_text(strip=True)) > 20, f"figure {figure.get('id')} has no real caption"
        assert figure.get("id") in referenced, f"figure {figure.get('id')} is never referred to in the text"


def bib_titles() -> dict[str, str]:
    """Citation key -> title, read from references.bib (braces dropped)."""
    text = (ROOT / "references.bib").read_text()
    entries = re.findall(r"@\w+\{([^,]+),(.*?)\n\}", text, re.S)
    return {key.strip(): re.sub(r"[{}]", "", re.search(r"title\s*=\s*\{(.*?)\},?\n", body, re.S).group(1))
            for key, body in entries}


def test_bibliography_and_citations_resolve(built_site):
    from bs4 import BeautifulSoup

    listed = BeautifulSoup((built_site / "bibliography.html").read_text(), "html.parser").get_text(" ")
    words = lambda text: " ".join(re.findall(r"[a-z0-9]+", text.lower()))
    listed = words(listed)
    titles = bib_titles()
    for source in [*CHAPTERS, ROOT / "intro.md"]:
        for group in re.findall(r"\{cite[:a-z]*\}`([^`]+)`", source.read_text()):
            for key in (k.strip() for k in group.split(",")):
                assert key in titles, f"{key} cited in {source.name} is not in references.bib"
                assert words(titles[key])[:40] in listed, f"{key} is not in the bibliography page"


def _fake_build(monkeypatch, build_dir: Path, returncode: int) -> list[str]:
    """Stub out execution and jupyter-book in scripts/build_book.build; return what survived of _build."""
    import build_book

    monkeypatch.setattr(build_book, "prime_cache", lambda _: None)
    monkeypatch.setattr(build_book.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, returncode))
    for part in (".jupyter_cache", ".doctrees", "html", "jupyter_execute"):
        (build_dir / part).mkdir(parents=True, exist_ok=True)
        (build_dir / part / "kept").touch()
    try:
        build_book.build(build_dir)
    except SystemExit:
        assert returncode != 0
    return sorted(p.parent.name for p in build_dir.glob("*/kept"))


def test_build_script_never_serves_stale_pages(monkeypatch, tmp_path):
    import build_book

    build_dir = tmp_path / "_build"
    build_dir.mkdir()
    everything = [".doctrees", ".jupyter_cache", "html", "jupyter_execute"]
    assert _fake_build(monkeypatch, build_dir, 0) == []  # a first build starts from nothing
    assert _fake_build(monkeypatch, build_dir, 0) == everything  # same library, last build fine: reuse all
    assert _fake_build(monkeypatch, build_dir, 1) == everything  # this one fails ...
    assert _fake_build(monkeypatch, build_dir, 0) == [".jupyter_cache"]  # ... so pages are read again
    monkeypatch.setattr(build_book, "environment_hash", lambda: "a changed library")
    assert _fake_build(monkeypatch, build_dir, 0) == []  # new library: new outputs, new pages
