"""ProgressModel: stage bars from events, for remote runs (stages) and local ones (tasks)."""

from __future__ import annotations

from typing import Any

from eflows_kernel.ui.progress import ProgressModel


def _events(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"v": 1, "seq": i, "run": "r", "ts": 0.0, **e} for i, e in enumerate(items, 1)]


def test_remote_run_fills_every_stage() -> None:
    model = ProgressModel()
    model.set_state("staging-in")
    for event in _events(
            {"type": "stage", "stage": "connect", "state": "done"},
            {"type": "stage", "stage": "environment", "state": "running",
             "detail": "bootstrapping"},
            {"type": "stage", "stage": "environment", "state": "done"},
            {"type": "stage", "stage": "stage-in", "state": "running"},
            {"type": "transfer", "name": "a", "direction": "in", "done_bytes": 500,
             "total_bytes": 1000, "state": "running"},
            {"type": "transfer", "name": "b", "direction": "in", "done_bytes": 0,
             "total_bytes": 1000, "state": "running"}):
        model.apply(event)
    assert model.stage("environment").state == "done"
    stage_in = model.stage("stage-in")
    assert (stage_in.state, stage_in.fraction) == ("running", 0.25)
    assert stage_in.text == "500 B / 2.0 kB"
    assert model.stage("queued").state == "waiting" and model.stage("queued").text == "—"
    assert model.last_seq == 6

    for event in _events(*[{}] * 6,  # keep numbering going
                         {"type": "transfer", "name": "b", "direction": "in",
                          "done_bytes": 1000, "total_bytes": 1000, "state": "done"},
                         {"type": "stage", "stage": "stage-in", "state": "done"},
                         {"type": "stage", "stage": "queued", "state": "done",
                          "detail": "Slurm job 42"},
                         {"type": "stage", "stage": "run", "state": "running"},
                         {"type": "task", "task": 1, "state": "ready", "name": "f"},
                         {"type": "task", "task": 2, "state": "ready", "name": "f"},
                         {"type": "task", "task": 1, "state": "done"},
                         {"type": "task", "task": 2, "state": "failed", "final": False},
                         )[6:]:
        model.apply(event)
    model.set_state("running")
    assert model.stage("stage-in").fraction == 1.0
    assert model.stage("queued").text == "Slurm job 42"
    run = model.stage("run")
    assert (run.state, run.text, run.fraction) == ("running", "1/2 tasks", 0.5)  # retrying
    model.apply({"type": "task", "task": 2, "state": "done", "seq": 20})
    model.apply({"type": "stage", "stage": "run", "state": "done", "seq": 21})
    model.apply({"type": "transfer", "name": "out", "direction": "out", "done_bytes": 10,
                 "total_bytes": 10, "state": "done", "seq": 22})
    model.set_state("done")
    assert model.stage("run").text == "2/2 tasks" and model.stage("run").state == "done"
    assert model.stage("stage-out").fraction == 1.0
    assert model.finished


def test_local_run_has_only_tasks_and_skips_the_rest_once_finished() -> None:
    model = ProgressModel()
    model.set_state("running")
    for event in _events({"type": "run", "state": "running"},
                         {"type": "task", "task": 1, "state": "running"}):
        model.apply(event)
    assert model.stage("run").state == "running"
    assert model.stage("environment").state == "waiting"
    model.apply({"type": "task", "task": 1, "state": "done", "seq": 3})
    model.apply({"type": "run", "state": "done", "seq": 4})
    model.set_state("done")
    for key in ("environment", "stage-in", "queued", "stage-out"):
        view = model.stage(key)
        assert (view.state, view.text) == ("skipped", "—"), key
    assert model.stage("run").text == "1/1 tasks"


def test_failed_stage_and_unfinished_stage_after_failure() -> None:
    model = ProgressModel()
    model.apply({"type": "stage", "stage": "environment", "state": "running", "seq": 1})
    model.set_state("failed")
    assert model.stage("environment").state == "failed"
    assert model.stage("run").state == "skipped"


def test_queued_ends_when_the_run_starts() -> None:
    """The deployer says 'queued, running' once; the run's first event ends the wait."""
    model = ProgressModel()
    model.apply({"type": "stage", "stage": "queued", "state": "running", "seq": 5,
                 "detail": "Slurm job 42 waits for resources"})
    assert model.stage("queued").state == "running"
    model.apply({"type": "run", "state": "starting", "seq": 6})
    queued = model.stage("queued")
    assert (queued.state, queued.text, queued.fraction) == ("done", "started", 1.0)
