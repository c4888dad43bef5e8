"""The quickstart in a real browser: the live graph shows the tasks and turns green."""

from __future__ import annotations

import shutil
import time

import pytest
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


# Records, inside the page, every change of the first graph's node colours with the
# browser's clock (the same system clock as the kernel's event timestamps).
WATCH_FIRST_GRAPH = """() => {
  window.__eflowsColours = [];
  const tick = () => {
    const plot = document.querySelector('.js-plotly-plot');
    if (plot) {
      const colours = Array.from(plot.querySelectorAll('g.trace.scatter path.point'))
                           .map(p => p.style.fill);
      const last = window.__eflowsColours[window.__eflowsColours.length - 1];
      if (!last || last[1].join() !== colours.join()) {
        window.__eflowsColours.push([Date.now() / 1000, colours]);
      }
    }
    setTimeout(tick, 10);
  };
  tick();
}"""


@pytest.mark.parametrize("ui", ["jupyterlab", "notebook7"])
def test_quickstart_graph_changes_live(ui, jupyter_server_factory, page, tmp_path):
    """Run the quickstart in JupyterLab and Notebook 7: the graph is drawn while the
    cell runs, and the time from an event to the plot in Chromium is measured."""
    import json

    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", tmp_path / "quickstart.ipynb")
    runs = tmp_path / "runs"
    server = jupyter_server_factory(tmp_path, env={"EFLOWS_WORKERS": "2",
                                                   "EFLOWS_EVENT_LOG_DIR": str(runs)})
    if ui == "jupyterlab":
        page.goto(server.at("lab/tree/quickstart.ipynb"))
        expect(page.get_by_text("eFlows4HPC (Python 3) | Idle").first).to_be_visible(
            timeout=120_000)
    else:
        page.goto(server.at("notebooks/quickstart.ipynb"))
        expect(page.locator(".jp-Notebook").first).to_be_visible(timeout=120_000)
        expect(page.get_by_text("eFlows4HPC (Python 3)").first).to_be_visible(
            timeout=120_000)
        # The kernel is ready (Notebook 7 shows no "| Idle" text, but this indicator).
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
            state="attached", timeout=120_000)
    page.evaluate(WATCH_FIRST_GRAPH)
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    expect(page.get_by_text("sum of squares: 140")).to_be_visible(timeout=120_000)
    page.wait_for_function(
        """() => { const log = window.__eflowsColours;
                   const last = log.length && log[log.length - 1][1];
                   return last && last.length === 15
                          && last.every(c => c === 'rgb(44, 160, 44)'); }""",
        timeout=60_000)
    history = page.evaluate("window.__eflowsColours")
    # Seen while running: nodes that were not done yet, then all done.
    assert any(colours and set(colours) != {DONE} for _, colours in history), history
    assert history[-1][1] == [DONE] * 15
    screenshot(page, f"quickstart-{ui}")

    # Browser-side latency: from each task's "done" event (kernel clock) to the moment
    # its node turned green in Chromium (the page's clock; same machine).
    log = next(runs.glob("*.jsonl"))
    events = [json.loads(line) for line in log.read_text().splitlines()]
    done_at = {e["task"]: e["ts"] for e in events
               if e["type"] == "task" and e["state"] == "done" and e["task"] <= 15}
    first_green: dict[int, float] = {}
    for seen_at, colours in history:
        greens = sum(1 for c in colours if c == DONE)
        for rank in range(len(first_green), greens):
            first_green[rank] = seen_at
    ordered = sorted(done_at.values())
    # Count only tasks finishing after the plot was first drawn (plotly.js loads first).
    drawn_at = next(seen_at for seen_at, colours in history if colours)
    delays = sorted(first_green[i] - ordered[i] for i in range(len(ordered))
                    if ordered[i] >= drawn_at)
    print(f"plot first drawn {drawn_at - min(e['ts'] for e in events):.2f} s after the "
          f"run started; {len(history)} colour changes seen")
    if not delays:
        # Every task finished before plotly.js drew the plot (a loaded machine, tasks
        # sent to Dask in batches): liveness is what the colour history above shows.
        print(f"{ui}: all tasks finished before the plot was first drawn")
        return
    report = (f"{ui}: event -> plot in Chromium, {len(delays)} tasks: "
              f"p50 {1000 * delays[len(delays) // 2]:.0f} ms, "
              f"max {1000 * delays[-1]:.0f} ms")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / f"browser-latency-{ui}.txt").write_text(report + "\n")
    print(report)
    assert delays[-1] < 5.0  # live, not at the end of the cell
