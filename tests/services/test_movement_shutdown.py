"""A movement step that is still opening its session when the server stops (no cluster).

``MovementSteps.shutdown`` closes the sessions it finds; a movement whose session was not
registered yet (its thread between the start of the step and its session) must not then
go on with a session of its own: on the local site, or a site reached through this
host's shell, its commands would outlive the server and finish a ``.part`` behind the
next server's back. The movement runs on the real local shell; only its data plan and
transfer are replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from eflows_kernel.services.deploy.local_movements import LocalMovementSteps
from eflows_kernel.services.deploy.movement_steps import _Session
from eflows_kernel.services.executions import Execution, ExecutionStore
from eflows_kernel.services.hpc.transfer.site_stream import TransferCancelled
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.registry import WorkflowRegistry


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as opened:
        yield opened


def test_a_movement_whose_session_opens_after_the_stop_does_not_run(
        state: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ExecutionStore(state)
    workflow = WorkflowRegistry(state).register_spec({"name": "w"})
    execution = store.create(workflow.id, {}, "local")
    steps = LocalMovementSteps(store, tmp_path / "runs", None, None)
    moved: list[str] = []
    opening = threading.Event()
    opened = LocalMovementSteps._open

    class Sessions(dict):  # tells when the stop has looked for the sessions to close
        looked = threading.Event()

        def values(self) -> Any:
            found = list(super().values())
            self.looked.set()
            return found

    steps._sessions = Sessions()

    def slow_open(self: LocalMovementSteps, *args: Any) -> Any:
        opening.set()
        assert Sessions.looked.wait(10)  # the server stops meanwhile, finding none
        return opened(self, *args)

    def transfer(self: LocalMovementSteps, execution: Execution, *args: Any) -> str:
        moved.append(execution.id)
        return "moved"

    monkeypatch.setattr(LocalMovementSteps, "_open", slow_open)
    monkeypatch.setattr(LocalMovementSteps, "_item", lambda *args, **kw: object())
    monkeypatch.setattr(LocalMovementSteps, "_in", transfer)
    step = SimpleNamespace(movement="page_in", stages_out=False)
    steps.start(execution, SimpleNamespace(), step, None)  # type: ignore[arg-type]
    assert opening.wait(10)
    steps.shutdown(timeout=10)
    assert not steps.running(execution.id)
    assert moved == []  # nothing moved after the stop
    record = store.get(execution.id)
    assert record.state == ExecutionState.RUNNING  # left unfinished, for the next server


def test_a_closed_session_of_a_login_that_asks_the_user_gives_no_client() -> None:
    """A password login's movement works on the pooled connection (it cannot open a
    second): once its session is closed (the stop, or a cancel) its next command is not
    run on it."""
    pooled = SimpleNamespace(asks_user=True, get=lambda: "the pooled client")
    session = _Session(pooled)  # type: ignore[arg-type]
    assert session.get() == "the pooled client"
    session.close()
    with pytest.raises(TransferCancelled):
        session.get()
