"""An eFlows4HPC-registry-style step with @binary and @mpi tasks, deployed to the real Slurm.

The step folder (tests/apps/hpc/registry/mpi_ring: src/, eflows4hpc.yaml, workflow.yaml)
is registered as a workflow; the deployer sizes the job from what its tasks declare
(an @mpi task of 2 processes: 2 cores), the site compiles the MPI program (@binary
mpicc), runs it on 2 ranks (@mpi, the site's mpirun) and the result comes back.
"""

from __future__ import annotations

import json
from pathlib import Path

from eflows_kernel.events import validate_event
from tests.deploy.stack import Stack, seqs_are_gap_free

REGISTRY_STEP = Path(__file__).resolve().parents[1] / "apps" / "hpc" / "registry" / "mpi_ring"


def test_mpi_step_runs_on_slurm_through_the_deployer(stack: Stack) -> None:
    workflow = stack.registry.register_folder(REGISTRY_STEP)
    execution = stack.executor.submit(workflow.id, {"token": 40}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    text, _ = stack.executor.logs(execution.id)
    assert done.state.value == "done", f"{done.error}\n{text}"
    result = json.loads(Path(done.outputs["ring"]["path"]).read_text())
    assert result["token"] == 41 and result["ranks"] == 2  # 40 + rank 1
    assert result["exit_value"] == 0 and len(result["hosts"]) == 1

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


def test_mpi_step_spans_the_nodes_of_the_multinode_cluster(
        multinode_stack: Stack, multinode_cluster, tmp_path: Path) -> None:
    """The same step with 4 processes and num_nodes 2, deployed to the second cluster
    (its own login): the job has 2 nodes, a Dask worker on each, ranks on both."""
    import shutil

    folder = tmp_path / "mpi_ring"
    shutil.copytree(REGISTRY_STEP, folder)
    app = folder / "src" / "mpi_ring.py"
    app.write_text(app.read_text().replace("processes=2", "processes=4"))
    description = folder / "workflow.yaml"
    description.write_text(description.read_text() + "num_nodes: 2\n")
    cluster, stack = multinode_cluster, multinode_stack
    workflow = stack.registry.register_folder(folder)
    execution = stack.executor.submit(workflow.id, {"token": 1}, "multi",
                                      credential_id=stack.credential)
    done = stack.executor.wait(execution.id, 900)
    text, _ = stack.executor.logs(execution.id)
    assert done.state.value == "done", f"{done.error}\n{text}"
    result = json.loads(Path(done.outputs["ring"]["path"]).read_text())
    assert result["token"] == 1 + 1 + 2 + 3 and result["ranks"] == 4
    assert result["hosts"] == sorted(cluster.nodes[:2])  # ranks on both nodes
    events = stack.executor.events(execution.id)
    ring = [e for e in events if e["type"] == "task" and e.get("state") == "running"
            and len(e.get("hosts") or ()) > 1]
    assert ring and sorted(set(ring[0]["hosts"])) == sorted(cluster.nodes[:2])
