"""Smoke test of the browser stack: ipywidgets and a plotly FigureWidget render in Voilà,
standalone and inside a Jupyter server (/voila/render/), and talk to the kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.browser import screenshot

pytestmark = pytest.mark.timeout(120)

SOURCE = """\
import ipywidgets as widgets
import plotly.graph_objects as go

label = widgets.Label("no clicks yet")
button = widgets.Button(description="Count")
clicks = 0

def on_click(_):
    global clicks
    clicks += 1
    label.value = f"clicks: {clicks}"

button.on_click(on_click)
fig = go.FigureWidget(data=[go.Scatter(x=[1, 2, 3, 4], y=[4, 1, 3, 2], mode="markers")])
display(widgets.HBox([button, label]), fig)
"""
POINTS = 4


def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(SOURCE))
    nbformat.write(nb, path)
    return path


def check_widgets(page: Any, name: str) -> None:
    """The figure shows its points, and a click on the button round-trips through the kernel."""
    expect(page.locator(".js-plotly-plot .plot-container")).to_have_count(1)
    expect(page.locator(".js-plotly-plot path.point")).to_have_count(POINTS)
    label = page.locator(".widget-label")
    expect(label).to_have_text("no clicks yet")
    page.get_by_role("button", name="Count").click()
    expect(label).to_have_text("clicks: 1")
    page.get_by_role("button", name="Count").click()
    expect(label).to_have_text("clicks: 2")
    screenshot(page, name)


def test_widgets_render_in_voila(tmp_path: Path, voila_server: Any, page: Any) -> None:
    url = voila_server(write_notebook(tmp_path / "widgets.ipynb"))
    page.goto(url)
    check_widgets(page, "voila-widgets")


def test_widgets_render_in_voila_server_extension(tmp_path: Path, jupyter_server: Any,
                                                   page: Any) -> None:
    write_notebook(tmp_path / "widgets.ipynb")  # jupyter_server serves the test's tmp_path
    page.goto(jupyter_server.at("voila/render/widgets.ipynb"))
    check_widgets(page, "voila-render-widgets")
