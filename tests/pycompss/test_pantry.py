"""What PyCOMPSs' runtime accepts and its own test programs rely on (0_basic1,
0_dynamic_computing_nodes): INOUT on immutable objects, generators passed to and
returned by tasks, ``sys`` in the main program without an import, and HPC sizes
naming a global or a parameter, read at each call."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_pantry_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("pantry_app", "pantry_app.py"), workers=3)
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 3, "seen": {
        # The list is updated by both tasks; tuple, complex and int keep their values.
        "immutable": [["jam", "honey", "honey"], ["honey", 2], [1.0, 2.0], 7],
        # The generator travels with what it has left: 0 and 1 were taken before.
        "next": 2,
        "rest": [2, 3, 4, 5, 6, 7, 8, 9],
        # crew = 2, then 3 (a global); helpers=1 (a parameter): 1 node * 10 + 1.
        "nodes": [2, 3, 11],
        "python": [3]}}
