"""The live graph view on real engine runs: what it sends, how often, and its details."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import comm
import pytest
from comm.base_comm import BaseComm

from eflows_kernel.model import compss_barrier, compss_wait_on, task
from eflows_kernel.widgets.graph_view import TaskGraphView
from tests.widgets.test_graph_model import Stream


@task(returns=1)
def square(x: int) -> int:
    print(f"squaring {x}")
    return x * x


@task(returns=1, on_failure="IGNORE")
def fragile(x: int) -> int:
    if x == 3:
        print("about to fail", file=sys.stderr)
        raise ValueError(f"three is not allowed (got {x})")
    return x


@task(returns=1)
def total(values: list[int]) -> int:
    return sum(values)


class RecordingComm(BaseComm):
    """A comm that keeps what a widget publishes, as the kernel would send it."""

    sent: ClassVar[list[tuple[dict[str, Any], list[bytes]]]] = []

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        if msg_type == "comm_msg":
            RecordingComm.sent.append((data, list(buffers or ())))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[dict[str, Any], list[bytes]]]]:
    RecordingComm.sent = []
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    yield RecordingComm.sent


def custom(sent: list[tuple[dict[str, Any], list[bytes]]], kind: str) -> list[dict[str, Any]]:
    return [data["content"] for data, _ in sent
            if data.get("method") == "custom" and data["content"].get("type") == kind]


def wait_until(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the view"
        time.sleep(0.05)


def test_live_view_of_an_engine_run_turns_done(engine, sent):
    view = TaskGraphView.for_engine(engine)
    outs = [square(i) for i in range(6)]
    assert compss_wait_on(total(outs)) == sum(i * i for i in range(6))
    compss_barrier()
    wait_until(lambda: view.model.counts["done"] == 7 and not view._pending)
    view.refresh()
    assert view.model.tasks[7].layer == 1  # total() drawn below the squares
    deltas = custom(sent, "delta")
    assert deltas and [d["base"] for d in deltas] == [d["seq"] - 1 for d in deltas]
    last = deltas[-1]["header"]
    assert last["counts"][3] == 7 and last["finished"] == last["total"] == 7
    assert last["status"] == "done"
    host = view.model.tasks[1].worker
    assert host and "/" in host and not host.startswith("tcp://")  # host/worker
    details = view.task_details(1)
    assert details["attempts"][0]["stdout"] == "squaring 0\n"
    assert details["attempts"][0]["usage"]["memory_max"] > 0
    view.stop()


def test_a_failed_task_brings_its_error_and_output(engine, sent):
    view = TaskGraphView.for_engine(engine)
    compss_wait_on([fragile(i) for i in range(5)])
    wait_until(lambda: view.model.finished == 5 and not view._pending)
    view.refresh()
    failed = view.failed_tasks()
    assert [t.id for t in failed] == [4]
    pushed = {}
    for delta in custom(sent, "delta"):
        pushed.update(delta["failures"])
    index = str(view.model.tasks[4].index)
    assert "ValueError: three is not allowed (got 3)" in pushed[index]["error"]
    assert "raise ValueError" in pushed[index]["error"]  # the whole traceback
    assert pushed[index]["stderr"] == "about to fail\n"
    info = view.show_task(4)
    assert info.id == 4 and view.selected == 4
    shown = custom(sent, "details")[-1]["details"]
    assert shown["args"] == {"x": "3"} and shown["on_failure"] == "IGNORE"
    assert view._snapshot_meta["selected"]["id"] == 4  # a reloaded page opens it too
    view.stop()


def test_updates_are_coalesced_to_the_refresh_rate(sent):
    view = TaskGraphView(refresh_interval=0.1)
    ev = Stream()
    view.start()
    started = time.monotonic()
    for task_id in range(1, 3001):  # a burst of events, far faster than redraws
        view.feed(ev.submit(task_id, "burst"))
        view.feed(ev.end(task_id))
    wait_until(lambda: view.model.counts["done"] == 3000 and not view._pending)
    time.sleep(0.3)
    elapsed = time.monotonic() - started
    assert view.renders <= elapsed / 0.1 + 2
    assert len(custom(sent, "delta")) == view.renders
    view.stop()


def test_counts_go_on_their_own_between_deltas(sent):
    view = TaskGraphView(refresh_interval=10)  # no delta but the first during the test
    view.header_interval = 0.05
    ev = Stream()
    view.feed(ev.submit(1, "a"))
    view.feed(ev.submit(2, "a"))
    view.refresh()  # the first delta: the front end has the tasks
    view.start()
    view.feed(ev.end(1))
    wait_until(lambda: any(h["header"]["finished"] == 1 for h in custom(sent, "header")))
    headers = custom(sent, "header")
    assert len(custom(sent, "delta")) == 1 and headers[-1]["seq"] == 1
    assert headers[-1]["header"]["counts"][3] == 1 and headers[-1]["header"]["total"] == 2
    time.sleep(0.2)  # nothing new: no more header messages
    assert len(custom(sent, "header")) == len(headers)
    view.stop()


def test_late_front_ends_start_from_a_snapshot_or_ask_for_one(sent):
    view = TaskGraphView()
    ev = Stream()
    for task_id in range(1, 11):
        view.feed(ev.submit(task_id, "t"))
    view.refresh(keyframe=True)
    assert view._snapshot_meta["kind"] == "snapshot"
    assert view._snapshot_meta["seq"] == view.encoder.seq == 1
    assert view._snapshot_meta["header"]["total"] == 10
    view._on_front_end_message(view, {"type": "hello", "seq": 0}, [])
    (snapshot,) = custom(sent, "snapshot")
    assert snapshot["seq"] == 1 and snapshot["header"]["total"] == 10
    view._on_front_end_message(view, {"type": "details", "index": 2}, [])
    assert custom(sent, "details")[-1]["details"]["id"] == 3
    view._on_front_end_message(view, {"type": "details", "index": 99}, [])  # ignored
    assert len(custom(sent, "details")) == 1


def test_replay_from_an_event_log_shows_the_final_state(engine):
    outs = [fragile(i) for i in range(4)]
    compss_wait_on(outs)
    engine.stop()
    view = TaskGraphView.replay(engine.events.log_path)
    assert view.model.run_state == "done" and view.model.status() == "done"
    assert view.model.counts["done"] == 3 and view.model.counts["failed"] == 1
    header = view._snapshot_meta["header"]
    assert header["status"] == "done" and header["finished"] == 4
    assert len(view.model.attempts) == 4


def test_follow_a_log_that_is_being_written(engine):
    view = TaskGraphView.follow(engine.events.log_path)
    compss_wait_on([square(i) for i in range(3)])
    engine.stop()
    wait_until(lambda: view.model.run_state == "done" and view.model.counts["done"] == 3)
    wait_until(lambda: view._stop.is_set())
    assert view._snapshot_meta["header"]["status"] == "done"  # the final picture stored


def test_a_sealed_view_shows_only_its_cells_tasks_then_stops_following():
    view = TaskGraphView(first_task=3, refresh_interval=0.05)
    ev = Stream()
    view.start()
    for task_id in (1, 2, 3, 4):
        view.feed(ev.submit(task_id, "cell1" if task_id < 3 else "cell2"))
    view.seal(4)  # the cell that submitted tasks 3 and 4 has ended
    view.feed(ev.submit(5, "cell3"))
    for task_id in (3, 4):
        view.feed(ev.end(task_id))
    wait_until(lambda: view._stop.is_set())
    assert view.model.order == [3, 4] and view.model.counts["done"] == 2
    assert view._snapshot_meta["header"]["sealed"] is True


def test_the_front_end_is_shipped_in_the_package():
    """Login nodes are offline: no CDN, the module is the package's own files."""
    source = TaskGraphView._esm
    assert "export default" in source and "class DagCanvas" in source
    assert "http://" not in source.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in source
    assert repr(TaskGraphView()) == "<eFlows task graph>"
