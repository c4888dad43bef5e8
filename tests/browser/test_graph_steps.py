"""A real step graph's live graph in Chromium: the steps header and each step's tasks.

tests/ui checks the kernel's model of a two-step run and tests/browser/test_graph_frontend
the front end fed synthetic messages; neither renders the header's steps
(``panels.js:updateSteps``) from a real run. Here a Voila page runs a workflow of two
steps on the ``local`` site (the second ``depends_on`` the first, each a PyCOMPSs run of
its own) through in-process services and shows its ``ExecutionDetail``; the page must
show both steps, their states moving on to ``done``, and each step's tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.browser import REPO, screenshot, wait_for_graph
from tests.browser.test_portal_voila import isolated_env

pytestmark = pytest.mark.timeout(240)

CHAIN = REPO / "tests" / "apps" / "increment_chain.py"
CELL = """\
from eflows_kernel.client import LocalClient
from eflows_kernel.ui.executions import ExecutionDetail

client = LocalClient(state_url="sqlite:///{base}/state.sqlite",
                     vault_key_file="{base}/vault.key", runs_dir="{base}/runs", workers=2)
workflow = client.workflows.register_spec({{"name": "two-steps", "steps": [
    {{"name": "first", "application": "{chain}", "arguments": ["2"],
     "environment": "Front"}},
    {{"name": "second", "application": "{chain}", "arguments": ["3"],
     "environment": "Back", "depends_on": ["first"]}}]}})
execution = client.executions.trigger(workflow.id, {{}},
                                      site={{"Front": "local", "Back": "local"}})
ExecutionDetail(client, execution.id, poll_interval=0.2)
"""

# Every text the steps header shows, in the order it showed them (from before the widget
# renders: a state seen only between two polls of the test is still counted).
RECORD_STEPS = """() => {
  window.__steps = [];
  new MutationObserver(() => {
    const header = document.querySelector('.eflows-steps');
    if (!header) return;
    const text = Array.from(header.querySelectorAll('[role=listitem]'))
      .map((chip) => chip.textContent).join(' | ');
    if (text && window.__steps[window.__steps.length - 1] !== text) window.__steps.push(text);
  }).observe(document, {childList: true, subtree: true, characterData: true});
}"""


def write_notebook(path: Path, base: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells.append(nbformat.v4.new_code_cell(CELL.format(base=base, chain=CHAIN)))
    nbformat.write(notebook, path)
    return path


def test_the_steps_header_of_a_real_two_step_run(voila_server: Any, page: Any,
                                                  tmp_path: Path) -> None:
    base = tmp_path / "state"
    base.mkdir()
    notebook = write_notebook(tmp_path / "steps.ipynb", base)
    page.add_init_script(f"({RECORD_STEPS})()")
    page.goto(voila_server(notebook, env=isolated_env(tmp_path)))

    root = page.locator(".eflows-graph").first
    steps = root.locator(".eflows-steps [role=listitem]")
    expect(root.locator(".eflows-steps")).to_have_attribute("aria-label", "Steps",
                                                            timeout=120_000)
    # Both steps, in the order of the graph, each ending done (the run's own status too).
    expect(steps).to_have_text(["first: done", "second: done"], timeout=120_000)
    graph = wait_for_graph(page, status="done", done=7, min_total=7)
    assert graph["counts"] == [0, 0, 0, 7, 0, 0]
    expect(steps.nth(0)).to_have_class("eflows-step eflows-step-done")
    expect(steps.nth(1)).to_have_class("eflows-step eflows-step-done")

    # The states turned: the second step was seen waiting or running before it was done
    # (the header followed the run, it did not only show its end).
    seen = page.evaluate("window.__steps")
    assert seen[-1] == "first: done | second: done", seen
    assert any(not text.endswith("second: done") for text in seen), seen
    assert all(text.startswith("first: ") for text in seen), seen

    # Inside each step, its own tasks: <step>/<function>, with the counts of that step's run.
    rows = root.locator(".eflows-functions tbody tr")
    expect(rows).to_have_count(4)
    table = {row.locator("td").nth(0).inner_text().strip():
             row.locator("td").nth(2).inner_text().strip() for row in rows.all()}
    assert table == {"first/increment": "2 / 2", "first/read": "1 / 1",
                     "second/increment": "3 / 3", "second/read": "1 / 1"}, table
    root.scroll_into_view_if_needed()
    screenshot(page, "graph-steps-two-step-run")
