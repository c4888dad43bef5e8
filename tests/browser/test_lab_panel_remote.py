"""The JupyterLab side panel following a run on the real cluster (sshd + Slurm).

The site is set up through the REST API as a user would with the portal (a key, the
site, its host key trusted, the key authorized with the password), then a run is
triggered on it; the panel only reads. While a job of our own holds the node's cores,
the run's job waits in Slurm's queue and the panel says so with Slurm's pending reason;
once the node is free the run goes on to done, its job id still shown.

The login is ``eflows-ui`` (the service tests reset ``~eflows/.ssh`` concurrently).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from eflows_kernel.client import EflowsClient
from tests.browser import lab_env, screenshot, sleep_spec
from tests.plugins.cluster import SshdInfo

LOGIN, PASSWORD = "eflows-ui", "eflows-test-pw"
DEPLOY_TIMEOUT_MS = 420_000  # a first run bootstraps the site's environment (20-40 s)


def hold_the_node() -> str:
    """A job of ours on every core of the test node, running: the next job must wait."""
    job = subprocess.run(["sbatch", "--parsable", "--job-name=eflows-test-node-holder",
                          "--cpus-per-task=2", "--output=/dev/null", "--wrap=sleep 600"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if squeue("-j", job, "-o", "%T") == "RUNNING":
            return job
        time.sleep(0.5)
    queue = squeue("-o", "%i %j %u %T %M %l %C %R")
    subprocess.run(["scancel", job], check=False, timeout=60)
    raise AssertionError(f"the node holder (job {job}) did not start within 60 s: the test "
                         f"node is busy with jobs this test did not submit:\n{queue}")


def squeue(*options: str) -> str:
    return subprocess.run(["squeue", "-h", *options], capture_output=True, text=True,
                          timeout=60).stdout.strip()


@pytest.mark.timeout(900)
def test_side_panel_follows_a_slurm_run_with_its_queue_state(
        jupyter_server_factory: Any, page: Any, tmp_path: Path, sshd: SshdInfo,
        slurm_cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EFLOWS_URL", raising=False)
    monkeypatch.delenv("EFLOWS_TOKEN", raising=False)
    shutil.rmtree(Path(f"/home/{LOGIN}") / ".ssh", ignore_errors=True)  # a fresh account
    root = tmp_path / "root"
    root.mkdir()
    server = jupyter_server_factory(root, env=lab_env(tmp_path),
                                    extra_args=["--EflowsExtensionApp.job_poll_interval=0.2"])
    api = EflowsClient(server.url, server.token)
    key = api.credentials.generate("cluster-key")
    site = api.sites.add({"name": "cluster", "host": sshd.host, "port": sshd.port,
                          "login": LOGIN, "scheduler": "slurm",
                          "python": {"path": "/usr/bin/python3"}})
    api.sites.trust(site.id, api.sites.scan(site.id).fingerprint)
    api.sites.authorize(site.id, key.id, password=PASSWORD)
    workflow = api.workflows.register_spec(sleep_spec(3.0))

    page.goto(server.at("lab"))
    side_tab = page.locator(".jp-SideBar .lm-TabBar-tab[data-id='eflows-panel']")
    expect(side_tab).to_be_visible(timeout=120_000)
    side_tab.click()
    panel = page.locator("#eflows-panel")
    expect(panel.locator("li[data-site='cluster']")).to_contain_text("host key trusted")
    status = page.locator(".eflows-status")

    holder = hold_the_node()
    try:
        run = api.executions.trigger(workflow.id, {}, site="cluster", credential_id=key.id)
        row = panel.locator(f"li[data-execution='{run.id}']")
        expect(row).to_be_visible(timeout=30_000)
        expect(row).to_contain_text("cluster")
        expect(status).to_have_text("eFlows: 1 running", timeout=30_000)
        # Queued behind our holder: Slurm's state and reason, the job id, the time limit.
        queue = row.locator(".eflows-run-queue")
        expect(queue).to_have_text(re.compile(r"job \d+ · PENDING: (Resources|Priority)"),
                                   timeout=DEPLOY_TIMEOUT_MS)
        job_id = api.executions.get(run.id).remote_job_id
        assert job_id and f"job {job_id}" in queue.inner_text()
        expect(row).to_contain_text("submitted")
        record = api.executions.get(run.id)
        assert record.queue is not None and record.queue["state"] == "PENDING", record.queue
        screenshot(page, "lab-panel-remote-pending")
    finally:
        subprocess.run(["scancel", holder], check=False, timeout=60)
    expect(row).to_contain_text("running", timeout=120_000)
    expect(queue).to_have_text(re.compile(rf"job {job_id} · RUNNING"), timeout=60_000)
    expect(row.locator(".eflows-progress-text")).to_have_text(re.compile(r"\d/3 tasks"),
                                                              timeout=120_000)
    screenshot(page, "lab-panel-remote-running")
    expect(row).to_contain_text("done", timeout=180_000)
    expect(status).to_have_text("eFlows: 0 running", timeout=30_000)
    # finished: the id (and the limit), no queue state left
    expect(queue).to_have_text(re.compile(rf"^job {job_id}( · limit \S+)?$"))
    assert api.executions.get(run.id).state.value == "done"
    screenshot(page, "lab-panel-remote-done")
    api.close()
