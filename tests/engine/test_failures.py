"""PyCOMPSs failure management: on_failure modes, retries and time_out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eflows_kernel.model import (
    TaskCancelledError,
    TaskFailedError,
    compss_barrier,
    compss_wait_on,
    on_failure,
    task,
)
from tests.conftest import states_of, task_events


@task(returns=1)
def flaky(counter_file: str, failures: int) -> int:
    """Fails ``failures`` times (counted in a file, so across attempts), then succeeds."""
    path = Path(counter_file)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < failures:
        raise ValueError(f"boom on attempt {count + 1}")
    return count + 1


@task(returns=1, on_failure="FAIL")
def fail_now(x: int) -> int:
    raise ValueError(f"cannot handle {x}")


@task(returns=1)
def add_one(x: int) -> int:
    return x + 1


@task(returns=1)
def slow(seconds: float) -> float:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # Python-level loop: interruptible when cancelled
        time.sleep(0.02)
    return seconds


@on_failure(management="IGNORE", returns=-1)
@task(returns=1)
def ignored_with_default(x: int) -> int:
    raise RuntimeError("ignored")


@task(returns=1, on_failure="IGNORE")
def ignored_without_default(x: int) -> int:
    raise RuntimeError("ignored")


@task(returns=1, on_failure="CANCEL_SUCCESSORS")
def cancel_my_successors(x: int) -> int:
    raise RuntimeError("successors must not run")


@task(returns=1, time_out=1, on_failure="IGNORE")
def too_long_ignored(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task(returns=1, time_out=1, on_failure="FAIL")
def too_long_fatal(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task(returns=1, time_out=20)
def in_time(x: int) -> int:
    return x * 2


def test_retry_runs_the_task_again_until_it_succeeds(engine, tmp_path):
    """RETRY (the default): failed attempts are retried, each one reported."""
    result = compss_wait_on(flaky(str(tmp_path / "count"), 2))
    assert result == 3
    states = [(e["state"], e.get("attempt"), e.get("final")) for e in task_events(engine, 1)]
    assert states[-6:] == [("running", 1, None), ("failed", 1, False),
                           ("running", 2, None), ("failed", 2, False),
                           ("running", 3, None), ("done", 3, None)]
    failed = [e for e in task_events(engine, 1) if e["state"] == "failed"]
    assert "boom on attempt 1" in failed[0]["error"]


def test_retry_exhausted_stops_the_run_with_the_task_traceback(engine, tmp_path):
    out = flaky(str(tmp_path / "count"), 10)
    with pytest.raises(TaskFailedError) as info:
        compss_wait_on(out)
    message = str(info.value)
    assert "flaky" in message and "#1" in message
    assert "ValueError: boom on attempt 3" in message
    assert "raise ValueError" in message  # the task's own traceback
    assert states_of(engine, 1).count("running") == 3
    with pytest.raises(TaskFailedError):  # the run is stopped: no new tasks
        add_one(1)


def test_fail_stops_the_run_and_cancels_what_is_left(engine):
    long_one = slow(30)
    failing = fail_now(7)
    started = time.monotonic()
    with pytest.raises(TaskFailedError, match="cannot handle 7"):
        compss_wait_on(failing)
    with pytest.raises(TaskFailedError):
        compss_barrier()
    assert time.monotonic() - started < 20  # the 30 s task was not waited for
    assert states_of(engine, 2).count("running") == 1  # FAIL: no retry
    assert states_of(engine, 1)[-1] == "cancelled"
    with pytest.raises(TaskFailedError):
        compss_wait_on(long_one)


def test_ignore_gives_successors_the_declared_default(engine):
    assert compss_wait_on(add_one(ignored_with_default(1))) == 0  # -1 + 1
    assert compss_wait_on(ignored_without_default(1)) is None
    compss_barrier()  # an ignored failure does not stop the run
    assert states_of(engine, 1)[-1] == "failed"
    assert states_of(engine, 2)[-1] == "done"
    last = task_events(engine, 1)[-1]
    assert last["final"] is True and last["on_failure"] == "IGNORE"


def test_cancel_successors_cancels_the_chain_and_the_run_goes_on(engine):
    failed = cancel_my_successors(1)
    child = add_one(failed)
    grandchild = add_one(child)
    independent = add_one(41)
    assert compss_wait_on(independent) == 42
    compss_barrier()  # not a fatal failure
    assert states_of(engine, 1)[-1] == "failed"
    assert states_of(engine, 2) == ["pending", "cancelled"]
    assert states_of(engine, 3) == ["pending", "cancelled"]
    with pytest.raises(TaskCancelledError, match="add_one"):
        compss_wait_on(grandchild)
    # A task submitted later on a cancelled output is cancelled at once.
    late = add_one(child)
    assert states_of(engine, 5) == ["pending", "cancelled"]
    with pytest.raises(TaskCancelledError):
        compss_wait_on(late)


def test_time_out_stops_the_task_and_applies_on_failure(engine):
    started = time.monotonic()
    assert compss_wait_on(too_long_ignored(60)) is None
    assert time.monotonic() - started < 20
    failed = [e for e in task_events(engine, 1) if e["state"] == "failed"]
    assert "time_out of 1 s" in failed[-1]["error"]
    assert compss_wait_on(in_time(21)) == 42  # a task within its time_out is untouched


def test_time_out_with_fail_stops_the_run(engine):
    with pytest.raises(TaskFailedError, match="time_out"):
        compss_wait_on(too_long_fatal(60))
