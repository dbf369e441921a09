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


def test_bibliography_labels_match_the_citations_in_the_text(built_site):
    """The text cites "Pearlmutter, 1994"; the bibliography entry it links to carries that label."""
    from bs4 import BeautifulSoup

    bib = BeautifulSoup((built_site / "bibliography.html").read_text(), "html.parser")
    labels = {div["id"]: div.find(class_="label").get_text(" ", strip=True) for div in bib.select("div.citation")}
    words = lambda text: set(re.findall(r"\w+", text.lower()))
    checked = 0
    for source in CHAPTERS:
        page = BeautifulSoup((built_site / "chapters" / f"{source.stem}.html").read_text(), "html.parser")
        for link in page.select('a[href*="bibliography.html#"]'):
            label = labels[link["href"].split("#")[-1]]
            assert words(link.get_text(" ")) <= words(label), f"{source.stem}: cited as {link.get_text()!r}, listed as {label!r}"
            checked += 1
    assert checked > 20


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


# ---- what the reader meets: macros in the notebooks, no raw tables, no stray values ----

MACROS = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]


def undefined_macros(notebook_text: str) -> list[str]:
    """The book's macros (_config.yml) that a notebook uses without defining them itself."""
    used = [m for m in MACROS if re.search(r"\\" + m + r"(?![A-Za-z])", notebook_text)]
    return [m for m in used if not re.search(r"\\(?:newcommand|renewcommand|def)\s*\{?\\" + m + r"(?![A-Za-z])", notebook_text)]


def test_macro_check_catches_an_undefined_macro():
    assert undefined_macros(r"$\vtheta$ and $\mH\vg$") == ["vtheta", "vg", "mH"]
    assert undefined_macros("$$\\newcommand{\\vtheta}{x}$$ $\\vtheta$") == []


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_notebook_defines_the_math_macros_it_uses(source):
    """Colab, Binder and Jupyter know nothing of _config.yml: each notebook carries the definitions."""
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert undefined_macros(text) == []
    for name, body in MACROS.items():  # the same definitions as the website's
        if re.search(r"\\" + name + r"(?![A-Za-z])", text):
            assert f"\\newcommand{{\\{name}}}{{{body}}}" in text, f"{source.name}: \\{name} differs from _config.yml"


_BARE_VALUE = re.compile(r"^\s*(?:[-+]?[\d.]+(?:e[-+]?\d+)?|\(.*\)|\[.*\]|tensor\(.*|array\(.*|<(?:Figure|matplotlib).*>|"
                         r"np\.float\d+\(.*\)|True|False|None|\{.*\})\s*$", re.S)


def page_defects(html: str) -> list[str]:
    """Markdown tables printed as raw pipes, and cells whose output is a bare value (a stray repr)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    defects = []
    for p in soup.find_all("p"):
        text = p.get_text()
        if text.lstrip().startswith("|") and text.count("|") >= 4:
            defects.append(f"raw table: {text[:60]!r}")
    for out in soup.select("div.output.text_plain, div.output.text_html pre"):
        text = out.get_text()
        if _BARE_VALUE.match(text):
            defects.append(f"bare value: {text.strip()[:60]!r}")
    return defects


def test_page_check_catches_raw_tables_and_bare_values():
    raw = "<p>| a | b |\n|---|---|\n| 1 | 2 |</p>"
    bare = '<div class="output text_plain highlight-myst-ansi notranslate"><div class="highlight"><pre>1.9318</pre></div></div>'
    fig = '<div class="output text_plain"><pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre></div>'
    fine = "<table><tr><td>1</td></tr></table><p>a | b</p>"
    assert len(page_defects(raw)) == 1 and len(page_defects(bare)) == 1 and len(page_defects(fig)) == 1
    assert page_defects(fine) == []


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_page_has_no_raw_tables_or_bare_values(built_site, source):
    assert page_defects((built_site / "chapters" / f"{source.stem}.html").read_text()) == []


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_objectives_exercises_with_hidden_solutions_and_a_summary(built_site, source):
    from bs4 import BeautifulSoup

    article = BeautifulSoup((built_site / "chapters" / f"{source.stem}.html").read_text(), "html.parser").find("article")
    exercises = article.select("div.exercise")
    solutions = article.select("div.solution")
    assert len(exercises) >= 4, f"{source.stem}: {len(exercises)} exercises"
    assert len(solutions) >= len(exercises), f"{source.stem}: an exercise without a solution"
    assert all("dropdown" in s.get("class", []) for s in solutions), "solutions must be hidden until clicked"
    assert all(len(s.get_text(" ", strip=True)) > 120 for s in solutions), "a solution too short to be worked"
    text = article.get_text(" ")
    assert "What you will be able to do" in text, "no learning objectives"
    headings = [re.sub(r"^[\d.]+\s*", "", h.get_text(strip=True).rstrip("#").strip())  # "2.7. Summary": numbered toc
                for h in article.find_all(["h2", "h3"])]
    assert "Summary" in headings, "no summary"
