"""The graph model: layout that never moves, counts, attempts, one status for the view."""

from __future__ import annotations

from typing import Any

from eflows_kernel.widgets.graph_model import RunGraphModel, first_line, worker_label


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

    def run(self, task: int, worker: str = "tcp://127.0.0.1:4000", attempt: int = 1,
            started: float = 1.0, **fields: Any) -> dict[str, Any]:
        return self(type="task", task=task, state="running", attempt=attempt, worker=worker,
                    started=started, **fields)

    def end(self, task: int, state: str = "done", worker: str = "tcp://127.0.0.1:4000",
            attempt: int = 1, started: float = 1.0, ended: float = 2.0,
            **fields: Any) -> dict[str, Any]:
        return self(type="task", task=task, state=state, attempt=attempt, worker=worker,
                    started=started, ended=ended, **fields)


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
        model.apply(ev.run(task, worker_name="node1/0"))
    model.apply(ev.end(1, ended=2.0))
    model.apply(ev.end(2, "failed", ended=2.5, final=True, on_failure="FAIL",
                       error="Traceback\n  ...\nValueError: bad\n"))
    model.apply(ev(type="task", task=3, state="cancelled", reason="task #2 failed"))
    assert model.counts == {"pending": 0, "ready": 0, "running": 0, "done": 1,
                            "failed": 1, "cancelled": 1}
    assert model.finished == model.total == 3
    load, merge = model.functions["load"], model.functions["merge"]
    assert load.counts["done"] == 1 and load.counts["failed"] == 1
    assert load.state() == "failed" and merge.state() == "cancelled"
    assert merge.deps == {"load"} and merge.layer == load.layer + 1
    assert load.mean_duration == 1.0  # the failed attempt does not count
    assert model.tasks[2].worker == "node1/0"  # host/worker, not the address
    assert list(model.workers) == ["node1/0"]
    assert model.status() == "failed"


def test_each_attempt_is_kept_with_its_error_output_and_usage():
    ev, model = Stream(), RunGraphModel()
    model.apply(ev.submit(1, "flaky"))
    model.apply(ev.run(1, worker="tcp://10.0.0.1:1", worker_name="a/0", started=1.0))
    model.apply(ev.end(1, "failed", worker="tcp://10.0.0.1:1", started=1.0, ended=2.0,
                       final=False, error="ValueError: first", stderr="oops\n"))
    model.apply(ev.run(1, worker="tcp://10.0.0.2:1", attempt=2, started=3.0))
    model.apply(ev.end(1, worker="tcp://10.0.0.2:1", attempt=2, started=3.0, ended=4.0,
                       stdout="42\n", usage={"cpu_mean": 90.0, "cpu_max": 99.0,
                                             "memory_max": 1e8, "samples": 2.0}))
    attempts = [(a.number, a.worker, a.started, a.ended, a.state, a.error)
                for a in model.task_attempts(model.tasks[1])]
    assert attempts == [(1, "a/0", 1.0, 2.0, "failed", "ValueError: first"),
                        (2, "10.0.0.2:1", 3.0, 4.0, "done", None)]
    first, second = model.task_attempts(model.tasks[1])
    assert first.stderr == "oops\n" and second.stdout == "42\n"
    assert second.usage["cpu_mean"] == 90.0
    assert model.tasks[1].attempt == 2 and model.tasks[1].state == "done"
    assert model.status() == "done"


def test_a_cancelled_run_looks_cancelled_everywhere():
    """Tasks still pending or running when the run ends are cancelled, and their
    timeline bars end: nothing stays orange or blue in a run that is over."""
    ev, model = Stream(), RunGraphModel()
    for task in (1, 2, 3):
        model.apply(ev.submit(task, "work"))
    model.apply(ev.run(1))
    model.apply(ev(type="task", task=2, state="cancelled", reason="cancelled by the user"))
    model.apply(ev(type="run", state="cancelled"))
    assert model.counts["cancelled"] == 3 and model.counts["done"] == 0
    assert model.status() == "cancelled"
    assert [(a.state, a.ended) for a in model.attempts] == [("cancelled", ev.seq + 100.0)]
    assert "the run ended" in (model.tasks[3].reason or "")


def test_status_follows_tasks_until_the_run_says_otherwise():
    ev, model = Stream(), RunGraphModel()
    assert model.status() == "waiting"
    model.apply(ev.submit(1, "a"))
    model.apply(ev.submit(2, "a"))
    assert model.status() == "running"
    model.apply(ev.end(1))
    model.apply(ev.end(2, "failed", final=True, on_failure="IGNORE", error="E"))
    assert model.status() == "done"  # an ignored failure is no failure of the whole
    model.apply(ev(type="run", state="failed", error="task 'x' failed"))
    assert model.status() == "failed" and model.run_error == "task 'x' failed"


def test_replay_of_a_finished_run_shows_its_final_state():
    ev, model = Stream(), RunGraphModel()
    model.apply(ev(type="run", state="running"))
    model.apply(ev.submit(1, "a"))
    model.apply(ev.end(1))
    model.apply(ev(type="run", state="done", counts={"done": 1}))
    assert model.run_state == "done" and model.status() == "done"


def test_eta_and_mean_come_from_the_rate_tasks_finish_at():
    ev, model = Stream(), RunGraphModel()
    for task in range(1, 11):
        model.apply(ev.submit(task, "step"))
    for task in range(1, 5):  # 4 tasks finished in the first 4 seconds
        model.apply(ev.run(task, started=float(task - 1)))
        model.apply(ev.end(task, started=float(task - 1), ended=float(task)))
    stats = model.functions["step"]
    assert stats.mean_duration == 1.0
    assert stats.eta(now=4.0) == 6.0  # 6 left at one a second
    assert model.eta(now=4.0) == 6.0
    assert stats.summary(4.0)["eta"] == 6.0


def test_fields_the_model_does_not_know_are_kept_for_the_details():
    """A binary or MPI task's command line and exit value are shown when present."""
    ev, model = Stream(), RunGraphModel()
    model.apply(ev.submit(1, "simulate"))
    model.apply(ev.end(1, "failed", final=True, command="mpirun -n 4 ./sim", exit_value=3,
                       error="exit 3"))
    assert model.tasks[1].extra == {"command": "mpirun -n 4 ./sim", "exit_value": 3}


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
    new, changed, attempts = model.take_changes()
    assert new == [1] and changed == {1} and attempts == set()
    assert model.take_changes() == ([], set(), set())
    assert not model.has_changes
    model.apply(ev.run(1))
    assert model.take_changes() == ([], {1}, {0})


def test_first_line_of_an_error_and_worker_labels():
    assert first_line("Traceback (most recent call last):\n  File x\nKeyError: 'k'\n") == \
        "KeyError: 'k'"
    assert first_line("") == ""
    assert worker_label("tcp://127.0.0.1:39685") == "127.0.0.1:39685"


def test_a_sealed_graph_whose_tasks_ended_keeps_its_own_outcome_when_the_run_fails_later():
    """The quickstart's IGNORE cell stays "done" when a later cell's failure ends the run
    (before, the run's "failed" reached the sealed graph whenever its refresh loop had
    not stopped following yet)."""
    ev, model = Stream(), RunGraphModel(first_task=1)
    for task_id in (1, 2):
        model.apply(ev.submit(task_id, "checked_sqrt"))
    model.apply(ev.end(1))
    model.apply(ev.end(2, state="failed", on_failure="IGNORE", error="ValueError"))
    model.last_task = 2  # the cell ended: its view is sealed
    model.apply(ev(type="run", state="failed", error="task divide failed"))
    assert model.status() == "done"
    # A sealed graph with a task still running does end with the run.
    ev, model = Stream(), RunGraphModel(first_task=1)
    model.apply(ev.submit(1, "slow"))
    model.apply(ev.run(1))
    model.last_task = 1
    model.apply(ev(type="run", state="cancelled"))
    assert model.status() == "cancelled" and model.counts["cancelled"] == 1
