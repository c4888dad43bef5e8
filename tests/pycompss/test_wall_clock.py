"""--wall_clock_limit: the run is stopped at its limit and reported, as runcompss does."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pycompss.conftest import app_path, assert_exit, read_events

pytestmark = pytest.mark.slow

APP = app_path("wall_clock_app", "wall_clock_app.py")


def test_the_run_stops_at_its_limit(run_app: Callable[..., subprocess.CompletedProcess],
                                    tmp_path: Path) -> None:
    proc = run_app(APP, "120", extra=("--wall_clock_limit=3", "--event-log", "run.jsonl"))
    assert_exit(proc, 0)  # runcompss exits with 0 when it stops a run at its limit
    assert "quick 2" in proc.stdout
    assert "finished" not in proc.stdout
    assert "Wall clock limit reached" in proc.stderr
    events = read_events(tmp_path / "run.jsonl")
    runs = [e for e in events if e["type"] == "run"]
    started = next(e for e in runs if e["state"] == "running")
    final = runs[-1]
    assert final["state"] == "cancelled"
    assert final["error"] == "wall clock limit of 3 s reached"
    assert final["counts"] == {"done": 1, "cancelled": 2}
    # Stopped at the limit, not when the two-minute tasks would have ended.
    assert 3 <= final["ts"] - started["ts"] < 15


def test_the_application_sets_its_own_limit(
        run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path) -> None:
    proc = run_app(APP, "120", "2", extra=("--event-log", "run.jsonl"))
    assert_exit(proc, 0)
    assert "finished" not in proc.stdout
    final = read_events(tmp_path / "run.jsonl")[-1]
    assert final["state"] == "cancelled" and final["error"] == "wall clock limit of 2 s reached"


def test_a_run_within_its_limit_is_untouched(
        run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path) -> None:
    proc = run_app(APP, "0.2", extra=("--wall_clock_limit=600", "--event-log", "run.jsonl"))
    assert_exit(proc)
    assert "finished [0.2, 0.2]" in proc.stdout
    assert read_events(tmp_path / "run.jsonl")[-1]["state"] == "done"
