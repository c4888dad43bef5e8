"""A real ``LocalClient`` on a temporary state, and the apps the portal tests deploy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eflows_kernel.client import LocalClient

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "apps"
MINIMAL = REPO / "tests" / "fixtures" / "workflow-registry" / "minimal_workflow"
INCREMENT_CHAIN = APPS / "increment_chain.py"

SPIN_APP = '''"""A task that never ends, until it is cancelled."""
import time
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=int)
def spin(n):
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    print("spinning", flush=True)
    compss_wait_on(spin(1))
'''


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LocalClient]:
    local = LocalClient(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                        vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                        workers=2)
    yield local
    local.close(cancel_runs=True)


@pytest.fixture
def spin_app(tmp_path: Path) -> Path:
    path = tmp_path / "spin.py"
    path.write_text(SPIN_APP)
    return path


def eventually(check: Callable[[], object], timeout: float = 30.0,
               interval: float = 0.05) -> object:
    """``check()``'s first truthy result within ``timeout`` seconds (AssertionError else).

    Generous: a local run takes seconds alone but far longer on the shared 2-core machine.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check}")
        time.sleep(interval)
