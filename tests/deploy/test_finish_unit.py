"""The end of a remote run, without a site: what its log says when a declared output of
the step is missing after the job ended well (the job's own ``done`` must not stand)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from eflows_kernel.events import EventStream, read_events
from eflows_kernel.services.deploy import finish
from eflows_kernel.services.deploy.finish import Finisher, copy_event
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.hpc import slurm
from eflows_kernel.services.workflows import Step


class _Connection:
    interactive = False

    def get(self) -> Any:
        raise OSError("no site in a unit test")  # (the job's output is not fetched)

    def quick_slot(self) -> Any:
        return SimpleNamespace(__enter__=lambda *_: None, __exit__=lambda *_: None)


class _Control:
    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.states: list[tuple[ExecutionState, str | None]] = []
        self.executions = SimpleNamespace(
            get=lambda _id: SimpleNamespace(state=ExecutionState.RUNNING),
            set_outputs=lambda *_: None)

    def set_state(self, dep: Any, state: ExecutionState, detail: str,
                  error: str | None = None) -> None:
        self.states.append((state, error))

    def release(self, dep: Any) -> None:
        dep.log.flush()

    def on_event_seen(self, dep: Any, event: dict[str, Any]) -> None:
        pass


def _run(tmp_path: Path, outputs: dict[str, str]) -> tuple[Any, EventStream, list[dict]]:
    """A deployment whose job ran and wrote its events, ending with ``run done``."""
    (tmp_path / "ex").mkdir()
    log = EventStream("ex", tmp_path / "ex" / "events.jsonl")
    log.emit("stage", stage="submit", state="done")
    step = Step(name="first", application="/a.py", outputs=outputs)
    dep = SimpleNamespace(
        execution_id="ex", step=step, run_dir="/site/runs/ex", log=log, run_final=None,
        cancel=SimpleNamespace(is_set=lambda: False), job_id="7", stage="run", plan=None,
        synced=(), site=SimpleNamespace(name="cluster",
                                        config=SimpleNamespace(scheduler="slurm")),
        connection=_Connection())
    first = log.last_seq + 1
    job = [{"v": 1, "seq": first, "run": "ex", "ts": 1.0, "type": "run", "state": "running"},
           {"v": 1, "seq": first + 1, "run": "ex", "ts": 2.0, "type": "task", "task": 1,
            "state": "done"},
           {"v": 1, "seq": first + 2, "run": "ex", "ts": 3.0, "type": "run", "state": "done",
            "app": "a.py", "counts": {"done": 1}}]
    for event in job:
        copy_event(dep, event)
    return dep, log, job


def test_a_missing_declared_output_ends_the_run_failed_not_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dep, log, job = _run(tmp_path, {"squares": "results/cubes.txt"})
    assert dep.run_final == job[-1] and log.last_seq == job[1]["seq"]  # held back
    monkeypatch.setattr(finish, "_missing_on_site", lambda _dep, paths: paths)
    control = _Control(tmp_path)
    Finisher(control)._finish(dep, slurm.JobState("COMPLETED"))

    events = read_events(log.log_path)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # no gap
    runs = [e for e in events if e["type"] == "run"]
    assert [e["state"] for e in runs] == ["running", "failed"]  # never "done"
    assert runs[-1]["seq"] == job[-1]["seq"]  # in the place of the job's own end
    assert "'squares' (/site/runs/ex/results/cubes.txt)" in runs[-1]["error"]
    assert runs[-1]["app"] == "a.py" and runs[-1]["counts"] == {"done": 1}
    stage_out = [e for e in events if e["type"] == "stage" and e["stage"] == "stage-out"]
    assert [e["state"] for e in stage_out] == ["failed"]
    assert control.states[-1][0] == ExecutionState.FAILED
    assert control.states[-1][1] == runs[-1]["error"]


def test_outputs_all_there_keep_the_jobs_own_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dep, log, job = _run(tmp_path, {"squares": "results/squares.txt"})
    monkeypatch.setattr(finish, "_missing_on_site", lambda _dep, paths: [])
    control = _Control(tmp_path)
    Finisher(control)._finish(dep, slurm.JobState("COMPLETED"))
    events = read_events(log.log_path)
    assert [e for e in events if e["type"] == "run"][-1] == job[-1]  # the job's, as written
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert control.states[-1][0] == ExecutionState.DONE


def test_a_step_without_declared_outputs_copies_its_end_at_once(tmp_path: Path) -> None:
    dep, log, job = _run(tmp_path, {})
    assert log.last_seq == job[-1]["seq"] and dep.run_final is None  # (runs.py sets it)
