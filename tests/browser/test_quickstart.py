"""The quickstart in a real browser: the live graph shows the tasks and turns green."""

from __future__ import annotations

import shutil
import time

from playwright.sync_api import expect

from tests.browser import REPO, screenshot

DONE = "rgb(44, 160, 44)"  # STATE_COLOURS["done"]
FAILED = "rgb(214, 39, 40)"  # STATE_COLOURS["failed"]

NODE_COLOURS = """plot => Array.from(plot.querySelectorAll('g.trace.scatter path.point'))
                       .map(p => p.style.fill)"""


def test_quickstart_graph_shows_tasks_turning_done_in_voila(voila_server, page, tmp_path):
    notebook = tmp_path / "quickstart.ipynb"
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", notebook)
    url = voila_server(notebook, env={"EFLOWS_WORKERS": "2",
                                      "EFLOWS_EVENT_LOG_DIR": str(tmp_path / "runs")})
    page.goto(url)
    plots = page.locator(".js-plotly-plot")
    expect(plots.first).to_be_visible(timeout=120_000)

    # The first graph: 8 squares and 7 adds. Record the colours as they change.
    first = plots.first
    seen: list[list[str]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        colours = first.evaluate(NODE_COLOURS)
        if not seen or colours != seen[-1]:
            seen.append(colours)
        if len(colours) == 15 and set(colours) == {DONE}:
            break
        time.sleep(0.1)
    assert seen[-1] == [DONE] * 15, f"colours seen: {seen[-5:]}"
    # The graph is drawn in layers: 8 squares, then 4, 2 and 1 adds below.
    heights = first.evaluate("""plot => Array.from(plot.querySelectorAll(
        'g.trace.scatter path.point')).map(p => p.getAttribute('transform'))""")
    rows = {t.split(",")[1] for t in heights}
    assert len(rows) == 4

    # The failed task of section 3 shows red in its own graph.
    expect(plots).to_have_count(4, timeout=60_000)
    failed_graph = plots.nth(1).evaluate(NODE_COLOURS)
    assert sorted(failed_graph) == sorted([DONE, FAILED, DONE])
    details = page.get_by_text("ValueError: negative input: -1").first
    expect(details).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 2900})  # the whole notebook
    path = screenshot(page, "quickstart-voila")
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(exist_ok=True)
    shutil.copy(path, docs / "quickstart-voila.png")
    print(f"colour states seen in the first graph: {len(seen)}")
