"""The portal journeys of issue #17 that tests/ui checks widget by widget, in real Chromium.

The portal notebook runs in the session's shared JupyterLab (``lab_folder``), so every click
goes browser -> kernel -> that server's REST API -> services; runs go to the ``local`` site
(no sshd, no Slurm). The REST API is read to check what the clicks did and written only to
set the scene (a failed run for the state filter, a site whose host key was trusted before).
Clicks and choices are counted (typing in a field is not), as in test_journey.py:

1. a ``.py`` registered: its inputs read from its ``argparse`` definition, deployed with one;
2. the finished run's output: its download link (the shared server's runs are outside its
   root, so the authenticated route, no JupyterLab link) and its text in the preview;
3. the jobs table: sorted and filtered by state, re-run with the same inputs, one run
   archived and one deleted (confirmed);
4. a site whose host key changed (a paramiko server of the test's own swaps its key): shown
   as CHANGED with both fingerprints, trusted only after the second confirmation.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from playwright.sync_api import expect

from eflows_kernel.client import EflowsClient
from eflows_kernel.services.hpc.ssh import HostKey
from tests.browser import REPO, screenshot
from tests.browser.test_journey import Clicks, button, choose, field, tab
from tests.browser.test_portal_lab import open_and_run

QUIET_LOG = "tests.browser.key_swapping_server"
logging.getLogger(QUIET_LOG).setLevel(logging.CRITICAL)
SERVER_MS = 30_000  # a wait on the server (a run, a scan), not on the page alone
GREET = '''"""Greets someone: the portal journeys' app, its inputs in its argparse definition."""
import argparse
import pathlib
import sys

parser = argparse.ArgumentParser()
parser.add_argument("who", help="the person greeted")
parser.add_argument("--times", type=int, default=2, help="how many greetings")
args = parser.parse_args()
if args.times < 1:
    sys.exit("times must be at least 1")
pathlib.Path("greeting.txt").write_text(f"Hello, {args.who}!\\n" * args.times)
print("RESULT", args.who, args.times)
'''


class KeySwappingServer:
    """An SSH server on 127.0.0.1 that only does the key exchange, with the host key
    ``key`` (swapped by the test, as a reinstalled site or someone in between would)."""

    def __init__(self) -> None:
        self.key = _ed25519()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def host_key(self) -> HostKey:
        return HostKey.from_pkey(self.key)

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.set_log_channel(QUIET_LOG)  # each scan hangs up: no ERROR lines
            transport.add_server_key(self.key)
            self.transports.append(transport)
            try:
                transport.start_server(server=paramiko.ServerInterface())
            except Exception:  # a scan hangs up after the key exchange
                continue

    def close(self) -> None:
        self.listener.close()
        for transport in self.transports:
            transport.close()


def _ed25519() -> paramiko.PKey:
    import io

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem))


@pytest.fixture
def ssh_server() -> Iterator[KeySwappingServer]:
    server = KeySwappingServer()
    yield server
    server.close()


@pytest.fixture
def api(lab_folder: Any) -> Iterator[EflowsClient]:
    """The shared server's REST API; what the test made is removed after it, so the next
    tests find the shared state as they expect it (no site preselected, no runs)."""
    client = EflowsClient(lab_folder.server.url, lab_folder.server.token)
    yield client
    for execution in client.executions.list(limit=500).items:
        if execution.finished:
            client.runs.delete(execution.id)
    for site in client.sites.list():
        if site.name != "local":
            client.sites.delete(site.id)
    for workflow in client.workflows.list(limit=500).items:
        client.workflows.delete(workflow["id"])
    client.close()


def input_field(page: Any, name: str) -> Any:
    """The deploy form's field of input ``name`` (its label is a widget of its own)."""
    row = page.locator(".widget-hbox:visible").filter(has_text=re.compile(rf"^\s*{name}\b"))
    return row.locator("input, textarea").first


def job_rows(page: Any) -> list[str]:
    """The execution ids of the jobs table's rows, top to bottom."""
    return page.locator(".eflows-job-row:visible").evaluate_all(
        "rows => rows.map(r => r.dataset.execution)")


def open_row(page: Any, execution_id: str, clicks: Clicks) -> None:
    row = page.locator(".widget-hbox:visible").filter(
        has=page.locator(f".eflows-job-row[data-execution='{execution_id}']")).first
    clicks.click(row.get_by_role("button", name="Open"))


def detail_says(page: Any, execution_id: str, state: str) -> Any:
    """The open execution's header once it shows ``state``."""
    return page.locator(".widget-html:visible", has_text=execution_id).filter(
        has_text=state).first


@pytest.mark.timeout(300)
def test_register_deploy_outputs_jobs_table_and_changed_host_key(
        lab_folder: Any, api: EflowsClient, page: Any,
        ssh_server: KeySwappingServer) -> None:
    app = lab_folder.path / "greet.py"
    app.write_text(GREET)
    (lab_folder.path / "portal.ipynb").write_bytes(
        (REPO / "notebooks" / "portal.ipynb").read_bytes())
    open_and_run(page, lab_folder, "jupyterlab")
    expect(tab(page, "Executions")).to_be_visible(timeout=120_000)
    clicks = Clicks()

    # 1. Register the .py: its inputs come from argparse; deploy it with `who` given.
    clicks.click(tab(page, "Workflows"))
    field(page, "Python file").fill(str(app))
    clicks.click(button(page, "Register file"))
    expect(page.get_by_text("Registered greet 0.1.0 (2 inputs).")).to_be_visible(
        timeout=SERVER_MS)
    details = page.locator(".widget-html:visible", has_text="Inputs").filter(
        has_text="the person greeted").first
    expect(details).to_contain_text("how many greetings")
    [workflow] = api.workflows.list().items
    inputs = api.workflows.get(workflow["id"]).workflow.inputs
    assert [(i.name, i.type, i.required, i.default) for i in inputs] == [
        ("who", "string", True, None), ("times", "integer", False, 2)]
    screenshot(page, "portal-journeys-1-registered-from-argparse")
    clicks.click(button(page, "Deploy…"))
    expect(field(page, "Workflow").locator("option:checked")).to_have_text("greet 0.1.0")
    assert field(page, "Site").input_value() == "local"
    input_field(page, "who").fill("portal")
    clicks.click(button(page, "Deploy"))
    expect(page.get_by_text("started on local")).to_be_visible(timeout=SERVER_MS)
    [first] = api.executions.list().items
    assert first.inputs == {"who": "portal", "times": 2}
    # A run that fails, for the state filter (made through the API: not the journey's).
    failed = api.executions.trigger(workflow["id"], {"who": "nobody", "times": 0},
                                    site="local")
    expect(page.locator(".widget-html:visible", has_text="Execution ").filter(
        has_text="done").first).to_be_visible(timeout=SERVER_MS)
    deploy_clicks = clicks.count
    screenshot(page, "portal-journeys-1b-deployed")

    # 2. The finished run's output: downloaded by its link, its text in the preview.
    clicks.click(tab(page, "Executions"))
    open_row(page, first.id, clicks)
    expect(detail_says(page, first.id, "done")).to_be_visible(timeout=SERVER_MS)
    listing = page.locator("table.eflows-run-files:visible tr", has_text="greeting.txt")
    expect(listing).to_be_visible(timeout=SERVER_MS)
    expect(listing.locator("a.eflows-open-lab")).to_have_count(0)  # outside the root
    with page.expect_download() as download:
        clicks.click(listing.locator("a.eflows-download"))
    assert Path(download.value.path()).read_text() == "Hello, portal!\n" * 2
    assert download.value.suggested_filename == "greeting.txt"
    clicks.count += 1
    choose(page, "Preview", "greeting.txt")
    expect(page.locator("pre.eflows-preview:visible")).to_have_text("Hello, portal!\n" * 2)
    output_clicks = clicks.count - deploy_clicks
    screenshot(page, "portal-journeys-2-output-preview")

    # 3. The jobs table: re-run with the same inputs, sort and filter by state, archive
    # one finished run and delete another (confirmed).
    clicks.click(button(page, "Re-run with same inputs"))
    page.wait_for_function("n => document.querySelectorAll('.eflows-job-row').length === n",
                           arg=3, timeout=SERVER_MS)
    [again] = [e for e in api.executions.list().items if e.id not in (first.id, failed.id)]
    assert (again.workflow_id, again.inputs, again.site) == (
        first.workflow_id, first.inputs, first.site)
    expect(detail_says(page, again.id, "done")).to_be_visible(timeout=SERVER_MS)
    assert api.executions.wait(failed.id, timeout=30).state.value == "failed"
    expect(page.locator(f".eflows-job-row[data-execution='{failed.id}']")).to_contain_text(
        "failed", timeout=SERVER_MS)
    clicks.click(button(page, "State"))  # ascending: done, done, failed
    page.wait_for_function(
        "id => { const r = document.querySelectorAll('.eflows-job-row');"
        " return r.length === 3 && r[2].dataset.execution === id; }",
        arg=failed.id, timeout=SERVER_MS)
    clicks.click(button(page, "State ▲"))  # again: descending, the failed run first
    page.wait_for_function(
        "id => document.querySelector('.eflows-job-row')?.dataset.execution === id",
        arg=failed.id, timeout=SERVER_MS)
    assert set(job_rows(page)[1:]) == {first.id, again.id}
    clicks.count += 1
    field(page, "State").select_option("failed")
    page.wait_for_function(
        "id => { const r = document.querySelectorAll('.eflows-job-row');"
        " return r.length === 1 && r[0].dataset.execution === id; }",
        arg=failed.id, timeout=SERVER_MS)
    screenshot(page, "portal-journeys-3-filtered-failed")
    # in JupyterLab's notebook column (narrower than Voila's page): no label cut
    cut = page.evaluate("""() => [...document.querySelectorAll('.eflows-jobs-table button')]
        .filter(b => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
        .map(b => b.textContent.trim())""")
    assert cut == [], f"jobs table labels cut in JupyterLab: {cut}"
    clicks.count += 1
    field(page, "State").select_option("done")
    page.wait_for_function("() => document.querySelectorAll('.eflows-job-row').length === 2",
                           timeout=SERVER_MS)
    assert set(job_rows(page)) == {first.id, again.id}
    open_row(page, first.id, clicks)
    clicks.click(button(page, "Archive"))
    expect(page.get_by_text(f"Removed {first.id} from the list.")).to_be_visible(
        timeout=SERVER_MS)
    expect(page.locator(f".eflows-job-row[data-execution='{first.id}']")).to_have_count(0)
    assert list(lab_folder.data_dir.glob(f"**/{first.id}*.tar.gz")), "no archive kept"
    open_row(page, again.id, clicks)
    clicks.click(button(page, "Delete"))
    expect(page.get_by_text("Delete this run?")).to_be_visible()
    assert again.id in {e.id for e in api.executions.list().items}  # asked, not done yet
    clicks.click(button(page, "Yes, delete this run"))
    expect(page.get_by_text(f"Removed {again.id} from the list.")).to_be_visible(
        timeout=SERVER_MS)
    assert {e.id for e in api.executions.list().items} == {failed.id}
    expect(page.get_by_text("No execution matches the filter.")).to_be_visible()
    table_clicks = clicks.count - deploy_clicks - output_clicks
    screenshot(page, "portal-journeys-3b-archived-deleted")

    # 4. A site trusted before presents another key: CHANGED, both fingerprints shown, and
    # trusting the new one takes the second, explicit confirmation.
    old = ssh_server.host_key
    api.sites.add({"name": "moved", "host": "127.0.0.1", "port": ssh_server.port,
                   "login": "someone", "scheduler": "none"})
    api.sites.trust("moved", old.fingerprint)
    ssh_server.key = _ed25519()
    new = ssh_server.host_key
    start = clicks.count
    clicks.click(tab(page, "Sites"))
    clicks.count += 1
    page.locator("select:visible").filter(has=page.locator("option", has_text="moved")) \
        .first.select_option(label="moved")
    expect(page.locator("code:visible", has_text=old.fingerprint).first).to_be_visible()
    clicks.click(button(page, "Scan host key"))
    changed = page.locator(".widget-html:visible", has_text="The host key CHANGED.").first
    expect(changed).to_be_visible(timeout=SERVER_MS)
    expect(changed).to_contain_text(f"Trusted before: {old.fingerprint}")
    expect(changed).to_contain_text(f"Presented now: {new.type} {new.fingerprint}")
    expect(page.get_by_text("not trusted yet")).to_have_count(0)
    screenshot(page, "portal-journeys-4-host-key-changed")
    clicks.click(button(page, "Trust the new key…"))
    confirm = button(page, "Yes, the administrators confirmed the new key")
    expect(confirm).to_be_visible()
    expect(button(page, "Trust the new key…")).to_have_count(0)
    assert api.sites.get("moved").host_key.fingerprint == old.fingerprint  # asked again
    clicks.click(confirm)
    expect(page.get_by_text(f"Trusted {new.fingerprint} for moved.")).to_be_visible(
        timeout=SERVER_MS)
    assert api.sites.get("moved").host_key.fingerprint == new.fingerprint
    host_key_clicks = clicks.count - start
    screenshot(page, "portal-journeys-4b-new-key-trusted")

    print(f"portal journeys clicks: register+deploy {deploy_clicks}, output {output_clicks}, "
          f"jobs table {table_clicks}, changed host key {host_key_clicks}")
    assert (deploy_clicks, output_clicks, table_clicks, host_key_clicks) == (4, 4, 10, 5)
