"""``@compss`` tasks run a whole PyCOMPSs application, as PyCOMPSs' 1_decorator_compss
test program relies on: the task's parameters are the application's arguments, its
result is the application's exit value (a failed application does not fail the task),
and with no ``runcompss`` here the application runs with this runtime."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_nested_app(run_app: Callable[..., subprocess.CompletedProcess],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNCOMPSS", raising=False)  # "${RUNCOMPSS}" stays unresolved
    proc = run_app(app_path("nested_app", "nested_app.py"), workers=2,
                   extra=("--threads-per-worker", "2"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 3, "seen": {
        # 1 + ... + 10, summed by the nested application's own tasks
        "sum": [0, 55],
        "default": [0, 7],
        # sys.exit(42); a nested task that raised: eflows-run's exit value for a failure
        "exits": [42, 1]}}
