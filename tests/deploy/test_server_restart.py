"""A real Jupyter server killed during a remote run; the next one re-attaches and finishes it.

Both servers are real ``jupyter server`` processes with the extension, sharing one state
database and runs folder, as a restart at a centre would. The first is killed with
SIGKILL (no clean shutdown), so its owner locks are released by the system alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.client import EflowsClient
from tests.deploy.stack import seqs_are_gap_free, sleep_spec
from tests.plugins.cluster import SshdInfo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, state: Path, cache: Path) -> None:
        self.state, self.cache = state, cache
        self.token = os.urandom(16).hex()
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> EflowsClient:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EFLOWS_")}
        env["JUPYTER_DATA_DIR"] = str(self.state / "data")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
             f"--port={self.port}",
             "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.state}",
             f"--EflowsExtensionApp.state_url=sqlite:///{self.state / 'state.sqlite'}",
             f"--EflowsExtensionApp.vault_key_file={self.state / 'vault.key'}",
             f"--EflowsExtensionApp.runs_dir={self.state / 'runs'}",
             f"--EflowsExtensionApp.remote_cache_dir={self.cache}",
             "--EflowsExtensionApp.job_poll_interval=0.5"],
            stdout=open(self.state / f"server-{self.port}.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT, env=env)
        client = EflowsClient(self.url, self.token, timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.status()
                return client
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = (self.state / f"server-{self.port}.log").read_text()
                    raise AssertionError(log) from None
                time.sleep(0.2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def servers(tmp_path: Path, wheel_cache: Path) -> Iterator[tuple[Server, Server]]:
    first, second = Server(tmp_path, wheel_cache), Server(tmp_path, wheel_cache)
    try:
        yield first, second
    finally:
        first.kill()
        second.kill()


def test_killed_server_restarts_and_the_run_completes_visibly(
        servers: tuple[Server, Server], clean_account: SshdInfo, slurm_cluster: str) -> None:
    first, second = servers
    client = first.start()
    client.sites.add({"name": "cluster", "host": clean_account.host,
                      "port": clean_account.port, "login": clean_account.login,
                      "scheduler": "slurm", "python": {"path": "/usr/bin/python3"}})
    client.sites.trust("cluster", client.sites.scan("cluster").fingerprint)
    credential = client.credentials.generate("restart").id
    client.sites.authorize("cluster", credential, password=clean_account.password)
    workflow = client.workflows.register_spec(sleep_spec())
    execution = client.executions.trigger(workflow.id, {"n": 2, "seconds": 10.0},
                                          site="cluster", credential_id=credential)
    deadline = time.monotonic() + 180
    while client.executions.get(execution.id).state.value != "running":
        assert time.monotonic() < deadline, client.executions.get(execution.id)
        time.sleep(0.2)
    first.kill()  # no goodbye: its locks and connections just vanish

    client = second.start()
    events = list(client.executions.follow(execution.id))  # live, to the end
    done = client.executions.wait(execution.id, timeout=180)
    assert done.state.value == "done", done.error
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    all_events = client.executions.events(execution.id)
    seqs_are_gap_free(all_events)
    remote_log = clean_account.home / "eflows" / "runs" / execution.id / "events.jsonl"
    remote = [json.loads(line) for line in remote_log.read_text().splitlines()]
    by_seq = {e["seq"]: e for e in all_events}
    assert [by_seq.get(e["seq"]) for e in remote] == remote  # nothing lost or renumbered
