"""An eFlows4HPC-registry-style step with @binary and @mpi tasks, deployed to the real Slurm.

The step folder (tests/apps/registry/mpi_ring: src/, eflows4hpc.yaml, workflow.yaml)
is registered as a workflow; the deployer sizes the job from what its tasks declare
(an @mpi task of 2 processes: 2 cores), the site compiles the MPI program (@binary
mpicc), runs it on 2 ranks (@mpi, the site's mpirun) and the result comes back.
"""

from __future__ import annotations

import json
from pathlib import Path

from eflows_kernel.events import validate_event
from tests.deploy.conftest import Stack, seqs_are_gap_free

REGISTRY_STEP = Path(__file__).resolve().parents[1] / "apps" / "registry" / "mpi_ring"


def test_mpi_step_runs_on_slurm_through_the_deployer(stack: Stack) -> None:
    workflow = stack.registry.register_folder(REGISTRY_STEP)
    execution = stack.executor.submit(workflow.id, {"token": 40}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    text, _ = stack.executor.logs(execution.id)
    assert done.state.value == "done", f"{done.error}\n{text}"
    result = json.loads(Path(done.outputs["ring"]["path"]).read_text())
    assert result == {"token": 41, "ranks": 2, "exit_value": 0}  # 40 + rank 1

    events = stack.executor.events(execution.id)
    for event in events:
        validate_event(event)
    seqs_are_gap_free(events)
    tasks = {}
    for event in events:
        if event["type"] == "task":
            tasks.setdefault(event["task"], []).append(event)
    by_name = {evs[0]["name"]: evs for evs in tasks.values()}
    assert by_name["build"][0]["task_type"] == "binary"
    assert by_name["build"][-1]["command"][0] == "mpicc"
    ring = by_name["ring"]
    assert (ring[0]["task_type"], ring[0]["processes"]) == ("mpi", 2)
    assert ring[-1]["state"] == "done" and ring[-1]["exit_value"] == 0
    assert ring[-1]["command"][0] == "mpirun" and "./ring" in ring[-1]["command"]
