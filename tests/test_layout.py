"""The library's architecture, checked: a core, a figures layer, one package per page.

- the core imports neither the figures layer nor a page package, and a page package imports no
  other page's; no import cycles;
- only `optbook.figures` imports matplotlib;
- `optbook.__all__` names only what optbook defines (nothing foreign such as torch leaks);
- no function has more than 60 lines of code (its docstring aside);
- the core's examples are doctests (run by the suite through --doctest-modules), at least 20.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "lib" / "optbook"
CORE = ["_validate", "params", "losses", "curvature", "spectrum", "estimates", "batched", "runs", "training", "landscape",
        "monitor", "diagnose", "data", "models"]
PAGES = ["ill_conditioning", "local_minima", "many_minima", "saddle_points", "linear_networks", "flat_regions",
         "diagnosing"]
OPTIONAL = ["integrations"]  # the extras (TensorBoard, Lightning): core-level, imported only on demand


def test_every_module_has_a_layer():
    """A new module is placed on purpose: a core module, a page package, the figures layer or an extra."""
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert modules == set(CORE), f"core modules not listed (or gone): {modules ^ set(CORE)}"
    assert packages <= {"figures", *PAGES, *OPTIONAL}, packages - {"figures", *PAGES, *OPTIONAL}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The optbook modules (and names in them) that a file imports, resolved to absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


FILES = sorted(ROOT.rglob("*.py"))
GRAPH = {_module_name(p): _imports(p) for p in FILES}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    return "figures" if parts[1] == "figures" else ("page:" + parts[1] if parts[1] in PAGES else "core")


def test_core_imports_no_page_and_no_figures_and_pages_import_no_other_page():
    for module, targets in GRAPH.items():
        layer = _layer(module)
        for target in (t for t in targets if t.startswith("optbook.") and t in GRAPH):
            other = _layer(target)
            if layer == "core":
                assert other == "core", f"{module} (core) imports {target} ({other})"
            if layer.startswith("page:"):
                assert other in ("core", "figures", layer), f"{module} imports another page's {target}"


def test_no_import_cycles():
    edges = {m: {t for t in ts if t in GRAPH and t != m and t != "optbook"} for m, ts in GRAPH.items()}

    def visit(node, stack):
        for nxt in edges.get(node, ()):
            assert nxt not in stack, f"import cycle: {' -> '.join(stack[stack.index(nxt):] + [nxt])}"
            visit(nxt, stack + [nxt])

    for module in edges:
        if module != "optbook":
            visit(module, [module])


def test_only_the_figures_layer_imports_matplotlib():
    users = [m for m, targets in GRAPH.items() if any(t.split(".")[0] == "matplotlib" for t in targets)]
    assert users and all(_layer(m) == "figures" for m in users), users


def test_public_namespace_is_the_documented_core():
    ob = importlib.import_module("optbook")
    assert 20 <= len(ob.__all__) <= 100
    for name in ob.__all__:
        value = getattr(ob, name)
        home = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "optbook")
        assert home.startswith("optbook"), f"optbook.{name} comes from {home}"
    public = [n for n in dir(ob) if not n.startswith("_") and not isinstance(getattr(ob, n), types.ModuleType)]
    assert set(public) <= set(ob.__all__), set(public) - set(ob.__all__)


@pytest.mark.parametrize("path", FILES, ids=lambda p: _module_name(p))
def test_no_function_over_60_lines_of_code(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body, length = node.body, node.end_lineno - node.lineno + 1
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                length -= body[0].end_lineno - body[0].lineno + 1  # the docstring does not count
            assert length <= 60, f"{node.name} has {length} lines of code"


def test_the_core_has_at_least_20_doctest_examples():
    finder = doctest.DocTestFinder()
    count = 0
    for name in CORE:
        module = importlib.import_module(f"optbook.{name}")
        count += sum(1 for test in finder.find(module) if test.examples)
    assert count >= 20, count
