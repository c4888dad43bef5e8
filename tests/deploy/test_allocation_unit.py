"""The Slurm allocation and job script of a run, from the step and its tasks' needs."""

from __future__ import annotations

from types import SimpleNamespace

from eflows_kernel.services.deploy.allocation import allocation_for
from eflows_kernel.services.deploy.jobs import JobRequest, job_script
from tests.conftest import APPS
from tests.hpc import HPC_APPS


def step(num_nodes=None, **options):
    return SimpleNamespace(num_nodes=num_nodes, options=options)


def test_one_node_gets_the_cores_its_largest_task_holds() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")  # @mpi processes=4
    allocation = allocation_for(step(), app, "slurm", 2)
    assert (allocation.nodes, allocation.cores_per_node, allocation.workers) == (None, 4, 4)
    assert allocation.runner_options == ()
    plain = allocation_for(step(), ("local", str(APPS / "wordcount.py"), ""), "slurm", 2)
    assert (plain.cores_per_node, plain.workers) == (2, 2)  # as before: the default


def test_several_nodes_get_one_worker_each() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")
    allocation = allocation_for(step(num_nodes=2), app, "slurm", 1)
    assert (allocation.nodes, allocation.cores_per_node) == (2, 2)
    assert allocation.runner_options == ("--slurm-allocation",)
    script = job_script(JobRequest(run_dir="/r", python="/py", application="/r/app.py",
                                   arguments=[], run_id="x", first_seq=1, workers=1,
                                   nodes=2, cores_per_node=2,
                                   runner_options=allocation.runner_options))
    assert "--slurm-allocation" in script and "--workers" not in script
    # @multinode(computing_nodes=2) asks for 2 nodes even if the step does not.
    nodes = allocation_for(step(), ("local", str(HPC_APPS / "hpc_mpi.py"), ""), "slurm", 1)
    assert nodes.nodes == 2 and nodes.cores_per_node == 4


def test_a_site_without_scheduler_runs_on_its_login_node() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")
    allocation = allocation_for(step(num_nodes=2), app, "none", 2)
    assert (allocation.nodes, allocation.workers, allocation.runner_options) == (None, 4, ())


def test_a_site_declares_the_gpus_of_its_workers() -> None:
    app = ("local", str(HPC_APPS / "hpc_gpu.py"), "")
    allocation = allocation_for(step(), app, "slurm", 2, {"GPU": 4})
    assert allocation.runner_options == ("--worker-resources", "GPU=4")
