"""COLLECTION_FILE_* parameters (as PyCOMPSs' 1_collections_files uses them): the same
list of file names given to several tasks; each waits for the files' last writers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_ledger_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("ledger_app", "ledger_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 2, "seen": {
        "cash": ["opened", "rent"],
        "audit": [["opened", "january", "february"]] * 3,
        "tax": ["opened", "january", "february"]}}
