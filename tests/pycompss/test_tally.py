"""``pycompss.api.reduce`` (PyCOMPSs' earlier name of ``@reduction``, used by its
1_decorator_reduce test program): chunked reductions of task outputs and values."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_tally_app(run_app: Callable[..., subprocess.CompletedProcess],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_CHUNK", "3")
    proc = run_app(app_path("tally_app", "tally_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 3, "seen": {
        "outputs": 20, "mixed": 15, "joined": "ballots"}}
