"""The session's shared workers (tests/plugins/shared_workers.py) leave no run's state to
the next: a helper module of the same name in two applications is the application's own
each time, and a task works in the test's directory as with a runner's own workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.shared_workers

APP = """
import json
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def ask(i):
    import os

    import same_name_helper
    return [same_name_helper.VALUE, os.getcwd()]


print("RESULT " + json.dumps(compss_wait_on([ask(i) for i in range(6)])))
"""


def _app(folder: Path, value: int) -> Path:
    folder.mkdir()
    (folder / "same_name_helper.py").write_text(f"VALUE = {value}\n")
    (folder / "app.py").write_text(APP)
    return folder / "app.py"


def _loaded(name: str) -> bool:
    return name in sys.modules


def test_each_run_gets_its_own_helpers_and_directory(
        run_app: Callable[..., subprocess.CompletedProcess], shared_workers: Any,
        tmp_path: Path) -> None:
    for value in (1, 2):
        proc = run_app(str(_app(tmp_path / f"app{value}", value)))
        assert proc.returncode == 0, proc.stderr
        assert "--scheduler" in proc.args  # it did share
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
        assert json.loads(line[len("RESULT "):]) == [[value, str(tmp_path)]] * 6
        assert not any(shared_workers.client.run(_loaded, "same_name_helper").values())
        started_in = {state["cwd"] for state in shared_workers.state.values()}
        assert set(shared_workers.client.run(os.getcwd).values()) == started_in
