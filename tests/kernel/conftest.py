"""Real Jupyter kernels (eFlows and plain python3), driven through jupyter_client."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# A cell printing the kernel's pid, its Dask worker pids and all its child processes.
PROBE = """
import json as _json, os as _os, psutil as _psutil
from eflows_kernel.engine import current_engine as _current_engine
_engine = _current_engine()
print(_json.dumps({
    "kernel": _os.getpid(),
    "run": _engine.run_id if _engine is not None else None,
    "workers": sorted(_engine.client.run(_os.getpid).values()) if _engine is not None else [],
    "children": sorted(p.pid for p in _psutil.Process().children(recursive=True)
                       if p.status() != _psutil.STATUS_ZOMBIE),
}))
"""

SQUARES = """
from pycompss.api.task import task
from pycompss.api.api import compss_wait_on

@task(returns=1)
def square(x):
    return x * x

print(compss_wait_on([square(i) for i in range(6)]))
"""


@dataclass
class CellResult:
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.messages
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    @property
    def widget_displays(self) -> list[dict[str, Any]]:
        return [m["content"]["data"] for m in self.messages
                if m["msg_type"] == "display_data" and WIDGET_MIME in m["content"]["data"]]

    def last_json(self) -> Any:
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_cell(client: Any, code: str, timeout: float = 60) -> CellResult:
    result = CellResult()
    reply = client.execute_interactive(code, output_hook=result.messages.append,
                                       timeout=timeout)
    content = reply["content"]
    if content["status"] != "ok":
        raise AssertionError("cell failed:\n" + "\n".join(content.get("traceback", []))
                             + f"\n{content.get('ename')}: {content.get('evalue')}")
    return result


def is_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids: list[int], timeout: float = 15) -> list[int]:
    """Wait until every pid has exited (a zombie counts); return those still alive."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if not is_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if not is_gone(p)]
    return alive


@contextmanager
def kernel(name: str, cwd: Path, **env: str) -> Iterator[tuple[Any, Any]]:
    """A started kernel and its ready client; shut down (and waited for) at exit."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=name)
    km.start_kernel(env={**os.environ, **env}, cwd=str(cwd))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield km, client
    finally:
        client.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=False)


@pytest.fixture
def kernel_dir(tmp_path: Path) -> Path:
    path = tmp_path / "kernel-cwd"
    path.mkdir()
    return path
