"""The execution store: records, state history, HPCWaaS statuses, filters and pages."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import (
    FINISHED,
    HPCWAAS_STATUS,
    ExecutionState,
    ExecutionStore,
    HPCWaaSStatus,
)
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield store


@pytest.fixture
def executions(state: StateStore) -> ExecutionStore:
    return ExecutionStore(state)


@pytest.fixture
def workflow_id(state: StateStore) -> str:
    return WorkflowRegistry(state).register(Workflow(name="w")).id


def test_create_and_get(executions: ExecutionStore, workflow_id: str) -> None:
    created = executions.create(workflow_id, {"n": 3, "vault_id": "k"}, "hpc", "cred-1")
    assert created.state == ExecutionState.QUEUED
    assert created.hpcwaas() == {"id": created.id, "status": "RUNNING", "outputs": {}}
    assert [c.state for c in created.state_history] == [ExecutionState.QUEUED]
    fetched = executions.get(created.id)
    assert fetched == created
    assert (fetched.site, fetched.credential_id, fetched.inputs) == ("hpc", "cred-1",
                                                                     {"n": 3, "vault_id": "k"})
    with pytest.raises(NotFoundError):
        executions.get("nope")
    with pytest.raises(NotFoundError, match="no workflow"):
        executions.create("nope", {}, "hpc")
    for bad in ({"inputs": [1]}, {"site": ""}):
        args = {"workflow_id": workflow_id, "inputs": {}, "site": "hpc", **bad}
        with pytest.raises(ValidationError):
            executions.create(**args)


def test_state_history_and_hpcwaas_status(executions: ExecutionStore,
                                          workflow_id: str) -> None:
    run = executions.create(workflow_id, {}, "hpc")
    path = ["staging-in", "submitted", "running", "staging-out", "done"]
    for state in path:
        latest = executions.set_state(run.id, state, detail=f"now {state}")
    assert latest.state == ExecutionState.DONE
    assert latest.hpcwaas_status == HPCWaaSStatus.SUCCESS
    history = executions.get(run.id).state_history
    assert [c.state.value for c in history] == ["queued", *path]
    assert history[-1].detail == "now done"
    assert all(a.at <= b.at for a, b in pairwise(history))
    with pytest.raises(ConflictError, match="already done"):
        executions.set_state(run.id, "cancelling")
    with pytest.raises(ValidationError, match="unknown execution state"):
        executions.set_state(executions.create(workflow_id, {}, "hpc").id, "exploded")


def test_every_state_maps_to_an_hpcwaas_status() -> None:
    assert set(HPCWAAS_STATUS) == set(ExecutionState)
    expected = {"queued": "RUNNING", "staging-in": "RUNNING", "submitted": "RUNNING",
                "running": "RUNNING", "staging-out": "RUNNING", "done": "SUCCESS",
                "failed": "FAILED", "cancelling": "CANCELLING", "cancelled": "CANCELLED"}
    assert {s.value: HPCWAAS_STATUS[s].value for s in ExecutionState} == expected
    assert {s.value for s in FINISHED} == {"done", "failed", "cancelled"}


def test_failure_and_cancellation(executions: ExecutionStore, workflow_id: str) -> None:
    failed = executions.create(workflow_id, {}, "hpc")
    result = executions.set_state(failed.id, ExecutionState.FAILED, "sbatch refused",
                                  error="Invalid account")
    assert (result.error, result.hpcwaas_status) == ("Invalid account", HPCWaaSStatus.FAILED)
    cancelled = executions.create(workflow_id, {}, "hpc")
    assert executions.set_state(cancelled.id, "cancelling").hpcwaas()["status"] == "CANCELLING"
    assert executions.set_state(cancelled.id, "cancelled").finished


def test_outputs_remote_job_and_event_log(executions: ExecutionStore, workflow_id: str) -> None:
    run = executions.create(workflow_id, {}, "hpc")
    executions.set_remote_job(run.id, "12345")
    executions.set_event_log(run.id, Path("/tmp/run/events.jsonl"), seq=7)
    executions.set_event_seq(run.id, 9)
    updated = executions.set_outputs(run.id, {"result": "/scratch/out.txt"})
    assert updated.remote_job_id == "12345"
    assert (updated.event_log, updated.event_seq) == ("/tmp/run/events.jsonl", 9)
    assert updated.hpcwaas()["outputs"] == {"result": "/scratch/out.txt"}
    assert updated.updated_at >= run.updated_at
    with pytest.raises(ValidationError):
        executions.set_outputs(run.id, ["x"])  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        executions.set_remote_job("nope", "1")


def test_list_filters_and_pages(executions: ExecutionStore, state: StateStore) -> None:
    registry = WorkflowRegistry(state)
    first = registry.register(Workflow(name="first")).id
    second = registry.register(Workflow(name="second")).id
    made = [executions.create(first if n % 2 else second, {"n": n}, f"site{n % 3}")
            for n in range(12)]
    for execution in made[:4]:
        executions.set_state(execution.id, "running")
    executions.set_state(made[0].id, "done")
    everything = executions.list()
    assert everything.total == 12
    assert [e.inputs["n"] for e in everything.items] == list(range(11, -1, -1))  # newest first
    pages = [executions.list(limit=5, offset=o) for o in (0, 5, 10)]
    assert [len(p.items) for p in pages] == [5, 5, 2]
    assert [e.id for p in pages for e in p.items] == [e.id for e in everything.items]
    assert executions.list(state="running").total == 3
    assert executions.list(state=[ExecutionState.RUNNING, "done"]).total == 4
    assert executions.list(workflow_id=first).total == 6
    assert executions.list(site="site0", workflow_id=second).total == 2
    assert executions.list(state="queued", site="site1").total == 3
    with pytest.raises(ValidationError):
        executions.list(state="bogus")
    with pytest.raises(ValidationError):
        executions.list(limit=0)


def test_a_graph_on_two_sites_shows_and_is_found_on_both(executions: ExecutionStore,
                                                         workflow_id: str) -> None:
    """``site`` is a graph's first step's: listed by site, a graph on two sites was found
    on that one only, and shown with it alone."""
    plain = executions.create(workflow_id, {}, "front")
    graph = executions.create(workflow_id, {}, "front", step_sites={
        "make": "front", "make->back": "back", "read": "back", "read:out:res": "back"})
    one_site = executions.create(workflow_id, {}, "back", step_sites={"a": "back",
                                                                       "b": "back"})
    executions.create(workflow_id, {}, "back", parent_id=graph.id, step="read")
    assert (graph.sites, graph.sites_text) == (["front", "back"], "front, back")
    assert graph.steps_by_site == {"front": ["make"], "back": ["read"]}
    assert graph.runs_on("back") and graph.runs_on("front") and not graph.runs_on("x")
    assert (plain.sites, plain.sites_text, plain.steps_by_site) == (["front"], "front",
                                                                   {"front": []})
    assert (one_site.sites, one_site.sites_text) == (["back"], "back")

    def ids(site: str, **more: object) -> list[str]:
        return [e.id for e in executions.list(site=site, **more).items]  # type: ignore[arg-type]

    assert ids("front") == [graph.id, plain.id]
    assert ids("back") == [one_site.id, graph.id]  # not the graph's step (listed by steps)
    assert executions.list(site="back").total == 2
    assert ids("back", limit=1, offset=1) == [graph.id]
    assert ids("back", state="queued") == [one_site.id, graph.id]
    executions.set_state(graph.id, "running")
    assert ids("back", state="running") == [graph.id]
    assert ids("nowhere") == []


def test_running_lists_unfinished_executions_oldest_first(executions: ExecutionStore,
                                                           workflow_id: str) -> None:
    made = [executions.create(workflow_id, {"n": n}, "hpc") for n in range(5)]
    executions.set_state(made[1].id, "done")
    executions.set_state(made[2].id, "cancelling")
    executions.set_state(made[3].id, "failed")
    assert [e.id for e in executions.running()] == [made[0].id, made[2].id, made[4].id]
