"""The executions service: one lifecycle in front of every executor, reached by the router.

A recording executor stands in for the real ones (their own tests run real processes
and the real cluster): what is checked here is what the service decides once, and in
which order, before an executor is asked anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import Execution, ExecutionState, ExecutionStore
from eflows_kernel.services.executions.executor import Executor, Record, Target
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import WorkflowRegistry


class Recorder:
    """An executor that runs nothing and remembers what it was asked."""

    def __init__(self, store: ExecutionStore, site: str, log_dir: Path) -> None:
        self.store, self.site, self.log_dir = store, site, log_dir
        self.calls: list[tuple[str, Any]] = []

    def target(self, site: str, credential_id: str | None, login: str | None,
               answers: Mapping[str, str]) -> Target:
        self.calls.append(("target", (site, credential_id, login, dict(answers))))
        return Target(site, login or "them")

    def start(self, plan: ExecutionPlan, step: StepPlan, target: Target,
              record: Record) -> Execution:
        self.calls.append(("start", (plan.values, step.name, target.site)))
        execution = record()
        log = self.log_dir / f"{execution.id}.jsonl"
        log.write_text("".join(json.dumps({"seq": n, "type": "log", "run": execution.id})
                               + "\n" for n in (1, 2, 3)))
        self.store.set_event_log(execution.id, str(log))
        return self.store.set_state(execution.id, ExecutionState.RUNNING)

    def cancel(self, execution: Execution) -> Execution:
        self.calls.append(("cancel", execution.id))
        return self.store.set_state(execution.id, ExecutionState.CANCELLED)

    def logs(self, execution: Execution, offset: int, size: int | None) -> tuple[str, int]:
        self.calls.append(("logs", (execution.id, offset, size)))
        return "text", offset + 4

    def checkpoint_tasks(self, execution: Execution) -> int:
        self.calls.append(("checkpoint_tasks", execution.id))
        return 0

    def recover(self, executions: Sequence[Execution]) -> None:
        self.calls.append(("recover", sorted(e.id for e in executions)))

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        self.calls.append(("shutdown", cancel))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        yield state


@pytest.fixture
def parts(store: StateStore, tmp_path: Path) -> tuple[ExecutionsService, Recorder, Recorder, str]:
    executions, registry = ExecutionStore(store), WorkflowRegistry(store)
    local, remote = Recorder(executions, "local", tmp_path), Recorder(executions, "x", tmp_path)
    known = {"cred-1"}

    def credentials(credential_id: str) -> object:
        if credential_id not in known:
            raise NotFoundError(f"no credential {credential_id!r}")
        return credential_id

    service = ExecutionsService(executions, registry, lambda: ExecutorRouter(local, remote),
                                credentials=credentials)
    workflow = registry.register_spec({"name": "w", "inputs": [{"name": "n", "type": "integer"}],
                                       "steps": [{"name": "s", "application": "/a.py"}]})
    return service, local, remote, workflow.id


def test_the_recorders_speak_the_executor_protocol(tmp_path: Path,
                                                   store: StateStore) -> None:
    assert isinstance(Recorder(ExecutionStore(store), "local", tmp_path), Executor)


def test_a_request_is_checked_once_in_order_before_anything_is_recorded(parts: Any) -> None:
    service, local, remote, workflow = parts
    with pytest.raises(NotFoundError):
        service.submit("nope", {"n": 1}, credential_id="unknown")  # the workflow first
    with pytest.raises(ValidationError) as refused:
        service.submit(workflow, {"n": "many"}, credential_id="unknown")
    assert set(refused.value.details["fields"]) == {"credential_id"}  # then the credential
    with pytest.raises(ValidationError) as refused:
        service.submit(workflow, {"n": "many"}, site="x")
    assert set(refused.value.details["fields"]) == {"n"}  # the site said yes: the inputs
    assert service.list().total == 0 and local.calls == []
    assert remote.calls == [("target", ("x", None, None, {}))]


def test_the_router_picks_the_executor_by_site(parts: Any) -> None:
    service, local, remote, workflow = parts
    here = service.submit(workflow, {"n": "1"}, credential_id="cred-1", login="me")
    there = service.submit(workflow, {"n": 2}, site="x", password="pw", one_time_code="123")
    assert (here.site, here.login, here.inputs, here.state) == ("local", "me", {"n": 1},
                                                                ExecutionState.RUNNING)
    assert (there.site, there.login) == ("x", "them")
    assert local.calls == [("target", ("local", "cred-1", "me", {})),
                           ("start", ({"n": 1}, "s", "local"))]
    assert remote.calls[0] == ("target", ("x", None, None, {"password": "pw", "otp": "123"}))


def test_cancel_is_decided_once_then_routed(parts: Any) -> None:
    service, local, _remote, workflow = parts
    execution = service.submit(workflow, {"n": 1})
    assert service.cancel(execution.id).state == ExecutionState.CANCELLED
    with pytest.raises(ConflictError, match="already cancelled"):
        service.cancel(execution.id)
    assert [c for c in local.calls if c[0] == "cancel"] == [("cancel", execution.id)]
    with pytest.raises(NotFoundError):
        service.cancel("nope")


def test_logs_events_and_following(parts: Any) -> None:
    service, local, _remote, workflow = parts
    execution = service.submit(workflow, {"n": 1})
    with pytest.raises(ValidationError):
        service.logs(execution.id, -1)
    assert service.logs(execution.id, 3, 10) == ("text", 7)
    assert local.calls[-1] == ("logs", (execution.id, 3, 10))
    assert [e["seq"] for e in service.events(execution.id, from_seq=1)] == [2, 3]
    follower = service.follower(execution.id, from_seq=1)
    assert [e["seq"] for e in follower.poll()] == [2, 3] and not follower.done
    assert follower.poll() == [] and not follower.done  # still running: more may come
    service.cancel(execution.id)
    assert follower.poll() == [] and follower.done
    assert [e["seq"] for e in service.follow(execution.id, interval=0.01)] == [1, 2, 3]
    with pytest.raises(NotFoundError):
        service.follower("nope")


def test_executors_are_made_on_first_need_and_recover_what_is_theirs(parts: Any) -> None:
    service, local, remote, workflow = parts
    unfinished = [service.store.create(workflow, {}, site) for site in ("local", "x")]
    service.list()
    service.get(unfinished[0].id)
    service.events(unfinished[0].id)
    assert not service.started and local.calls == []
    service.recover()  # making the executors re-attaches once, recover() once more
    assert service.started
    assert local.calls == [("recover", [unfinished[0].id])] * 2
    assert remote.calls == [("recover", [unfinished[1].id])] * 2


def test_after_shutdown_nothing_new_starts(parts: Any) -> None:
    service, local, remote, workflow = parts
    service.submit(workflow, {"n": 1})
    service.shutdown(cancel=False)
    service.shutdown()  # twice: harmless
    assert ("shutdown", False) in local.calls and ("shutdown", False) in remote.calls
    with pytest.raises(ConflictError, match="shut down"):
        service.submit(workflow, {"n": 1})


def test_a_site_no_executor_serves(store: StateStore, tmp_path: Path) -> None:
    executions, registry = ExecutionStore(store), WorkflowRegistry(store)
    service = ExecutionsService(executions, registry,
                                ExecutorRouter(local=Recorder(executions, "local", tmp_path)))
    workflow = registry.register_spec({"name": "w", "steps": [{"name": "s",
                                                               "application": "/a.py"}]})
    with pytest.raises(ValidationError) as refused:
        service.submit(workflow.id, {}, site="elsewhere")
    assert "site" in refused.value.details["fields"]
    stray = executions.create(workflow.id, {}, "elsewhere")
    with pytest.raises(ConflictError, match="no executor"):
        service.cancel(stray.id)
