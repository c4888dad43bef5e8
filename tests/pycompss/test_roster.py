"""COMPSS_HOSTNAMES and StdIOStream files as PyCOMPSs gives them, what its
1_decorator_multinode and 1_decorator_container test programs rely on: a @multinode
Python body sees each node once (a program, a name per core), and a program's stdout
into a FILE_OUT replaces the file (into a FILE_INOUT, it is appended)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_roster_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("roster_app", "roster_app.py"), workers=2,
                   extra=("--threads-per-worker", "2"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 3, "seen": {
        # names, COMPSS_NUM_NODES, COMPSS_NUM_THREADS: two nodes of two cores each
        "multinode": [2, 2, 2],
        # one line (the second run's), two names (one node, two cores)
        "program": [1, 2],
        "log": ["opened", "one", "two"]}}
