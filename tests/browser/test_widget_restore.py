"""A saved notebook with widget state reopens in JupyterLab without errors.

The notebook is executed once with its widget state stored in its metadata (as
JupyterLab's *Save Widget State Automatically* or ``nbclient --store-widget-state``
do), then opened in JupyterLab (the one tests/browser share) by a fresh page: the kernel
there knows none of the widgets, so every view is restored from the saved state alone.
Before the fix the task graph (an anywidget) said "[anywidget] Failed to initialize model"
and drew nothing; now it shows the saved run (its tasks, all done) and the plain ipywidget
beside it its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.sign import NotebookNotary
from playwright.sync_api import expect

from tests.browser import screenshot, wait_for_graph

pytestmark = pytest.mark.timeout(300)

TASKS = 4  # three squares and their sum
CELL = """\
import ipywidgets as widgets
import eflows_kernel
from eflows_kernel.widgets import replay
from eflows_kernel.model import compss_wait_on, task

@task(returns=1)
def square(x):
    return x * x

@task(returns=1)
def total(values):
    return sum(values)

engine = eflows_kernel.start(n_workers=1, event_log="run.jsonl")
print("total", compss_wait_on(total([square(i) for i in range(3)])))
eflows_kernel.stop()
display(widgets.Label("saved label"), replay("run.jsonl"))
"""


def saved_notebook(path: Path, data_dir: Path) -> Path:
    """The notebook run once, outputs and widget state kept, and trusted (as a user saves
    it: JupyterLab signs what it saves, so its outputs' scripts and widgets may run)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells.append(nbformat.v4.new_code_cell(CELL))
    NotebookClient(notebook, timeout=180, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    models = state["state"].values()
    names = [m["model_name"] for m in models]
    assert names.count("AnyModel") == 2, names
    data_dir.mkdir(parents=True, exist_ok=True)
    NotebookNotary(data_dir=str(data_dir)).sign(notebook)
    nbformat.write(notebook, path)
    return path


def test_saved_widget_state_restores_graph_and_widgets(lab_folder: Any, page: Any) -> None:
    root = lab_folder.path
    # signed with the shared server's notary, so that server trusts it
    saved_notebook(root / "saved.ipynb", lab_folder.data_dir)
    (root / "run.jsonl").unlink()  # the view must come from the saved state, not the log
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    page.goto(lab_folder.lab("saved.ipynb"))
    expect(page.locator(".jp-Notebook .widget-label", has_text="saved label")).to_be_visible(
        timeout=120_000)
    # Two graphs: the cell's own live view (start() turns it on) and the replay.
    expect(page.locator(".eflows-graph")).to_have_count(2, timeout=60_000)
    for index in (0, 1):
        graph = wait_for_graph(page, index, status="done", done=TASKS, timeout=60_000)
        assert graph["total"] == TASKS, graph
    expect(page.locator(".eflows-graph canvas").first).to_be_visible()
    page.wait_for_timeout(1500)  # late errors (the kernel connects after the restore)
    screenshot(page, "restored-notebook")
    errors = [m for m in console if "Failed to initialize model" in m
              or "[pageerror]" in m or "Could not create a view" in m]
    assert not errors, "\n".join(console)
