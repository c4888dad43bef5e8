"""A real Jupyter server with the extension, and helpers to reach it as a client would.

The client is synchronous (urllib) while the test server runs on the test's event
loop, so client calls go through ``asyncio.to_thread`` and the CLI runs as a real
subprocess (``python -m eflows_kernel.cli``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.client import EflowsClient
from tests.client.helpers import REPO, Result, Server
from tests.plugins.server import EFLOWS_ENV_VARS


@pytest.fixture
def server(jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str) -> Server:
    # ``http_server`` (pytest-jupyter) is what listens on the port; jp_fetch pulls it in.
    return Server(f"http://127.0.0.1:{jp_http_port}{jp_base_url}",
                  jp_serverapp.identity_provider.token)


@pytest.fixture
def client(server: Server) -> EflowsClient:
    return EflowsClient(server.url, server.token, timeout=30)


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Callable[..., Any]:
    """``await cli("workflows", "list")``: the CLI as a subprocess, against the server.

    Its stdin is a pipe holding ``stdin`` (empty by default): never a terminal.
    """

    async def run(*argv: str, auth: bool = True, env: dict[str, str] | None = None,
                  timeout: float = 120, stdin: str = "") -> Result:
        environ = {k: v for k, v in os.environ.items() if k not in EFLOWS_ENV_VARS}
        environ["EFLOWS_CONFIG"] = str(tmp_path / "no-config.toml")
        environ.update(env or {})
        prefix = ["--url", server.url, "--token", server.token] if auth else []
        completed = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "eflows_kernel.cli", *argv, *prefix],
            capture_output=True, text=True, env=environ, cwd=REPO, timeout=timeout,
            input=stdin)  # a pipe, never the terminal pytest may run in
        return Result(completed.returncode, completed.stdout, completed.stderr)

    return run
