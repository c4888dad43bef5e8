"""The Slurm allocation and job script of a run, from the step and its tasks' needs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eflows_kernel.services.deploy.allocation import allocation_for, exec_time_limit
from eflows_kernel.services.deploy.jobs import JobRequest, job_script
from eflows_kernel.services.sites import SiteConfig
from tests.conftest import APPS
from tests.hpc import HPC_APPS


def step(num_nodes=None, **options):
    return SimpleNamespace(num_nodes=num_nodes, options=options)


def site(scheduler: str = "slurm", **config) -> SiteConfig:
    return SiteConfig(name="hpc", host="hpc.example.org", login="me", scheduler=scheduler,
                      **config)


def test_one_node_gets_the_cores_its_largest_task_holds() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")  # @mpi processes=4
    allocation = allocation_for(step(), app, site(), 2)
    assert (allocation.nodes, allocation.cores_per_node, allocation.workers) == (None, 4, 4)
    assert allocation.runner_options == ()
    plain = allocation_for(step(), ("local", str(APPS / "wordcount.py"), ""), site(), 2)
    assert (plain.cores_per_node, plain.workers) == (2, 2)  # as before: the default


def test_several_nodes_get_one_worker_each() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")
    allocation = allocation_for(step(num_nodes=2), app, site(), 1)
    assert (allocation.nodes, allocation.cores_per_node) == (2, 2)
    assert allocation.runner_options == ("--slurm-allocation",)
    script = job_script(JobRequest(run_dir="/r", python="/py", application="/r/app.py",
                                   arguments=[], run_id="x", first_seq=1, workers=1,
                                   nodes=2, cores_per_node=2,
                                   runner_options=allocation.runner_options))
    assert "--slurm-allocation" in script and "--workers" not in script
    # @multinode(computing_nodes=2) asks for 2 nodes even if the step does not.
    nodes = allocation_for(step(), ("local", str(HPC_APPS / "hpc_mpi.py"), ""), site(), 1)
    assert nodes.nodes == 2 and nodes.cores_per_node == 4


def test_a_site_without_scheduler_runs_on_its_login_node() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")
    allocation = allocation_for(step(num_nodes=2), app, site("none"), 2)
    assert (allocation.nodes, allocation.workers, allocation.runner_options) == (None, 4, ())


def test_a_site_declares_the_gpus_of_its_workers() -> None:
    app = ("local", str(HPC_APPS / "hpc_gpu.py"), "")
    allocation = allocation_for(step(), app, site(worker_resources={"GPU": 4}), 2)
    assert allocation.runner_options == ("--worker-resources", "GPU=4")


def test_a_scale_out_run_holds_one_core_and_asks_slurm_for_its_workers() -> None:
    app = ("local", str(HPC_APPS / "hpc_accounting.py"), "")  # @mpi processes=4
    hpc = site(partition="batch", account="proj", time_limit="30",
               worker_resources={"GPU": 4})
    allocation = allocation_for(step(slurm_workers=3), app, hpc, 2)
    # Not the 4 cores of its MPI task: those are the worker jobs' to hold.
    assert (allocation.nodes, allocation.cores_per_node, allocation.workers) == (None, None, 1)
    assert allocation.runner_options == ("--slurm-workers", "3", "--slurm-partition", "batch",
                                         "--slurm-account", "proj", "--slurm-walltime", "30")
    bare = allocation_for(step(slurm_workers=1), app, site(), 2)
    assert bare.runner_options == ("--slurm-workers", "1")
    # Without a scheduler there is nobody to ask: the run's own workers, as without it.
    login = allocation_for(step(slurm_workers=3), app, site("none"), 2)
    assert (login.workers, login.runner_options) == (4, ())


def test_exec_time_of_extra_compss_opts_sizes_the_job_as_enqueue_compss() -> None:
    """The PyCOMPSs plugin's job is enqueue_compss ... <extra_compss_opts>: its
    --exec_time=<minutes> is the job's wall clock (the plugin has no other)."""
    options = ["--pythonpath=/a", "--exec_time=10", "--keep_workingdir"]
    limit, rest, said = exec_time_limit(None, options)
    assert (limit, rest) == ("10", ["--pythonpath=/a", "--keep_workingdir"])
    assert said is not None and "10 minutes" in said
    limit, rest, said = exec_time_limit("30", options)  # the step's own time_limit first
    assert (limit, rest) == ("30", ["--pythonpath=/a", "--keep_workingdir"])
    assert said is not None and "has no effect" in said and "30" in said
    assert exec_time_limit(None, ["--pythonpath=/a"]) == (None, ["--pythonpath=/a"], None)
    assert exec_time_limit(None, ["--exec_time=5", "--exec_time=7"])[0] == "7"  # the last
    for bad in ("abc", "1.5", "0", ""):
        with pytest.raises(ValueError, match="number of minutes"):
            exec_time_limit(None, [f"--exec_time={bad}"])
