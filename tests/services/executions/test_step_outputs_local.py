"""Declared outputs on this host, with real ``eflows-run`` subprocesses: a later step reads
one by ``${steps.first.outputs.squares}``; one the step did not write fails that step,
naming it and its path, and what waits for it is cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.executions import ExecutionState, ExecutionStore
from eflows_kernel.services.executions.local import LocalExecutor
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import workflow_from_spec
from eflows_kernel.services.workflows.registry import WorkflowRegistry

APP = str(Path(__file__).resolve().parents[2] / "apps" / "step_outputs.py")


def spec(declared: str) -> dict:
    return {"name": "hand-over", "steps": [
        {"name": "first", "application": APP, "outputs": {"squares": declared},
         "arguments": ["produce", "results/squares.txt", "notes.txt", "5"]},
        {"name": "second", "application": APP, "depends_on": ["first"],
         "arguments": ["consume", "${steps.first.outputs.squares}", "result.txt"]}]}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ExecutionsService]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        executions = ExecutionStore(state)
        local = LocalExecutor(executions, tmp_path / "runs", workers=1)
        service = ExecutionsService(executions, WorkflowRegistry(state),
                                    ExecutorRouter(local=local), runs_dir=tmp_path / "runs")
        yield service
        service.shutdown()


def test_a_later_step_reads_a_declared_output_by_its_name(service: ExecutionsService,
                                                          tmp_path: Path) -> None:
    workflow = service.registry.register(workflow_from_spec(spec("results/squares.txt")))
    execution = service.submit(workflow.id)
    final = service.wait(execution.id, 120)
    assert final.state == ExecutionState.DONE, final.error
    steps = {s.name: s for s in service.steps(execution.id)}
    first_dir = tmp_path / "runs" / str(steps["first"].execution_id)
    assert steps["first"].outputs == {"squares": str(first_dir / "results/squares.txt")}
    second_dir = tmp_path / "runs" / str(steps["second"].execution_id)
    assert (second_dir / "result.txt").read_text() == "sum of 5 squares: 55\n"
    assert f"reading {first_dir}/results/squares.txt" in service.logs(
        execution.id, step="second")[0]


def test_a_declared_output_not_written_fails_its_step_and_cancels_the_next(
        service: ExecutionsService, tmp_path: Path) -> None:
    workflow = service.registry.register(workflow_from_spec(spec("results/cubes.txt")))
    execution = service.submit(workflow.id)
    final = service.wait(execution.id, 120)
    assert final.state == ExecutionState.FAILED
    steps = {s.name: s for s in service.steps(execution.id)}
    assert (steps["first"].state, steps["second"].state) == ("failed", "cancelled")
    missing = tmp_path / "runs" / str(steps["first"].execution_id) / "results/cubes.txt"
    assert steps["first"].error == (
        f"step 'first' ended but did not write its declared output 'squares' ({missing}) "
        "on site 'local': the steps that read it cannot run")
    assert "step first failed" in final.error and str(missing) in final.error
    assert steps["second"].execution_id is None  # never started
