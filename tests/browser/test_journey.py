"""The whole user journey in a real browser, against the real test cluster.

A Jupyter server with the eflows extension renders ``notebooks/portal.ipynb`` at
``/voila/render/portal.ipynb``; its kernel gets ``$EFLOWS_URL``/``$EFLOWS_TOKEN`` from
the server, so every click goes browser → kernel → REST API → services → sshd/Slurm.
Only the portal's widgets are used; the REST API is read (never written) to check that
a refused form created nothing. Clicks are counted: the guided Connect tab takes 3, the
whole first journey (connect, register, a refused then a good deploy) 8.

The site is the session's real sshd (127.0.0.1:2222) and single-node Slurm, with the
``eflows-ui`` login (the service tests wipe ``~eflows/.ssh`` concurrently).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from eflows_kernel.client import EflowsClient
from tests.browser import REPO, screenshot, wait_for_graph
from tests.browser.test_portal_offline import LOCAL_HOSTS
from tests.plugins.cluster import SshdInfo

LOGIN, PASSWORD = "eflows-ui", "eflows-test-pw"
APPS = REPO / "tests" / "apps"
DEPLOY_TIMEOUT_MS = 420_000  # the first run bootstraps a venv on the site (20-40 s) + Slurm
EXPECTED_COUNTS = {"the": 4, "quick": 1, "brown": 1, "fox": 2, "jumps": 1, "over": 1,
                   "lazy": 1, "dog": 2, "sleeps": 1, "runs": 1}


def wordcount_spec() -> str:
    """Word count: a local folder staged in, counts.json staged out (as tests/deploy)."""
    return json.dumps({
        "name": "wordcount",
        "inputs": [{"name": "texts", "type": "path", "description": "folder of texts"},
                   {"name": "result", "type": "string", "default": "counts.json",
                    "required": False}],
        "steps": [{"name": "count", "application": str(APPS / "wordcount.py"),
                   "arguments": ["${texts}", "${result}"]}],
        "data_movements": [{"name": "counts", "direction": "out", "kind": "local",
                            "source": "${result}"}],
    }, indent=1)


def sleep_spec() -> str:
    return json.dumps({
        "name": "sleeper",
        "inputs": [{"name": "n", "type": "integer", "default": 2, "required": False},
                   {"name": "seconds", "type": "float", "default": 60, "required": False}],
        "steps": [{"name": "sleep", "application": str(APPS / "parallel_sleep.py"),
                   "arguments": ["${n}", "${seconds}"]}]})


def tab(page: Any, title: str) -> Any:
    return page.locator(".lm-TabBar-tab", has_text=title).first


def field(page: Any, label: str) -> Any:
    """The input of the visible widget whose description is ``label``."""
    row = page.locator(".widget-inline-hbox:visible").filter(
        has=page.locator(f"label:text-is('{label}')"))
    return row.locator("input, textarea, select").first


def button(page: Any, name: str) -> Any:
    return page.locator("button:visible", has_text=name).first


def choose(page: Any, label: str, text: str) -> None:
    """Pick the option of the visible dropdown ``label`` whose label contains ``text``."""
    select = field(page, label)
    select.locator("option", has_text=text).first.wait_for(state="attached")
    options = select.locator("option").all_text_contents()
    match = next((o for o in options if text in o), None)
    assert match is not None, f"{label}: no option with {text!r} in {options}"
    select.select_option(label=match)


class Clicks:
    """Counts what the person does (clicks and choices; typing in a field is not counted)."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, locator: Any) -> None:
        self.count += 1
        locator.click()


def open_execution(page: Any, execution_id: str, clicks: Clicks) -> None:
    """Open ``execution_id`` from the Executions table (its row's Open button)."""
    row = page.locator(".widget-hbox:visible").filter(
        has=page.locator(f".eflows-job-row[data-execution='{execution_id}']")).first
    clicks.click(row.get_by_role("button", name="Open"))


@pytest.mark.timeout(900)
def test_whole_journey_on_the_real_cluster(jupyter_server_factory: Any, page: Any,
                                           tmp_path: Path, sshd: SshdInfo,
                                           slurm_cluster: str) -> None:
    ui_home = Path(f"/home/{LOGIN}")
    shutil.rmtree(ui_home / ".ssh", ignore_errors=True)  # a fresh account: no key yet
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("the quick brown fox\njumps over the lazy dog\n")
    (texts / "b.txt").write_text("The dog sleeps. The fox runs!\n")
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / "portal.ipynb", root / "portal.ipynb")
    server = jupyter_server_factory(
        root, env={"JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
                   "EFLOWS_CONFIG": str(tmp_path / "no-config.toml")},
        extra_args=["--EflowsExtensionApp.job_poll_interval=0.2"])
    api = EflowsClient(server.url, server.token)
    page.set_default_timeout(60_000)
    # The portal under Voila's server extension, as a login node offline serves it:
    # nothing it loads may come from outside this machine (MathJax included).
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if (
        urlsplit(request.url).hostname or "") not in LOCAL_HOSTS
        and not request.url.startswith(("data:", "blob:")) else None)
    page.goto(server.at("voila/render/portal.ipynb"))
    expect(tab(page, "Executions")).to_be_visible(timeout=120_000)
    expect(page.get_by_text(f"services: {server.url}")).to_be_visible()
    clicks = Clicks()

    # 1. Connect a site (the first tab): a new key, the site, its host key, the password.
    field(page, "Site name").fill("cluster")
    field(page, "Host").fill(sshd.host)
    field(page, "Port").fill(str(sshd.port))
    field(page, "Port").press("Enter")
    field(page, "Login").fill(LOGIN)
    clicks.click(button(page, "Connect"))
    expect(page.get_by_text("New host key:")).to_be_visible()
    expect(page.get_by_text("How to verify it")).to_be_visible()
    shown = page.locator("code:visible", has_text="SHA256:").first.inner_text()
    screenshot(page, "journey-1-scan")
    clicks.click(button(page, "Trust this key"))
    expect(page.get_by_text(f"Trusted {shown.split()[-1]}.")).to_be_visible()
    expect(page.get_by_text("The key is not accepted by the site yet")).to_be_visible()
    field(page, "Site password").fill(PASSWORD)
    clicks.click(button(page, "Authorize and check"))
    expect(page.get_by_text("The site is ready.")).to_be_visible(timeout=120_000)
    assert "eflows:" in (ui_home / ".ssh" / "authorized_keys").read_text()
    assert [c.name for c in api.credentials.list()] == ["cluster-key"]
    connect_clicks = clicks.count
    screenshot(page, "journey-1b-connected")

    # 2. Register the word count (a spec: inputs and the result staged out).
    clicks.click(tab(page, "Workflows"))
    field(page, "Spec").fill(wordcount_spec())
    clicks.click(button(page, "Register spec"))
    expect(page.get_by_text("Registered wordcount 0.1.0.")).to_be_visible(timeout=30_000)
    screenshot(page, "journey-2-workflow")
    clicks.click(button(page, "Deploy…"))

    # 3. The deploy form: the only site and key preselected; a bad value is refused at
    # its field, nothing is created.
    # (The Workflows tab's details, now hidden, also name the input: look in the form.)
    expect(page.get_by_text("texts", exact=False).filter(visible=True).first).to_be_visible()
    assert field(page, "Site").input_value() == "cluster"
    assert "cluster-key" in field(page, "Credential").locator("option:checked").inner_text()
    clicks.click(button(page, "Deploy"))
    expect(page.get_by_text("input 'texts' is required")).to_be_visible()
    expect(page.get_by_text("input(s) need attention")).to_be_visible()
    assert api.executions.list().total == 0
    screenshot(page, "journey-3-field-error")

    # 4. Valid values: deployed to Slurm; the stage bars and the state reach done.
    page.get_by_placeholder("a path").fill(str(texts))
    clicks.click(button(page, "Deploy"))
    expect(page.get_by_text("started on cluster")).to_be_visible(timeout=60_000)
    expect(page.locator(".widget-html:visible", has_text="Execution ").filter(
        has_text="done").first).to_be_visible(timeout=DEPLOY_TIMEOUT_MS)
    first_run_clicks = clicks.count
    run = api.executions.list().items[0]
    assert run.state.value == "done", run.error
    bars = page.locator(".widget-hprogress:visible .progress-bar")
    assert bars.count() >= 5
    screenshot(page, "journey-4-deploy-done")

    # 5. The execution: graph all green, logs with the result, the output brought back.
    clicks.click(tab(page, "Executions"))
    open_execution(page, run.id, clicks)
    graph = wait_for_graph(page, status="done", min_total=4, timeout=60_000)
    assert graph["counts"][3] == graph["total"]  # every task done
    page.wait_for_function("""() => Array.from(document.querySelectorAll('textarea'))
        .some(t => t.value.includes('RESULT'))""", timeout=60_000)
    expect(page.locator("li:visible", has_text="counts").first).to_be_visible()
    outputs = api.executions.get(run.id).outputs
    assert json.loads(Path(outputs["counts"]["path"]).read_text()) == EXPECTED_COUNTS
    screenshot(page, "journey-5-graph-logs-outputs")

    # 6. A long run, cancelled (and confirmed) from its execution page.
    clicks.click(tab(page, "Workflows"))
    field(page, "Spec").fill(sleep_spec())
    clicks.click(button(page, "Register spec"))
    expect(page.get_by_text("Registered sleeper 0.1.0.")).to_be_visible(timeout=30_000)
    clicks.click(button(page, "Deploy…"))
    # The form first: until the tab has switched, "Deploy" would match "Deploy…" again.
    expect(field(page, "Workflow").locator("option:checked")).to_have_text("sleeper 0.1.0")
    clicks.click(button(page, "Deploy"))
    expect(page.get_by_text("started on cluster")).to_be_visible(timeout=60_000)
    sleeper = next(e for e in api.executions.list().items if e.id != run.id)
    clicks.click(tab(page, "Executions"))
    open_execution(page, sleeper.id, clicks)
    expect(page.locator(".widget-html:visible", has_text=sleeper.id).filter(
        has_text="running").first).to_be_visible(timeout=DEPLOY_TIMEOUT_MS)
    clicks.click(button(page, "Cancel"))
    expect(page.get_by_text("Cancel this run?")).to_be_visible()
    assert api.executions.get(sleeper.id).state.value == "running"  # asked, not done yet
    clicks.click(button(page, "Yes, cancel this run"))
    expect(page.locator(".widget-html:visible", has_text=sleeper.id).filter(
        has_text="cancelled").first).to_be_visible(timeout=180_000)
    expect(page.get_by_text("Cancel requested.")).to_have_count(0, timeout=30_000)
    # The page shows the execution's state as read through the same REST API.
    assert api.executions.wait(sleeper.id, timeout=120).state.value == "cancelled"
    screenshot(page, "journey-6-cancelled")
    print(f"journey clicks: connect {connect_clicks}, first deploy done {first_run_clicks}, "
          f"whole journey {clicks.count}")
    assert connect_clicks <= 5 and first_run_clicks <= 10
    assert outside == [], f"the portal asked for these outside the machine: {outside}"

    docs = REPO / "docs" / "screenshots"
    docs.mkdir(exist_ok=True)
    artifacts = REPO / "test-artifacts"
    for source, target in (("journey-4-deploy-done", "deploy-progress-done"),
                           ("journey-5-graph-logs-outputs", "execution-graph-done"),
                           ("journey-6-cancelled", "execution-cancelled"),
                           ("journey-1-scan", "site-scan"),
                           ("journey-1b-connected", "site-connected")):
        shutil.copy(artifacts / f"{source}.png", docs / f"{target}.png")
    api.close()
