"""MPI tasks spanning the nodes of a real multi-node Slurm allocation.

A batch job of 2 nodes on the multi-node test cluster runs ``eflows-run
--slurm-allocation``: one Dask worker per node (srun), and MPI tasks of 4 processes
(2 cores per node) that hold cores on both nodes and run ranks on both, launched by
mpirun (its daemons started by srun) and by srun itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hpc import HPC_APPS

pytestmark = pytest.mark.slow


def test_mpi_tasks_span_the_nodes_of_the_allocation(multinode_cluster, mpi_hello: Path,
                                                    tmp_path: Path) -> None:
    cluster = multinode_cluster
    assert len(cluster.nodes) >= 2
    log = tmp_path / "events.jsonl"
    runner = Path(sys.executable).parent / "eflows-run"
    script = f"""#!/bin/bash
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task={cluster.cores_per_node}
#SBATCH --output={tmp_path}/job.out
cd {tmp_path}
export PYTHONPATH={REPO}
exec {runner} --slurm-allocation --event-log {log} {HPC_APPS / 'hpc_nodes.py'} {mpi_hello} \
    {2 * cluster.cores_per_node}
"""
    job = cluster.sbatch(script, tmp_path)
    state = cluster.wait(job)
    output = (tmp_path / "job.out").read_text()
    assert state == "COMPLETED", output
    line = next(ln for ln in output.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    both = sorted(cluster.nodes[:2])
    assert result["exit"] == 0 and result["hello_hosts"] == both  # mpirun, across nodes
    assert result["srun_exit"] == 0 and result["srun_hosts"] == both  # runner="srun"
    assert sorted({host for _, host in result["ranks"]}) == both  # mpi4py ranks
    assert [rank for rank, _ in result["ranks"]] == list(range(2 * cluster.cores_per_node))
    assert result["multinode"]["count"] == "2"
    assert sorted(result["multinode"]["hosts"].split(",")) == both
    events = [json.loads(ln) for ln in log.read_text().splitlines()]
    running = [e for e in events if e["type"] == "task" and e["state"] == "running"
               and e.get("hosts")]
    assert any(sorted(e["hosts"]) == both for e in running)
