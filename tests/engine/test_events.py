"""The task-event stream: schema, gap-free numbering, the log file, resuming."""

from __future__ import annotations

import json
import time

import pytest

from eflows_kernel.events import EventLogReader, EventStream, read_events, validate_event
from eflows_kernel.events.schema import event_json_schema
from eflows_kernel.model import compss_barrier, compss_wait_on, on_failure, task
from tests.conftest import REPO, task_events


@task(returns=1)
def double(x: int) -> int:
    time.sleep(0.05)
    return 2 * x


@task(returns=1)
def add(a: int, b: int) -> int:
    return a + b


@on_failure(management="IGNORE", returns=0)
@task(returns=1)
def broken(x: int) -> int:
    raise ArithmeticError(f"no way with {x}")


def _run_small_graph() -> int:
    a, b = double(1), double(2)
    total = add(a, b)
    add(total, broken(3))
    return compss_wait_on(total)


def test_every_event_matches_the_schema_and_seq_has_no_gap(engine):
    assert _run_small_graph() == 6
    compss_barrier()
    engine.stop()
    events = engine.events.events()
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["run"] for e in events} == {engine.run_id}
    runs = [e["state"] for e in events if e["type"] == "run"]
    assert runs == ["starting", "running", "done"]
    assert events[-1]["counts"] == {"done": 4, "failed": 1}


def test_task_events_carry_dependencies_names_workers_and_errors(engine):
    _run_small_graph()
    compss_barrier()
    first = {e["task"]: e for e in reversed(task_events(engine))}  # first event per task
    assert first[1]["name"] == "double" and first[1]["deps"] == []
    assert first[3]["name"] == "add" and first[3]["deps"] == [1, 2]
    assert first[3]["args"] == {"a": "<output of task #1>", "b": "<output of task #2>"}
    assert first[1]["state"] == "ready" and first[3]["state"] == "pending"
    states = [e["state"] for e in task_events(engine, 3)]
    assert states == ["pending", "ready", "running", "done"]
    done = task_events(engine, 1)[-1]
    assert done["worker"].startswith("tcp://") and done["ended"] >= done["started"]
    failed = task_events(engine, 4)[-1]
    assert failed["state"] == "failed" and "ArithmeticError: no way with 3" in failed["error"]


def test_log_file_holds_exactly_the_events_in_memory(engine):
    _run_small_graph()
    engine.stop()
    on_disk = read_events(engine.events.log_path)
    assert on_disk == json.loads(json.dumps(engine.events.events()))


def test_reader_resumes_from_a_sequence_number(engine):
    _run_small_graph()
    engine.stop()
    path = engine.events.log_path
    everything = read_events(path)
    resumed = read_events(path, from_seq=5)
    assert [e["seq"] for e in resumed] == [e["seq"] for e in everything[5:]]


def test_reader_follows_a_growing_log_and_skips_partial_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    stream = EventStream("r1", path)
    reader = EventLogReader(path)
    stream.emit("run", state="running")
    stream.flush()
    assert [e["seq"] for e in reader.poll()] == [1]
    with open(path, "a") as f:  # a writer caught in the middle of a line
        f.write('{"v":1,"seq":2,"run":"r1"')
    assert reader.poll() == []
    with open(path, "a") as f:
        f.write(',"ts":1.0,"type":"run","state":"done"}\n')
    assert [e["seq"] for e in reader.poll()] == [2]
    assert reader.poll() == []


def test_subscribers_get_history_then_live_events(tmp_path):
    stream = EventStream("r2")
    for _ in range(3):
        stream.emit("log", level="INFO", message="hello")
    seen: list[int] = []
    subscription = stream.subscribe(lambda e: seen.append(e["seq"]), from_seq=1)
    stream.emit("log", level="INFO", message="live")
    subscription.close()
    stream.emit("log", level="INFO", message="after")
    assert seen == [2, 3, 4]
    only_new: list[int] = []
    stream.subscribe(lambda e: only_new.append(e["seq"]), from_seq=None)
    stream.emit("log", level="INFO", message="new")
    assert only_new == [6]


def test_a_failing_subscriber_does_not_break_the_stream():
    stream = EventStream("r3")
    stream.subscribe(lambda e: 1 / 0)
    assert stream.emit("run", state="running")["seq"] == 1
    assert stream.emit("run", state="done")["seq"] == 2


def test_schema_rejects_unknown_fields_and_states():
    good = {"v": 1, "seq": 1, "run": "r", "ts": 0.0, "type": "task", "task": 1,
            "state": "running"}
    validate_event(good)
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        validate_event({**good, "state": "sleeping"})
    with pytest.raises(ValidationError):
        validate_event({**good, "colour": "red"})


def test_published_json_schema_is_current():
    """docs/event-schema.json is generated from the models; regenerate when they change."""
    published = json.loads((REPO / "docs" / "event-schema.json").read_text())
    assert published == event_json_schema(), (
        "docs/event-schema.json is stale: run python -m eflows_kernel.events")
