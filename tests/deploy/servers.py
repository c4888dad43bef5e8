"""Real ``jupyter server`` processes with the extension on one state, started and killed as a
centre's restarts would (a helper for the restart tests, not a fixture)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from eflows_kernel.client import EflowsClient


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
             "--EflowsExtensionApp.job_poll_interval=0.2"],
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
