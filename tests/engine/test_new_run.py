"""After a task failure stopped the run, a new run goes on with the same workers."""

from __future__ import annotations

import json

import pytest

from eflows_kernel.engine.scope import next_log_path
from eflows_kernel.model import (
    TaskCancelledError,
    TaskFailedError,
    TaskGroup,
    compss_barrier_group,
    compss_wait_on,
    task,
)


@task(returns=1)
def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


@task(returns=1)
def inc(x: int) -> int:
    return x + 1


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_failure_says_what_happened_and_what_to_do(engine):
    with pytest.raises(TaskFailedError) as info:
        compss_wait_on(boom(1))
    message = str(info.value)
    assert message.startswith("task 'boom' (#1) failed 3 times (on_failure=RETRY, the "
                              "default); the workflow stopped.")
    assert "on_failure='IGNORE'" in message and "ValueError: boom 1" in message
    # Until a new run starts, the old failure stands.
    with pytest.raises(TaskFailedError):
        inc(1)


def test_a_new_run_after_a_failure_keeps_the_old_runs_log_and_outputs(engine):
    ok = inc(1)
    assert compss_wait_on(ok) == 2
    doomed = inc(boom(1))
    with pytest.raises(TaskFailedError):
        compss_wait_on(doomed)
    old_run, old_log = engine.run_id, engine.events.log_path

    assert engine.new_run() == old_run
    assert engine.run_id != old_run and engine.graph.fatal is None
    final = read(old_log)[-1]
    assert final["type"] == "run" and final["state"] == "failed"
    assert final["info"] == {"next_run": engine.run_id}
    assert "boom" in final["error"] and final["counts"]["cancelled"] == 1

    assert compss_wait_on(inc(10)) == 11  # the next cell works
    assert compss_wait_on(inc(ok)) == 3  # done outputs of the old run still count
    with pytest.raises(TaskCancelledError):
        compss_wait_on(doomed)  # what never ran says so
    engine.events.flush()
    new_events = read(engine.events.log_path)
    assert new_events[0]["type"] == "run" and new_events[0]["state"] == "running"
    assert new_events[0]["info"]["previous_run"] == old_run
    assert {e["run"] for e in new_events} == {engine.run_id}
    assert [e["seq"] for e in new_events] == list(range(1, len(new_events) + 1))
    task_ids = [e["task"] for e in new_events if e["type"] == "task"]
    assert min(task_ids) == 4  # ids go on counting: old outputs keep their meaning


def test_groups_start_afresh_in_the_new_run(engine):
    with pytest.raises(TaskFailedError), TaskGroup("g"):
        boom(1)
    engine.new_run()
    with TaskGroup("g"):
        inc(1)
    compss_barrier_group("g")  # no stale exception, no stale count


def test_a_new_run_without_a_failure_ends_the_old_one_done(engine):
    compss_wait_on(inc(1))
    old_log = engine.events.log_path
    engine.new_run()
    assert read(old_log)[-1]["state"] == "done"


def test_new_log_paths_sit_next_to_the_old_one(tmp_path):
    assert next_log_path(tmp_path / "abc.jsonl", "abc", "def") == tmp_path / "def.jsonl"
    assert next_log_path(tmp_path / "run.jsonl", "abc", "def") == tmp_path / "run-def.jsonl"
    assert next_log_path(None, "abc", "def") is None
