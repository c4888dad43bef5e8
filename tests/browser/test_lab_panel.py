"""The eFlows side panel in JupyterLab: installed prebuilt, following a run, opening the portal.

``pip install`` puts the prebuilt labextension in ``share/jupyter/labextensions`` (no node
at install time); ``jupyter labextension list`` must show it enabled. In a real ``jupyter
lab`` the panel lists a run while it goes (state, workflow, site, progress), the status
bar counts running executions, the run's graph, log and outputs open in the main area, and
the launcher card opens the portal in Voila. The run is triggered through the REST API
(the panel only reads it); every click of the panel is counted.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from eflows_kernel.client import EflowsClient
from tests.browser import lab_env as isolated_env
from tests.browser import screenshot, sleep_spec

VENV_BIN = Path(sys.executable).parent
DONE = "rgb(44, 160, 44)"
LABEXTENSION = "@eflows4hpc/labextension"


def test_labextension_is_installed_prebuilt_and_enabled() -> None:
    out = subprocess.run([str(VENV_BIN / "jupyter"), "labextension", "list"],
                         capture_output=True, text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((ln for ln in text.splitlines() if LABEXTENSION in ln), None)
    assert line is not None, text
    assert "enabled" in line and "OK" in line and "eflows4hpc-jupyter" in line, line
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / LABEXTENSION
    package = json.loads((share / "package.json").read_text())
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")


class Clicks:
    """Counts what the person does (clicks), to keep journeys short."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, locator: Any) -> None:
        self.count += 1
        locator.click()


@pytest.mark.timeout(420)
def test_side_panel_follows_a_run_and_opens_graph_logs_outputs_and_portal(
        jupyter_server_factory: Any, page: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The portal's kernel must find *this* server (the extension exports it when unset).
    monkeypatch.delenv("EFLOWS_URL", raising=False)
    monkeypatch.delenv("EFLOWS_TOKEN", raising=False)
    root = tmp_path / "root"
    root.mkdir()
    server = jupyter_server_factory(root, env=isolated_env(tmp_path))
    api = EflowsClient(server.url, server.token)
    api.credentials.generate("panel-key")
    api.sites.add({"name": "cluster", "host": "127.0.0.1", "port": 2222, "login": "eflows",
                   "scheduler": "slurm"})
    workflow = api.workflows.register_spec(sleep_spec(4.0))

    clicks = Clicks()
    page.goto(server.at("lab"))
    side_tab = page.locator(".jp-SideBar .lm-TabBar-tab[data-id='eflows-panel']")
    expect(side_tab).to_be_visible(timeout=120_000)
    status = page.locator(".eflows-status")
    expect(status).to_have_text("eFlows: 0 running")
    clicks.click(side_tab)
    panel = page.locator("#eflows-panel")
    expect(panel.get_by_text("No executions yet")).to_be_visible()
    expect(panel.locator("li[data-site='cluster']")).to_contain_text("eflows@127.0.0.1:2222")
    expect(panel.locator("li[data-site='cluster']")).to_contain_text("host key not trusted")
    expect(panel.locator("li[data-credential='panel-key']")).to_contain_text("ed25519")

    run = api.executions.trigger(workflow.id, {}, site="local")
    row = panel.locator(f"li[data-execution='{run.id}']")
    expect(row).to_be_visible(timeout=30_000)
    expect(row).to_contain_text("sleeper 0.1.0")
    expect(row).to_contain_text("local")
    expect(status).to_have_text("eFlows: 1 running", timeout=30_000)
    # progress while it runs: the task count comes from the live event stream
    expect(row.locator(".eflows-progress-text")).to_have_text(re.compile(r"\d/3 tasks"),
                                                              timeout=60_000)
    screenshot(page, "lab-panel-running")
    expect(row).to_contain_text("done", timeout=120_000)
    expect(status).to_have_text("eFlows: 0 running", timeout=30_000)
    assert api.executions.get(run.id).state.value == "done"

    clicks.click(row.get_by_role("button", name="Graph"))
    detail = page.locator(f"#eflows-detail-{run.id}")
    expect(detail).to_be_visible()
    nodes = detail.locator("circle.eflows-node")
    expect(nodes).to_have_count(3, timeout=30_000)
    assert all(n.get_attribute("fill") == "#2ca02c" for n in nodes.all())
    screenshot(page, "lab-panel-graph")
    clicks.click(detail.get_by_role("tab", name="Logs"))
    expect(detail.locator(".eflows-logs")).to_contain_text("RESULT", timeout=30_000)
    clicks.click(detail.get_by_role("tab", name="Outputs"))
    expect(detail.locator(".eflows-outputs")).to_contain_text("no declared outputs")

    # The launcher card opens the portal in Voila, in a new browser tab.
    clicks.click(page.locator("#jp-MainMenu").get_by_text("File", exact=True))
    clicks.click(page.get_by_text("New Launcher", exact=True))
    card = page.locator(".jp-LauncherCard:visible", has_text="eFlows4HPC portal")
    with page.context.expect_page() as popup:
        clicks.click(card)
    portal = popup.value
    expect(portal.locator(".lm-TabBar-tab", has_text="Executions")).to_be_visible(
        timeout=120_000)
    expect(portal.get_by_text(f"services: {server.url}")).to_be_visible()
    assert (root / "eflows-portal.ipynb").is_file()
    portal.close()
    print(f"side-panel journey: {clicks.count} clicks")
    assert clicks.count <= 7
    api.close()
