"""A @task direction for a name the function has no parameter of (PyCOMPSs'
2_cancel_running_tasks relies on it): ignored with a warning, as PyCOMPSs ignores it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_errata_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("errata_app", "errata_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 2,
                               "seen": {"length": 3, "count": [2, ["one"]]}}
    assert ("task 'stamp' declares FILE_OUT for 'path', but stamp() has no parameter "
            "named 'path' (parameters: target, mark); ignored, as PyCOMPSs does") \
        in proc.stderr
