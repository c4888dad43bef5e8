"""The graph model: layout that never moves, counts, aggregates, timeline attempts."""

from __future__ import annotations

from typing import Any

from eflows_kernel.widgets.graph_model import RunGraphModel, first_line


class Stream:
    """Builds events the way the engine does."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return {"v": 1, "seq": self.seq, "run": "r", "ts": 100.0 + self.seq, **fields}

    def submit(self, task: int, name: str, deps: list[int] | None = None) -> dict[str, Any]:
        return self(type="task", task=task, state="pending" if deps else "ready", name=name,
                    deps=deps or [])


def test_layers_follow_dependencies_and_positions_never_move():
    ev, model = Stream(), RunGraphModel()
    for event in (ev.submit(1, "a"), ev.submit(2, "a"), ev.submit(3, "b", [1, 2]),
                  ev.submit(4, "c", [3, 1])):
        model.apply(event)
    layers = {t: model.tasks[t].layer for t in model.tasks}
    assert layers == {1: 0, 2: 0, 3: 1, 4: 2}
    before = {t: (i.x, i.layer) for t, i in model.tasks.items()}
    for task in range(5, 40):  # many more tasks in every layer
        model.apply(ev.submit(task, "a", [] if task % 2 else [1]))
    assert {t: (model.tasks[t].x, model.tasks[t].layer) for t in before} == before
    xs = [model.tasks[t].x for t in model.tasks if model.tasks[t].layer == 0]
    assert len(xs) == len(set(xs))  # no two nodes on the same spot


def test_counts_and_function_aggregates_follow_state_changes():
    ev, model = Stream(), RunGraphModel()
    model.apply(ev.submit(1, "load"))
    model.apply(ev.submit(2, "load"))
    model.apply(ev.submit(3, "merge", [1, 2]))
    for task in (1, 2):
        model.apply(ev(type="task", task=task, state="running", attempt=1, worker="w1",
                       started=1.0))
    model.apply(ev(type="task", task=1, state="done", attempt=1, worker="w1", started=1.0,
                   ended=2.0))
    model.apply(ev(type="task", task=2, state="failed", attempt=1, worker="w1", started=1.0,
                   ended=2.5, final=True, error="Traceback\n  ...\nValueError: bad\n"))
    model.apply(ev(type="task", task=3, state="cancelled", reason="task #2 failed"))
    assert model.counts == {"pending": 0, "ready": 0, "running": 0, "done": 1,
                            "failed": 1, "cancelled": 1}
    assert model.finished == model.total == 3
    load, merge = model.functions["load"], model.functions["merge"]
    assert load.counts["done"] == 1 and load.counts["failed"] == 1
    assert load.state() == "failed" and merge.state() == "cancelled"
    assert merge.deps == {"load"} and merge.layer == load.layer + 1
    hover = model.tasks[2].hover()
    assert "load" in hover and "failed" in hover and "attempt: 1" in hover
    assert "duration: 1.500 s" in hover and "worker: w1" in hover
    assert "ValueError: bad" in hover and "Traceback" not in hover


def test_timeline_records_each_attempt():
    ev, model = Stream(), RunGraphModel()
    model.apply(ev.submit(1, "flaky"))
    model.apply(ev(type="task", task=1, state="running", attempt=1, worker="w1", started=1.0))
    model.apply(ev(type="task", task=1, state="failed", attempt=1, worker="w1", started=1.0,
                   ended=2.0, final=False, error="E"))
    model.apply(ev(type="task", task=1, state="running", attempt=2, worker="w2", started=3.0))
    model.apply(ev(type="task", task=1, state="done", attempt=2, worker="w2", started=3.0,
                   ended=4.0))
    attempts = [(a.worker, a.started, a.ended, a.state) for a in model.attempts]
    assert attempts == [("w1", 1.0, 2.0, "failed"), ("w2", 3.0, 4.0, "done")]
    assert model.tasks[1].attempt == 2 and model.tasks[1].state == "done"


def test_first_task_filter_and_joining_mid_run():
    ev, model = Stream(), RunGraphModel(first_task=3)
    model.apply(ev.submit(1, "old"))
    model.apply(ev(type="task", task=2, state="running"))  # no first event seen: ignored
    model.apply(ev.submit(3, "new", [1]))
    assert list(model.tasks) == [3]
    assert model.tasks[3].layer == 0  # its dependency is not drawn


def test_changes_are_handed_out_once():
    ev, model = Stream(), RunGraphModel()
    model.apply(ev.submit(1, "a"))
    new, changed = model.take_changes()
    assert new == [1] and changed == {1}
    assert model.take_changes() == ([], set())
    model.apply(ev(type="task", task=1, state="running"))
    assert model.take_changes() == ([], {1})


def test_first_line_of_an_error_is_the_exception_line():
    assert first_line("Traceback (most recent call last):\n  File x\nKeyError: 'k'\n") == \
        "KeyError: 'k'"
    assert first_line("") == ""
