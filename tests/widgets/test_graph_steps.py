"""The live graph of a step graph: each step's tasks apart (named by step), each step's
state in the header, and only the graph's own run event ending the view."""

from __future__ import annotations

from typing import Any

from eflows_kernel.widgets.graph_model import RunGraphModel
from eflows_kernel.widgets.graph_wire import WireEncoder


def graph_log() -> list[dict[str, Any]]:
    """What StepGraphs writes: step events, and each step's own events tagged by step."""
    raw: list[dict[str, Any]] = [
        {"type": "step", "step": "prepare", "state": "running"},
        {"type": "run", "step": "prepare", "state": "running", "step_seq": 1},
        {"type": "task", "step": "prepare", "task": 1, "state": "pending", "name": "count",
         "deps": []},
        {"type": "task", "step": "prepare", "task": 1, "state": "done"},
        {"type": "run", "step": "prepare", "state": "done", "step_seq": 4},
        {"type": "step", "step": "prepare", "state": "done"},
        {"type": "step", "step": "left", "state": "running"},
        {"type": "task", "step": "left", "task": 1, "state": "pending", "name": "count",
         "deps": []},
        {"type": "task", "step": "left", "task": 2, "state": "pending", "name": "merge",
         "deps": [1]},
        {"type": "task", "step": "left", "task": 1, "state": "running", "worker": "tcp://h:1",
         "started": 5.0},
    ]
    return [{"v": 1, "seq": n, "run": "graph", "ts": float(n), **e}
            for n, e in enumerate(raw, start=1)]


def test_the_steps_tasks_stay_apart_and_a_steps_end_does_not_end_the_view() -> None:
    model = RunGraphModel()
    for event in graph_log():
        model.apply(event)
    names = {info.id: info.name for info in model.tasks.values()}
    assert sorted(names.values()) == ["left/count", "left/merge", "prepare/count"]
    merge = next(i for i in model.tasks.values() if i.name == "left/merge")
    assert names[merge.deps[0]] == "left/count"  # its dependency in its own step
    assert model.status() == "running"  # prepare's run ended, the graph did not
    left_count = next(i for i in model.tasks.values() if i.name == "left/count")
    assert left_count.state == "running"
    header = WireEncoder(model).header()
    assert header["steps"] == [["prepare", "done"], ["left", "running"]]
    model.apply({"v": 1, "seq": 20, "run": "graph", "ts": 20.0, "type": "run",
                 "state": "failed", "error": "step(s) left did not succeed"})
    assert model.status() == "failed" and left_count.state == "cancelled"
