"""The task graph in JupyterLab (dark theme), used as a person would: hostile names stay
text, the keyboard reaches the failed task, search, filters, grouping and drill-down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.browser import graphs, screenshot, wait_for_graph

pytestmark = pytest.mark.timeout(300)

HOSTILE = "<img src=x onerror=window.__xss=1>"
CELL = f"""
import time
from pycompss.api.task import task
from pycompss.api.api import compss_wait_on

def hostile(x):
    print(f"<b>printed</b> {{x}}")
    if x == 2:
        raise ValueError("<img src=x onerror=window.__xss_error=1>")
    time.sleep(0.2)
    return x

hostile.__name__ = hostile.__qualname__ = {HOSTILE!r}
hostile = task(returns=1, on_failure="IGNORE")(hostile)

@task(returns=1)
def gather(values):
    return len(values)

print("gathered", compss_wait_on(gather([hostile(i) for i in range(6)])))
"""


def write_notebook(path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "eflows", "display_name": "eFlows4HPC (Python 3)",
                                       "language": "python"}
    notebook.cells.append(nbformat.v4.new_code_cell(CELL))
    nbformat.write(notebook, path)


def dark_lab_settings(path: Path) -> Path:
    """JupyterLab settings with the dark theme (and no news toast over the page)."""
    apputils = path / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)
    (apputils / "themes.jupyterlab-settings").write_text(json.dumps({"theme": "JupyterLab Dark"}))
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return path


def luminance(page: Any, selector: str) -> float:
    return page.evaluate("""(selector) => {
        const c = getComputedStyle(document.querySelector(selector)).backgroundColor;
        const [r, g, b] = c.match(/\\d+/g).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; }""", selector)


def test_graph_in_jupyterlab_dark_theme_with_keyboard_search_and_hostile_names(
        jupyter_server_factory: Any, page: Any, tmp_path: Path) -> None:
    write_notebook(tmp_path / "graph.ipynb")
    server = jupyter_server_factory(tmp_path, env={
        "EFLOWS_WORKERS": "2", "EFLOWS_EVENT_LOG_DIR": str(tmp_path / "runs"),
        "JUPYTERLAB_SETTINGS_DIR": str(dark_lab_settings(tmp_path / "lab-settings"))})
    page.goto(server.at("lab/tree/graph.ipynb"))
    expect(page.get_by_text("eFlows4HPC (Python 3) | Idle").first).to_be_visible(
        timeout=120_000)
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    expect(page.get_by_text("gathered 6")).to_be_visible(timeout=120_000)
    graph = wait_for_graph(page, status="done", min_total=7)
    assert graph["counts"] == [0, 0, 0, 6, 1, 0]
    root = page.locator(".eflows-graph").first

    # JupyterLab's dark theme: the widget follows it.
    assert graph["theme"] == "dark" and luminance(page, ".eflows-graph") < 0.25

    # Names and errors from the run are text, never markup (stored XSS).
    assert page.evaluate("[window.__xss, window.__xss_error]") == [None, None]
    assert root.locator("img").count() == 0
    expect(root.locator(".eflows-functions").get_by_text(HOSTILE, exact=True)).to_be_visible()

    # One legend, with a shape for every state; the summary for screen readers.
    legend = root.locator(".eflows-legend li")
    expect(legend).to_have_count(6)
    assert legend.locator("svg").count() == 6
    dag = root.locator(".eflows-dag")
    expect(dag).to_have_attribute("aria-label", "Task graph. Done: 7 of 7 tasks finished "
                                  "(6 done, 1 failed).")

    # Keyboard only: focus the graph, "n" goes to the failed task and opens its details.
    dag.focus()
    page.keyboard.press("n")
    details = root.locator(".eflows-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text("ValueError: <img src=x onerror=window.__xss_error=1>")
    expect(details).to_contain_text("<b>printed</b> 2")  # what the task printed
    expect(details).to_contain_text("worker CPU")
    expect(details.locator(".eflows-details-title")).to_contain_text(HOSTILE)
    worker = details.locator("tr", has_text="worker").first.inner_text()
    assert "tcp://" not in worker and "/" in worker  # host/worker
    page.keyboard.press("Escape")
    expect(details).to_be_hidden()
    # The graph's keys are not JupyterLab's: "0 0" fits the graph, it does not offer to
    # restart the kernel.
    page.keyboard.press("0")
    page.keyboard.press("0")
    page.wait_for_timeout(500)
    assert page.locator(".jp-Dialog").count() == 0

    # Search and the "failed only" filter say how many tasks they keep.
    search = root.locator(".eflows-search")
    search.fill("gather")
    expect(root.locator(".eflows-matches")).to_have_text("1 of 7 tasks (Enter: next)")
    search.fill("")
    root.get_by_role("button", name="Failed only").click()
    expect(root.get_by_role("button", name="Failed only")).to_have_attribute(
        "aria-pressed", "true")
    expect(root.locator(".eflows-matches")).to_have_text("1 of 7 tasks (Enter: next)")
    root.get_by_role("button", name="All", exact=True).click()
    root.get_by_role("button", name="Fit").click()

    # Grouped by function, then into one function's tasks and back.
    root.get_by_role("button", name="Group by function").click()
    assert graphs(page)[0]["mode"] == "functions"
    root.locator(".eflows-functions button.eflows-link", has_text="gather").click()
    assert graphs(page)[0]["mode"] == "tasks"
    expect(root.locator(".eflows-crumb")).to_have_text("gather: 1 tasks")
    root.get_by_role("button", name="All functions").click()
    assert graphs(page)[0]["mode"] == "functions"
    root.scroll_into_view_if_needed()
    screenshot(page, "graph-widget-dark")
