"""A launcher script's inner runs merged into the run's own event stream (inner_runs.py):
their tasks renumbered in the run's ids, their seqs the run's, their run events lines of
the run's log. Inner logs are written here by real EventStreams, as eflows-run writes
them, while the merger follows them."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from eflows_kernel.engine.inner_runs import InnerRuns, add_counts
from eflows_kernel.events import EventStream, read_events, validate_event


def _inner_run(folder: Path, pid: int, app: str) -> EventStream:
    stream = EventStream(f"inner{pid}", folder / f"events-{pid}.jsonl")
    stream.emit("run", state="starting", app=app)
    stream.emit("run", state="running", app=app, info={"pid": pid})
    return stream


def _tasks(stream: EventStream, ids: range, deps: bool = True) -> None:
    for task in ids:
        stream.emit("task", task=task, state="pending", name="member",
                    deps=[task - 1] if deps and task > 1 else None)
    for task in ids:
        stream.emit("task", task=task, state="running", attempt=1, worker="tcp://w:1")
        stream.emit("task", task=task, state="done", attempt=1, started=1.0, ended=2.0)


def _merged(tmp_path: Path) -> tuple[EventStream, InnerRuns, itertools.count]:
    outer = EventStream("outer", tmp_path / "events.jsonl")
    outer.emit("run", state="starting", app="launch.sh")
    outer.emit("run", state="running", app="launch.sh")
    ids = itertools.count(1)
    logs = tmp_path / "inner"
    logs.mkdir()
    return outer, InnerRuns(outer, logs, ids.__next__, interval=0.02).start(), ids


def test_two_inner_runs_tasks_are_the_runs_with_its_ids_and_gap_free_seqs(
        tmp_path: Path) -> None:
    outer, inner, ids = _merged(tmp_path)
    first = _inner_run(tmp_path / "inner", 101, "simulate.py")
    _tasks(first, range(1, 4))
    deadline = time.monotonic() + 10
    while not [e for e in read_events(tmp_path / "events.jsonl") if e["type"] == "task"]:
        assert time.monotonic() < deadline, "the first run's tasks were not merged live"
        time.sleep(0.02)
    second = _inner_run(tmp_path / "inner", 102, "simulate.py")  # both running at once
    _tasks(second, range(1, 3))
    second.emit("run", state="done", app="simulate.py", counts={"done": 2})
    second.close()
    first.emit("run", state="failed", app="simulate.py", error="boom", counts={"done": 3})
    first.close()
    inner.close()
    outer.emit("run", state="done", app="launch.sh",
               counts=add_counts({}, inner.counts()))
    outer.close()

    events = read_events(tmp_path / "events.jsonl")
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["run"] for e in events} == {"outer"}
    runs = [e for e in events if e["type"] == "run"]
    assert [e["state"] for e in runs] == ["starting", "running", "done"]  # the outer's only
    assert runs[-1]["counts"] == {"done": 5}
    firsts = [e for e in events if e["type"] == "task" and e["state"] == "pending"]
    assert next(ids) == 6  # taken from the run's own counter
    # deps point at the renumbered task of the same inner run (written in this order)
    assert [(e["task"], e.get("deps")) for e in firsts] == [
        (1, None), (2, [1]), (3, [2]), (4, None), (5, [4])]
    done = [e for e in events if e["type"] == "task" and e["state"] == "done"]
    assert len(done) == 5 and all(e["started"] == 1.0 for e in done)  # timing kept
    lines = [e["message"] for e in events if e["type"] == "log"]
    assert "runcompss simulate.py (inner run 1): running" in lines
    assert "runcompss simulate.py (inner run 2): done (2 done)" in lines
    assert "runcompss simulate.py (inner run 1): failed (3 done): boom" in lines
    assert [e["level"] for e in events if e["type"] == "log" and "failed" in e["message"]] \
        == ["ERROR"]


def test_deps_are_renumbered_within_their_own_inner_run(tmp_path: Path) -> None:
    outer, inner, _ids = _merged(tmp_path)
    for pid in (201, 202):
        stream = _inner_run(tmp_path / "inner", pid, "chain.py")
        _tasks(stream, range(1, 3))
        stream.emit("run", state="done", app="chain.py", counts={"done": 2})
        stream.close()
    inner.close()
    outer.close()
    firsts = [e for e in read_events(tmp_path / "events.jsonl")
              if e["type"] == "task" and e["state"] == "pending"]
    # each inner run's task 2 waited for its own task 1: (1 <- 2) and (3 <- 4)
    assert sorted((e["task"], e.get("deps")) for e in firsts) == [
        (1, None), (2, [1]), (3, None), (4, [3])]


def test_close_waits_for_an_inner_run_that_has_not_ended_yet(tmp_path: Path) -> None:
    outer, inner, _ids = _merged(tmp_path)
    stream = _inner_run(tmp_path / "inner", 301, "late.py")
    started = time.monotonic()

    def finish_later() -> None:
        time.sleep(0.5)
        _tasks(stream, range(1, 2))
        stream.emit("run", state="done", app="late.py", counts={"done": 1})
        stream.close()

    threading.Thread(target=finish_later).start()
    inner.close(wait=10)
    assert 0.4 < time.monotonic() - started < 9
    assert inner.counts() == {"done": 1}
    outer.close()


def test_close_gives_up_on_an_inner_run_that_never_ends(tmp_path: Path) -> None:
    outer, inner, _ids = _merged(tmp_path)
    stream = _inner_run(tmp_path / "inner", 401, "killed.py")
    _tasks(stream, range(1, 2))
    stream.flush()
    started = time.monotonic()
    inner.close(wait=0.5)
    assert time.monotonic() - started < 3
    assert inner.counts() == {"done": 1}
    outer.close()
