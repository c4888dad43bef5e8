"""Task groups and COMPSsException: cancel the group, raise at its barrier."""

from __future__ import annotations

import time

import pytest

from eflows_kernel.model import (
    COMPSsException,
    EngineError,
    TaskFailedError,
    TaskGroup,
    compss_barrier,
    compss_barrier_group,
    compss_cancel_group,
    compss_wait_on,
    task,
)
from tests.conftest import states_of, task_events


@task(returns=1)
def slow_square(x: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # Python-level loop: interruptible when cancelled
        time.sleep(0.02)
    return x * x


@task(returns=1)
def check(x: int, limit: int) -> int:
    if x > limit:
        raise COMPSsException(f"{x} is over {limit}")
    return x


def test_exception_cancels_the_group_and_is_raised_at_its_barrier(engine):
    started = time.monotonic()
    with pytest.raises(COMPSsException, match="5 is over 3"), TaskGroup("checks"):
        long_one = slow_square(2, 30)
        check(5, 3)
    assert time.monotonic() - started < 20  # the 30 s task was cancelled, not awaited
    assert states_of(engine, 1)[-1] == "cancelled"
    assert states_of(engine, 2)[-1] == "failed"
    assert all(e.get("groups") == ["checks"] for e in task_events(engine) if "name" in e)
    # The main program goes on: the run is not stopped by a group exception.
    assert compss_wait_on(slow_square(3, 0)) == 9
    del long_one


def test_group_without_implicit_barrier(engine):
    with TaskGroup("later", implicit_barrier=False):
        outs = [check(x, 10) for x in range(4)]
        compss_wait_on(outs[0])  # the group is still open for synchronisation
        bad = check(11, 10)  # (submitted later, so that it cannot cancel outs[0])
    with pytest.raises(COMPSsException, match="11 is over 10"):
        compss_barrier_group("later")
    del bad


def test_group_barrier_waits_for_all_its_tasks(engine):
    with TaskGroup("squares"):
        outs = [slow_square(x, 0.2) for x in range(4)]
    assert all(states_of(engine, i)[-1] == "done" for i in range(1, 5))
    assert compss_wait_on(outs) == [0, 1, 4, 9]


def test_cancel_group(engine):
    with TaskGroup("doomed", implicit_barrier=False):
        slow_square(1, 30)
        slow_square(2, 30)
    started = time.monotonic()
    compss_cancel_group("doomed")
    compss_barrier()
    assert time.monotonic() - started < 20
    assert states_of(engine, 1)[-1] == "cancelled"
    assert states_of(engine, 2)[-1] == "cancelled"


def test_unknown_group_is_a_clear_error(engine):
    with pytest.raises(EngineError, match="no task group named 'nope'"):
        compss_barrier_group("nope")


def test_compss_exception_outside_a_group_fails_the_run(engine):
    with pytest.raises(TaskFailedError, match="COMPSsException"):
        compss_wait_on(check(9, 1))
