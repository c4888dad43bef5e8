"""Helpers for the tests that run PyCOMPSs applications of tests/apps through eflows-run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import APPS


def app_path(*parts: str) -> str:
    return str(APPS.joinpath(*parts))


def result_of(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1, f"expected one RESULT line\nstdout:\n{proc.stdout}\n" \
                            f"stderr:\n{proc.stderr}"
    return json.loads(lines[0][len("RESULT "):])


def assert_exit(proc: subprocess.CompletedProcess, code: int = 0) -> None:
    assert proc.returncode == code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\n" \
                                    f"stderr:\n{proc.stderr}"


def read_events(path: Path) -> list[dict[str, Any]]:
    from eflows_kernel.events import validate_event

    events = [json.loads(line) for line in path.read_text().splitlines()]
    for event in events:
        validate_event(event)
    return events
