"""Every portal tab at 1280x800 and 1920x1080: nothing overflows its panel, no label is cut.

Overflow: an element whose right edge passes its container's (a container that does not
scroll sideways itself). Truncation: a button or label whose text is wider than its box
(ipywidgets cuts it with an ellipsis: "Trust this fingerp…"), or a list or dropdown option
wider than its box. The state is seeded first (keys, a site, workflows, a done and a
failed run) and each tab's detail opened, so the long texts users have are on screen.
A screenshot of each tab at each size goes to test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.portal import TITLES
from tests.browser import REPO, screenshot

APPS = REPO / "tests" / "apps"

SIZES = ({"width": 1280, "height": 800}, {"width": 1920, "height": 1080})

# (what, where) of every visible element that passes its container or is cut.
LAYOUT_PROBLEMS = """() => {
  const visible = e => { const r = e.getBoundingClientRect();
                         return r.width > 0 && r.height > 0 && e.offsetParent !== null; };
  const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  const name = e => (e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
      ? '.' + String(e.className).trim().split(/\\s+/).slice(0, 2).join('.') : '')
      + ' "' + (e.innerText || e.value || '').trim().slice(0, 40) + '"');
  const root = document.querySelector('.jupyter-widgets.widget-tab') ||
               document.querySelector('.widget-tab');
  const problems = [];
  for (const e of root.querySelectorAll('*')) {
    if (!visible(e) || e.closest('.js-plotly-plot')) continue;
    const parent = e.parentElement;
    if (parent && visible(parent) && !scrolls(parent)) {
      const over = e.getBoundingClientRect().right - parent.getBoundingClientRect().right;
      if (over > 1.5 && getComputedStyle(e).position !== 'absolute')
        problems.push(`overflow ${Math.round(over)}px: ${name(e)} in ${name(parent)}`);
    }
    if (e.matches('select')) {  // an option wider than its box is cut, whatever the CSS
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = getComputedStyle(e).font;
      const room = e.clientWidth - (e.size > 1 || e.multiple ? 10 : 30);
      const shown = e.size > 1 || e.multiple ? Array.from(e.options)
                                              : Array.from(e.selectedOptions);
      for (const o of shown) {
        if (ctx.measureText(o.text).width > room + 1)
          problems.push(`cut option: "${o.text.slice(0, 50)}" in ${name(e)}`);
      }
    }
    if (e.matches('button, .widget-label, label, .widget-label-basic') &&
        e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
      problems.push(`cut: ${name(e)} (${e.scrollWidth} > ${e.clientWidth})`);
  }
  return problems;
}"""


def isolated_env(tmp_path: Path) -> dict[str, str]:
    return {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"), "EFLOWS_URL": "",
            "EFLOWS_TOKEN": "", "EFLOWS_STATE_URL": "",
            "EFLOWS_CONFIG": str(tmp_path / "no-config.toml")}


def seed(data: Path) -> None:
    """What a user has after a while: keys, a site, workflows, a done and a failed run."""
    eflows = data / "eflows"
    client = LocalClient(state_url=f"sqlite:///{eflows / 'state.sqlite'}",
                         vault_key_file=eflows / "vault.key", runs_dir=eflows / "runs",
                         workers=1)
    try:
        client.credentials.generate("marenostrum5-project-key-2026")
        client.credentials.generate("laptop")
        client.sites.add({"name": "marenostrum5", "host": "glogin1.bsc.example.org",
                          "login": "a-rather-long-account-name", "partition": "gpp",
                          "account": "bsc99", "qos": "gp_debug"})
        failing = client.workflows.register_python_file(str(APPS / "failing_task.py"))
        chain = client.workflows.register_spec({
            "name": "increment-chain-with-a-long-name",
            "description": "Adds one, again and again: a chain of dependent tasks whose "
                           "graph is a line, the simplest workflow with dependencies.",
            "inputs": [{"name": "length", "type": "integer", "default": 3,
                        "description": "how many tasks in the chain"}],
            "steps": [{"name": "chain", "application": str(APPS / "increment_chain.py"),
                       "arguments": ["${length}"]}]})
        runs = [client.executions.trigger(failing.id, {}),
                client.executions.trigger(chain.id, {"length": 3})]
        for run in runs:
            client.executions.wait(run.id, timeout=120)
    finally:
        client.close()


def open_details(page: Any, title: str) -> None:
    """Select something in the tab so its detail pane is part of the check."""
    if title == "Executions":
        row = page.locator(".widget-hbox").filter(
            has=page.locator(".eflows-job-row", has_text="failed")).last
        row.get_by_role("button", name="Open").click()
        page.locator(".eflows-error").first.wait_for(state="attached", timeout=30_000)
    elif title in ("Credentials", "Sites", "Workflows"):
        select = page.locator("select:visible").first
        first = select.locator("option").first.get_attribute("value")
        select.select_option(first)
    elif title == "Deploy":
        select = page.locator("select:visible").first
        labels = select.locator("option").all_text_contents()
        select.select_option(label=next(x for x in labels if "increment" in x))


@pytest.mark.timeout(420)
def test_every_tab_fits_at_1280_and_1920(voila_server: Any, browser: Any,
                                         tmp_path: Path) -> None:
    notebook = tmp_path / "portal.ipynb"
    shutil.copy(REPO / "notebooks" / "portal.ipynb", notebook)
    env = isolated_env(tmp_path)
    seed(Path(env["JUPYTER_DATA_DIR"]))
    url = voila_server(notebook, env=env)
    problems: dict[str, list[str]] = {}
    for size in SIZES:
        context = browser.new_context(viewport=size)
        context.set_default_timeout(60_000)
        page = context.new_page()
        try:
            page.goto(url)
            for title in TITLES:
                tab = page.locator(".lm-TabBar-tab", has_text=title).first
                expect(tab).to_be_visible(timeout=120_000)
                tab.click()
                page.wait_for_timeout(700)
                open_details(page, title)
                page.wait_for_timeout(700)
                where = f"{title} at {size['width']}x{size['height']}"
                screenshot(page, f"portal-{title.lower()}-{size['width']}x{size['height']}")
                found = page.evaluate(LAYOUT_PROBLEMS)
                if found:
                    problems[where] = found
        finally:
            context.close()
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(items[:15])
                                   for where, items in problems.items())
