"""``pycompss.util.sharedmemory.shma`` (used by PyCOMPSs' 1_sharedarray test
program): arrays in shared memory, in the main program and attached to by a task."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_darkroom_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("darkroom_app", "darkroom_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 2, "seen": {
        "main": ["ndarray", [4, 5], 20.0],
        # ones(3, 3) + 10 in the worker: the main program's array changed too.
        "task": [[3, 3], 99.0], "after": 99.0}}
