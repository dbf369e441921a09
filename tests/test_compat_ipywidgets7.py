"""The live widgets under ipywidgets 7 (Colab's version) as well as 8, in a real Jupyter kernel."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
IPYWIDGETS7 = ROOT / "tests" / ".ipywidgets7"

CELL = """
import ipywidgets, matplotlib.pyplot as plt
import optbook as ob

calls = []
def draw(step, method):
    calls.append((step, method))
    if step > 1:
        raise OverflowError("diverged")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, step])
    return fig

fig = ob.interactive_figure(draw, {"step": [0.1, 0.5, 2.0], "method": ["gd", "newton"]})
assert fig.widget is not None, "no live view in a kernel"
slider, dropdown = fig.widget.children[0].children
slider.value = 2.0          # a setting that raises: the live view must not show a traceback
dropdown.value = "newton"
print(ipywidgets.__version__, calls[-1])
fig
"""


@pytest.mark.parametrize("version", ["7", "8"])
def test_live_widget_in_a_kernel(version, monkeypatch):
    if version == "7":
        if not (IPYWIDGETS7 / "ipywidgets").exists():
            pytest.fail("ipywidgets 7 side folder missing: run the README's test command (`make test`)")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(IPYWIDGETS7), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert text.startswith(f"{version}.") and "(2.0, 'newton')" in text
    bundle = next(o for o in outputs if o.output_type == "execute_result")["data"]
    assert "application/vnd.jupyter.widget-view+json" in bundle and "optbook-widget" in bundle["text/html"]
    assert not any(o.output_type == "error" for o in outputs)
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(model["model_name"] == "SelectionSliderModel" for model in state.values())
