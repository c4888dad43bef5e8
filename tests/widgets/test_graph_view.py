"""The live graph view on a real engine run, its coalescing, aggregation and replay."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from eflows_kernel.model import compss_barrier, compss_wait_on, task
from eflows_kernel.widgets.graph_model import STATE_COLOURS
from eflows_kernel.widgets.graph_view import TaskGraphView
from tests.widgets.test_graph_model import Stream


@task(returns=1)
def square(x: int) -> int:
    return x * x


@task(returns=1, on_failure="IGNORE")
def fragile(x: int) -> int:
    if x == 3:
        raise ValueError(f"three is not allowed (got {x})")
    return x


@task(returns=1)
def total(values: list[int]) -> int:
    return sum(values)


def wait_until(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the view"
        time.sleep(0.05)


def node_colours(view: TaskGraphView) -> dict[int, str]:
    colours = {}
    for chunk in view._chunks:
        for task_id, colour in zip(chunk.ids, chunk.nodes.marker.color or (), strict=False):
            colours[task_id] = colour
    return colours


def test_live_view_of_an_engine_run_turns_done(engine):
    view = TaskGraphView.for_engine(engine)
    outs = [square(i) for i in range(6)]
    assert compss_wait_on(total(outs)) == sum(i * i for i in range(6))
    compss_barrier()
    wait_until(lambda: view.model.counts["done"] == 7 and not view._pending)
    view.refresh()
    colours = node_colours(view)
    assert colours == dict.fromkeys(range(1, 8), STATE_COLOURS["done"])
    assert view.model.tasks[7].layer == 1  # total() drawn below the squares
    assert view._progress.value == view._progress.max == 7
    assert "done 7" in view._header.value
    chunk = view._chunks[0]
    hover = chunk.nodes.hovertext[6]
    assert "total" in hover and "worker: tcp://" in hover and "duration:" in hover
    assert len(chunk.edges.x) == 6 * 3  # one segment per dependency
    view.stop()


def test_clicking_a_failed_task_shows_its_error_and_arguments(engine):
    view = TaskGraphView.for_engine(engine)
    outs = [fragile(i) for i in range(5)]
    compss_wait_on(outs)
    wait_until(lambda: view.model.finished == 5 and not view._pending)
    view.refresh()
    failed = view.failed_tasks()
    assert [t.id for t in failed] == [4]
    assert "three is not allowed" in view._chunks[0].nodes.hovertext[3]
    trace = view._chunks[0].nodes
    view._on_click(trace, SimpleNamespace(point_inds=[3]), None)
    assert "Task #4 fragile" in view.details.value
    assert "ValueError: three is not allowed (got 3)" in view.details.value
    assert "raise ValueError" in view.details.value  # the full traceback
    assert "argument x" in view.details.value
    view.stop()


def test_updates_are_coalesced_to_at_most_ten_a_second():
    view = TaskGraphView(refresh_interval=0.1)
    ev = Stream()
    view.start()
    started = time.monotonic()
    for task_id in range(1, 3001):  # a burst of events, far faster than redraws
        view.feed(ev.submit(task_id, "burst"))
        view.feed(ev(type="task", task=task_id, state="done", attempt=1, worker="w",
                     started=1.0, ended=2.0))
    wait_until(lambda: view.model.counts["done"] == 3000 and not view._pending)
    elapsed = time.monotonic() - started
    assert view.renders <= elapsed / 0.1 + 2
    view.stop()


def test_large_runs_switch_to_one_node_per_function_without_blanking():
    view = TaskGraphView(max_nodes=100)
    ev = Stream()
    for task_id in range(1, 81):
        view.feed(ev.submit(task_id, "map"))
    view.refresh()
    assert not view._aggregated and len(view._chunks) == 1
    for task_id in range(81, 301):
        view.feed(ev.submit(task_id, "reduce" if task_id > 200 else "map",
                            [task_id - 100] if task_id > 200 else None))
    view.refresh()
    assert view._aggregated
    nodes = view.graph.data[-1]
    assert list(nodes.text) == ["map 0/200", "reduce 0/100"]
    assert len(view.graph.data) == 3 + 6 + 2  # timeline, legend, edges + function nodes
    for task_id in range(1, 301):
        view.feed(ev(type="task", task=task_id, state="done"))
    view.refresh()
    assert list(view.graph.data[-1].text) == ["map 200/200", "reduce 100/100"]
    assert list(view.graph.data[-1].marker.color) == [STATE_COLOURS["done"]] * 2
    view._on_click(nodes, SimpleNamespace(point_inds=[1]), None)
    assert "reduce" in view.details.value and "100/100 finished" in view.details.value


def test_replay_from_an_event_log(engine):
    outs = [fragile(i) for i in range(4)]
    compss_wait_on(outs)
    engine.stop()
    view = TaskGraphView.replay(engine.events.log_path)
    assert view.model.run_state == "done"
    assert view.model.counts["done"] == 3 and view.model.counts["failed"] == 1
    colours = node_colours(view)
    assert colours[4] == STATE_COLOURS["failed"]
    assert view._progress.value == 4
    assert len(view.timeline_traces[0].x) == 3  # done attempts on the timeline


def test_follow_a_log_that_is_being_written(engine):
    view = TaskGraphView.follow(engine.events.log_path)
    compss_wait_on([square(i) for i in range(3)])
    engine.stop()
    wait_until(lambda: view.model.run_state == "done" and view.model.counts["done"] == 3)
    view.stop()


def test_a_sealed_view_shows_only_its_cells_tasks_then_stops_following():
    view = TaskGraphView(first_task=3, refresh_interval=0.05)
    ev = Stream()
    view.start()
    for task_id in (1, 2, 3, 4):
        view.feed(ev.submit(task_id, "cell1" if task_id < 3 else "cell2"))
    view.seal(4)  # the cell that submitted tasks 3 and 4 has ended
    view.feed(ev.submit(5, "cell3"))
    for task_id in (3, 4):
        view.feed(ev(type="task", task=task_id, state="done"))
    wait_until(lambda: view._stop.is_set())
    assert view.model.order == [3, 4] and view.model.counts["done"] == 2
