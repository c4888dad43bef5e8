"""A task that overwrites a file only waits for the file's readers: their
cancellation (a COMPSsException in their group) releases it, as in PyCOMPSs'
2_cancel_running_tasks, instead of cancelling it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_workshop_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("workshop_app", "workshop_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 1, "seen": {
        "caught": ["the line jammed", "the line jammed"], "log": "JRJR"}}
