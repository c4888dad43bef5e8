"""PyCOMPSs' argument check at definition (its 8_argument_error test program): a
decorator without a mandatory argument is refused; older spellings are accepted."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_blueprint_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("blueprint_app", "blueprint_app.py"), workers=1)
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 2, "seen": {
        "refused": ["TaskDefinitionError"] * 4, "deprecated": ["@compss", "@decaf"]}}
