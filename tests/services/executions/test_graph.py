"""Step graphs in the executions service: DAG order, failure, cancel, restart, one log.

A scripted executor stands in for the real ones (the real cluster's tests are in
``tests/deploy/test_step_graphs.py``): each step it starts is an execution left
``running`` until the test ends it, so the order the graph is driven in is observable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from eflows_kernel.events import read_events, validate_event
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions import Execution, ExecutionState, ExecutionStore
from eflows_kernel.services.executions.executor import Record, Target
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import WorkflowRegistry, workflow_from_spec

SPEC = {
    "name": "diamond",
    "inputs": [{"name": "n", "type": "integer", "default": 1}],
    "steps": [
        {"name": "prepare", "application": "/a/prepare.py", "environment": "Front"},
        {"name": "left", "application": "/a/left.py", "depends_on": ["prepare"],
         "environment": "Back", "arguments": ["${steps.prepare.dir}/x"]},
        {"name": "right", "application": "/a/right.py", "depends_on": ["prepare"],
         "environment": "Back", "qos": "q${n}"},
        {"name": "join", "application": "/a/join.py", "depends_on": ["left", "right"],
         "environment": "Front"},
    ],
}


class Scripted:
    """An executor whose steps run until the test says how they end."""

    def __init__(self, store: ExecutionStore, log_dir: Path) -> None:
        self.store, self.log_dir = store, log_dir
        self.started: list[tuple[str, str, dict[str, object]]] = []  # step, site, values
        self.cancelled: list[str] = []
        self.recovered: list[str] = []
        self.places: dict[str, str] = {}  # site -> whose files a step there sees

    def target(self, site: str, credential_id: str | None, login: str | None,
               answers: Mapping[str, str]) -> Target:
        if site == "nowhere":
            raise ValidationError("no site named 'nowhere'", fields={"site": "no such site"})
        return Target(site, "me", place=self.places.get(site))

    def start(self, plan: ExecutionPlan, step: StepPlan, target: Target,
              record: Record) -> Execution:
        execution = record()
        log = self.log_dir / f"{execution.id}.jsonl"
        log.write_text("".join(json.dumps({"v": 1, "seq": n, "run": execution.id, "ts": 1.0,
                                           "type": "log", "level": "INFO",
                                           "message": f"{step.name} {n}"}) + "\n"
                               for n in (1, 2)))
        self.store.set_event_log(execution.id, str(log))
        execution = self.store.set_state(execution.id, ExecutionState.RUNNING, "started")
        # Last: a test that saw the step start finds its record and its log.
        self.started.append((step.name, target.site, dict(plan.values), step.step.qos))
        return execution

    def cancel(self, execution: Execution) -> Execution:
        self.cancelled.append(execution.step or "")
        return self.store.set_state(execution.id, ExecutionState.CANCELLED)

    def logs(self, execution: Execution, offset: int, size: int | None) -> tuple[str, int]:
        text = f"output of {execution.step}\n"[offset:]
        return text, offset + len(text)

    def checkpoint_tasks(self, execution: Execution) -> int:
        return 0

    def recover(self, executions: Sequence[Execution]) -> None:
        self.recovered += [e.step or e.id for e in executions]

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        pass


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Callable[[], tuple[ExecutionsService, Scripted]]]:
    state = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    registry = WorkflowRegistry(state)
    registry.register(workflow_from_spec(SPEC))
    made: list[ExecutionsService] = []

    def make() -> tuple[ExecutionsService, Scripted]:
        store = ExecutionStore(state)
        executor = Scripted(store, tmp_path)
        service = ExecutionsService(store, registry, ExecutorRouter(remote=executor),
                                    runs_dir=tmp_path / "runs")
        service.graphs.interval = 0.02
        made.append(service)
        return service, executor

    yield make
    for service in made:
        service.shutdown(1.0)
    state.close()


def wait_for(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def step_states(service: ExecutionsService, execution_id: str) -> dict[str, str]:
    return {s.name: s.state for s in service.steps(execution_id)}


def end(service: ExecutionsService, execution_id: str, step: str,
        state: ExecutionState, error: str | None = None) -> None:
    child = next(c for c in service.store.steps(execution_id) if c.step == step)
    service.store.set_state(child.id, state, "test", error=error)


def workflow_id(service: ExecutionsService) -> str:
    return service.registry.list().items[0].id


def test_steps_run_in_dag_order_independent_ones_together_on_their_sites(world) -> None:
    service, executor = world()
    execution = service.submit(workflow_id(service), {"n": "2"},
                               {"Front": "alpha", "Back": "beta"})
    assert execution.is_graph and execution.step_sites == {
        "prepare": "alpha", "left": "beta", "right": "beta", "join": "alpha"}
    wait_for(lambda: step_states(service, execution.id)["prepare"] == "running")
    assert step_states(service, execution.id) == {
        "prepare": "running", "left": "pending", "right": "pending", "join": "pending"}
    end(service, execution.id, "prepare", ExecutionState.DONE)
    wait_for(lambda: len(executor.started) == 3)
    assert {s[0] for s in executor.started[1:]} == {"left", "right"}  # both at once
    assert all(site == "beta" for _, site, _, _ in executor.started[1:])
    prepare = next(c for c in service.store.steps(execution.id) if c.step == "prepare")
    values = next(v for name, _, v, _ in executor.started if name == "left")
    assert values["steps.prepare.dir"] == str(tmp_dir(service) / prepare.id)
    assert next(q for name, _, _, q in executor.started if name == "right") == "q2"
    assert step_states(service, execution.id)["join"] == "pending"
    end(service, execution.id, "left", ExecutionState.DONE)
    end(service, execution.id, "right", ExecutionState.DONE)
    wait_for(lambda: len(executor.started) == 4)
    end(service, execution.id, "join", ExecutionState.DONE)
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.DONE
    assert service.list().total == 1  # the steps are not executions of their own list
    events = read_events(final.event_log)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # gap-free
    for event in events:
        validate_event(event)
    copied = [(e["step"], e["step_seq"]) for e in events if e["type"] == "log"]
    assert sorted(copied) == sorted((s, n) for s in SPEC_STEPS for n in (1, 2))
    steps = [e for e in events if e["type"] == "step"]
    assert [e["state"] for e in steps if e["step"] == "join"] == ["running", "done"]
    # the graph's own run event last (the steps' run events carry their step)
    assert (events[-1]["type"], events[-1]["state"], "step" in events[-1]) == (
        "run", "done", False)
    text, _ = service.logs(execution.id)
    assert text.index("==> step prepare") < text.index("output of join")


SPEC_STEPS = ("prepare", "left", "right", "join")


def tmp_dir(service: ExecutionsService) -> Path:
    return service.graphs.runs_dir


def test_a_failed_step_cancels_its_successors_not_the_other_branch(world) -> None:
    service, executor = world()
    execution = service.submit(workflow_id(service), {}, "alpha")
    wait_for(lambda: executor.started)
    end(service, execution.id, "prepare", ExecutionState.DONE)
    wait_for(lambda: len(executor.started) == 3)
    end(service, execution.id, "left", ExecutionState.FAILED, error="exit code 3")
    time.sleep(0.2)
    assert step_states(service, execution.id)["right"] == "running"  # left alone
    end(service, execution.id, "right", ExecutionState.DONE)
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.FAILED and "step left failed: exit code 3" in \
        final.error
    assert [s[0] for s in executor.started] == ["prepare", "left", "right"]  # never join
    assert step_states(service, execution.id)["join"] == "cancelled"
    joined = [e for e in read_events(final.event_log) if e.get("step") == "join"]
    assert joined[-1]["state"] == "cancelled" and "did not succeed" in joined[-1]["detail"]
    last = read_events(final.event_log)[-1]
    assert (last["type"], last["state"]) == ("run", "failed") and "left" in last["error"]


def test_cancelling_cancels_every_running_step_and_starts_no_more(world) -> None:
    service, executor = world()
    execution = service.submit(workflow_id(service), {}, "alpha")
    wait_for(lambda: executor.started)
    end(service, execution.id, "prepare", ExecutionState.DONE)
    wait_for(lambda: len(executor.started) == 3)
    assert service.cancel(execution.id).state == ExecutionState.CANCELLING
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.CANCELLED
    assert sorted(executor.cancelled) == ["left", "right"]
    assert step_states(service, execution.id) == {
        "prepare": "done", "left": "cancelled", "right": "cancelled", "join": "cancelled"}


def test_a_restarted_service_drives_the_graph_on(world) -> None:
    service, executor = world()
    execution = service.submit(workflow_id(service), {}, "alpha")
    wait_for(lambda: executor.started)
    service.shutdown(1.0)
    end(service, execution.id, "prepare", ExecutionState.DONE)  # while nobody watched
    again, executor2 = world()
    again.router  # noqa: B018 - making the executors re-attaches
    assert executor2.recovered == []  # the step had ended: nothing for its executor
    wait_for(lambda: len(executor2.started) == 2)
    for step in ("left", "right"):
        end(again, execution.id, step, ExecutionState.DONE)
    wait_for(lambda: len(executor2.started) == 3)
    end(again, execution.id, "join", ExecutionState.DONE)
    final = again.wait(execution.id, 10)
    assert final.state == ExecutionState.DONE
    events = read_events(final.event_log)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(1 for e in events if e.get("step") == "prepare" and e["type"] == "log") == 2


def test_binding_sites_names_what_is_missing(world) -> None:
    service, _ = world()
    with pytest.raises(ValidationError, match="environment 'Back' is not bound") as refused:
        service.submit(workflow_id(service), {}, {"Front": "alpha"})
    assert "Back" in refused.value.details["fields"]["site"]
    with pytest.raises(ValidationError, match="no environment 'Middle'"):
        service.submit(workflow_id(service), {}, {"Front": "a", "Back": "b", "Middle": "c"})
    with pytest.raises(ValidationError) as refused:
        service.submit(workflow_id(service), {}, {"Front": "alpha", "Back": "nowhere"})
    assert refused.value.details["fields"] == {"site": "no such site"}
    assert service.store.running() == []  # nothing recorded


class Copier:
    """Copies as the test says: each copy waits until the test ends it."""

    def __init__(self, store: ExecutionStore, log_dir: Path) -> None:
        self.store, self.log_dir = store, log_dir
        self.copies: list[tuple[str, str, str]] = []  # copy step, source step, source dir
        self.targets: list[str | None] = []  # where each copy goes (None: its run dir)
        self.only: list[tuple[str, ...]] = []  # what each copies (empty: all of it)

    def start(self, execution: Execution, source: Execution, source_dir: str,
              target_dir: str | None = None, only: Sequence[str] = ()) -> None:
        self.copies.append((execution.step or "", source.step or "", source_dir))
        self.targets.append(target_dir)
        self.only.append(tuple(only))
        self.store.set_state(execution.id, ExecutionState.RUNNING, "copying")

    def running(self, execution_id: str) -> bool:
        return True

    def cancel(self, execution: Execution) -> Execution:
        return self.store.set_state(execution.id, ExecutionState.CANCELLED)

    def finish(self, execution_id: str, run_dir: str) -> None:
        log = self.log_dir / f"{execution_id}.jsonl"
        log.write_text(json.dumps({"v": 1, "seq": 1, "run": execution_id, "ts": 1.0,
                                   "type": "stage", "stage": "stage-in", "state": "done",
                                   "info": {"run_dir": run_dir}}) + "\n")
        self.store.set_event_log(execution_id, str(log))
        self.store.set_state(execution_id, ExecutionState.DONE, "copied")


def test_a_step_dir_read_on_a_site_that_does_not_see_it_is_copied_there_first(
        world, tmp_path: Path) -> None:
    """``${steps.prepare.dir}`` is a folder on prepare's site: a step on another host or
    login reads the copy a copy step made on its own site, never a path naming nothing."""
    service, executor = world()
    copier = Copier(service.store, tmp_path)
    service.graphs.runner._copier = lambda: copier
    executor.places = {"alpha": "eflows@hpc:22", "beta": "eflows-ui@hpc:22"}
    execution = service.submit(workflow_id(service), {}, {"Front": "alpha", "Back": "beta"})
    listed = {s.name: s for s in service.steps(execution.id)}
    assert list(listed) == ["prepare", "prepare->beta", "left", "right", "join"]
    assert listed["prepare->beta"].site == "beta"
    assert listed["prepare->beta"].depends_on == ("prepare",)
    assert listed["left"].depends_on == ("prepare", "prepare->beta")
    assert listed["right"].depends_on == ("prepare",)  # reads no directory: no wait
    wait_for(lambda: step_states(service, execution.id)["prepare"] == "running")
    end(service, execution.id, "prepare", ExecutionState.DONE)
    wait_for(lambda: len(copier.copies) == 1 and len(executor.started) == 2)
    prepare = next(c for c in service.store.steps(execution.id) if c.step == "prepare")
    assert copier.copies == [("prepare->beta", "prepare", str(tmp_dir(service) / prepare.id))]
    assert copier.targets == [None]  # into the copy step's own run directory
    assert copier.only == [()]  # ${steps.prepare.dir}: the whole directory
    assert [s[0] for s in executor.started] == ["prepare", "right"]  # left waits for it
    copy = next(c for c in service.store.steps(execution.id) if c.step == "prepare->beta")
    assert (copy.site, copy.parent_id) == ("beta", execution.id)
    copier.finish(copy.id, "/home/eflows-ui/eflows/runs/copy/prepare")
    wait_for(lambda: len(executor.started) == 3)
    values = next(v for name, _, v, _ in executor.started if name == "left")
    assert values["steps.prepare.dir"] == "/home/eflows-ui/eflows/runs/copy/prepare"
    for name in ("left", "right"):
        end(service, execution.id, name, ExecutionState.DONE)
    wait_for(lambda: len(executor.started) == 4)
    end(service, execution.id, "join", ExecutionState.DONE)
    assert service.wait(execution.id, 10).state == ExecutionState.DONE
    events = read_events(service.get(execution.id).event_log)
    assert ("prepare->beta", "done") in {(e["step"], e["state"]) for e in events
                                         if e["type"] == "step"}


def test_without_a_copier_the_copy_step_fails_and_its_readers_are_cancelled(world) -> None:
    service, executor = world()
    executor.places = {"alpha": "eflows@hpc:22", "beta": "eflows-ui@hpc:22"}
    execution = service.submit(workflow_id(service), {}, {"Front": "alpha", "Back": "beta"})
    wait_for(lambda: step_states(service, execution.id)["prepare"] == "running")
    end(service, execution.id, "prepare", ExecutionState.DONE)
    wait_for(lambda: step_states(service, execution.id)["right"] == "running")
    end(service, execution.id, "right", ExecutionState.DONE)
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.FAILED and "prepare->beta" in final.error
    assert "copies nothing between sites" in final.error
    states = step_states(service, execution.id)
    assert states["left"] == states["join"] == "cancelled"
    assert [s[0] for s in executor.started] == ["prepare", "right"]


def test_sites_of_one_login_on_one_host_need_no_copy(world) -> None:
    service, executor = world()
    executor.places = {"alpha": "eflows@hpc:22", "beta": "eflows@hpc:22"}
    execution = service.submit(workflow_id(service), {}, {"Front": "alpha", "Back": "beta"})
    assert [s.name for s in service.steps(execution.id)] == list(SPEC_STEPS)


def test_a_dls_ssh2ssh_copy_goes_from_and_to_the_paths_its_node_names(world) -> None:
    """An SSH2SSH node's copy step reads its source path and writes into its target
    path; a copy the plan inserts for ``${steps.<s>.dir}`` goes into its own run dir."""
    from eflows_kernel.services.executions.plan import StepPlan
    from eflows_kernel.services.workflows.model import Step

    service, _ = world()
    job = Step(name="job", application="src/app.py")
    named = StepPlan("job->beta", "beta", job, ("job",), (), copy_of="job",
                     site_copy="move_results", copy_paths=("results", "inputs/next"))
    assert service.graphs.runner._copy_ends(named, None) == ("results", "inputs/next", ())


class Mover:
    """Movement steps as the test says: each waits until the test ends it."""

    def __init__(self, store: ExecutionStore, log_dir: Path) -> None:
        self.store, self.log_dir = store, log_dir
        self.started: list[tuple[str, str | None]] = []  # movement step, job dir
        self.checked: list[str] = []
        self.stopped: list[str] = []
        self.ids: set[str] = set()  # what this process moves

    def check(self, plan: ExecutionPlan, step: StepPlan) -> None:
        self.checked.append(step.name)
        if step.movement == "refused":
            raise ValidationError("refused", fields={"refused": "no login"})

    def start(self, execution: Execution, plan: ExecutionPlan, step: StepPlan,
              job_dir: str | None, answers: Mapping[str, str] | None = None) -> None:
        self.ids.add(execution.id)
        self.store.set_state(execution.id, ExecutionState.RUNNING, "moving")
        self.started.append((step.name, job_dir))  # last: the test then finds it running

    def running(self, execution_id: str) -> bool:
        return execution_id in self.ids

    def cancel(self, execution: Execution) -> Execution:
        self.stopped.append(execution.step or "")
        return self.store.set_state(execution.id, ExecutionState.CANCELLED)

    def finish(self, execution_id: str, run_dir: str) -> None:
        Copier.finish(self, execution_id, run_dir)  # type: ignore[arg-type]


MOVED = {"name": "moved", "steps": [{"name": "count", "application": "/a/count.py"}],
         "data_movements": [
             {"name": "data", "direction": "in", "kind": "dls", "source": "rec1"},
             {"name": "out", "direction": "out", "kind": "s3", "source": "results",
              "target": "s3://b/r"}]}


def moving_world(world, tmp_path: Path, spec: dict) -> tuple[ExecutionsService, Scripted,
                                                             Mover, str]:
    service, executor = world()
    mover = Mover(service.store, tmp_path)
    executor.movements = mover  # type: ignore[attr-defined]
    registered = service.registry.register(workflow_from_spec(spec))
    return service, executor, mover, registered.id


def child(service: ExecutionsService, execution_id: str, step: str) -> Execution:
    return next(c for c in service.store.steps(execution_id) if c.step == step)


def test_a_stage_in_is_a_step_the_job_waits_for_and_a_stage_out_runs_after_it(
        world, tmp_path: Path) -> None:
    service, executor, mover, wf = moving_world(world, tmp_path, MOVED)
    execution = service.submit(wf, {}, "alpha")
    assert mover.checked == ["count:in:data", "count:out:out"]  # before anything runs
    wait_for(lambda: mover.started)
    assert mover.started == [("count:in:data", None)] and executor.started == []
    mover.finish(child(service, execution.id, "count:in:data").id, "/site/runs/m1")
    wait_for(lambda: executor.started)
    name, _site, values, _qos = executor.started[0]
    assert name == "count" and values["steps.count:in:data.dir"] == "/site/runs/m1"
    job = child(service, execution.id, "count")
    Copier.finish(mover, job.id, "/site/runs/job")  # type: ignore[arg-type]
    wait_for(lambda: len(mover.started) == 2)
    assert mover.started[1] == ("count:out:out", "/site/runs/job")
    out = child(service, execution.id, "count:out:out")
    service.store.set_outputs(out.id, {"out": {"location": "s3://b/r"}})
    end(service, execution.id, "count:out:out", ExecutionState.DONE)
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.DONE and final.outputs == {
        "out": {"location": "s3://b/r"}}
    steps = {s.name: s for s in service.steps(execution.id)}
    assert all(s.state == "done" and s.execution_id for s in steps.values())
    events = read_events(final.event_log)
    states = [(e["step"], e["state"]) for e in events if e["type"] == "step"]
    assert states.index(("count:in:data", "done")) < states.index(("count", "running"))
    assert ("count:out:out", "done") in states
    staged = [e for e in events if e["type"] == "stage" and e.get("step") == "count:in:data"]
    assert staged and staged[0]["info"]["run_dir"] == "/site/runs/m1"  # tagged by step


def test_a_failed_stage_in_cancels_its_job_and_a_cancel_stops_a_movement(
        world, tmp_path: Path) -> None:
    service, executor, mover, wf = moving_world(world, tmp_path, MOVED)
    execution = service.submit(wf, {}, "alpha")
    wait_for(lambda: mover.started)
    end(service, execution.id, "count:in:data", ExecutionState.FAILED, error="no record")
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.FAILED and "count:in:data" in final.error
    assert executor.started == []
    assert step_states(service, execution.id) == {
        "count:in:data": "failed", "count": "cancelled", "count:out:out": "cancelled"}

    again = service.submit(wf, {}, "alpha")
    wait_for(lambda: len(mover.started) == 2)
    service.cancel(again.id)
    assert service.wait(again.id, 10).state == ExecutionState.CANCELLED
    assert mover.stopped == ["count:in:data"] and executor.started == []
    with pytest.raises(ValidationError):  # a movement that cannot be done: refused at once
        service.submit(service.registry.register(workflow_from_spec({
            **MOVED, "name": "refusing", "data_movements": [
                {**MOVED["data_movements"][0], "name": "refused"}]})).id, {}, "alpha")


SYNCED = {"name": "synced", "steps": [{"name": "count", "application": "/a/count.py"}],
          "data_movements": [
              {"name": "out", "direction": "out", "kind": "s3", "source": "results",
               "target": "s3://b/r"},
              {"name": "live", "direction": "out", "kind": "webdav", "source": "results",
               "target": "webdav://h/share", "every": "10s"}]}


def test_the_final_sync_of_a_periodic_stage_out_follows_a_job_that_ran_and_failed(
        world, tmp_path: Path) -> None:
    """A stage-out synced ``every`` period gets its last sync as a step after its job,
    also when the job ran and failed (its partial results); the other stage-outs do
    not run then, and a job that failed before it ran on its site gets no sync."""
    service, executor, mover, wf = moving_world(world, tmp_path, SYNCED)
    execution = service.submit(wf, {}, "alpha")
    wait_for(lambda: executor.started)
    job = child(service, execution.id, "count")
    service.store.set_remote_job(job.id, "4242")  # it ran on the site, in its run dir
    log = tmp_path / f"{job.id}.jsonl"
    log.write_text(json.dumps({"v": 1, "seq": 1, "run": job.id, "ts": 1.0, "type": "stage",
                               "stage": "connect", "state": "done",
                               "info": {"run_dir": "/site/runs/job"}}) + "\n")
    service.store.set_event_log(job.id, str(log))
    service.store.set_state(job.id, ExecutionState.FAILED, "job ended FAILED",
                            error="exit 1")
    wait_for(lambda: mover.started)
    assert mover.started == [("count:out:live", "/site/runs/job")]
    end(service, execution.id, "count:out:live", ExecutionState.DONE)
    final = service.wait(execution.id, 10)
    assert final.state == ExecutionState.FAILED and "count" in final.error
    assert step_states(service, execution.id) == {
        "count": "failed", "count:out:out": "cancelled", "count:out:live": "done"}

    again = service.submit(wf, {}, "alpha")  # it fails before it has a job on the site
    wait_for(lambda: len(executor.started) == 2)
    end(service, again.id, "count", ExecutionState.FAILED, error="no such application")
    assert service.wait(again.id, 10).state == ExecutionState.FAILED
    assert step_states(service, again.id) == {
        "count": "failed", "count:out:out": "cancelled", "count:out:live": "cancelled"}
    assert len(mover.started) == 1


def test_a_restart_starts_an_unfinished_movement_again(world, tmp_path: Path) -> None:
    service, _executor, mover, wf = moving_world(world, tmp_path, MOVED)
    execution = service.submit(wf, {}, "alpha")
    wait_for(lambda: mover.started)
    service.shutdown(1.0)
    again, executor2 = world()
    mover2 = Mover(again.store, tmp_path)
    executor2.movements = mover2  # type: ignore[attr-defined]
    again.router  # noqa: B018 - making the executors re-attaches
    assert executor2.recovered == []  # the movement is the graph's, not the executor's
    wait_for(lambda: mover2.started)
    assert mover2.started == [("count:in:data", None)]
    assert child(again, execution.id, "count:in:data").state == ExecutionState.RUNNING
