"""HPC tasks on the session's Dask cluster (2 workers of 1 core), in-process engine."""

from __future__ import annotations

import itertools

import pytest

from eflows_kernel.model import compss_wait_on, task
from eflows_kernel.model.exceptions import EngineError, TaskDefinitionError, TaskFailedError
from eflows_kernel.model.hpc import container, http, mpi, multinode, ompss
from eflows_kernel.model.parameter import INOUT
from tests.conftest import task_events


@mpi(runner="mpirun", processes=2)
@task(returns=1)
def rank_fails(message):
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank == 1:
        raise ValueError(message)
    return MPI.COMM_WORLD.rank


@mpi(runner="mpirun", processes=2)
@task(box=INOUT)
def rank_zero_writes(box):
    from mpi4py import MPI

    box.append(f"rank {MPI.COMM_WORLD.rank}")


@multinode(computing_nodes=3)
@task()
def three_nodes():
    pass


@container(engine="SINGULARITY", image="/nonexistent/app.sif")
@task(returns=1)
def in_missing_engine():
    return 1


def test_a_failing_rank_fails_the_task_with_its_traceback(engine) -> None:
    with pytest.raises(TaskFailedError) as info:
        compss_wait_on(rank_fails("rank one says no"))
    text = str(info.value)
    assert "raised ValueError on MPI rank 1" in text and "rank one says no" in text
    assert "rank_fails" in text  # the user's frame is in the traceback


def test_inout_of_a_python_mpi_task_is_rank_zeros(engine) -> None:
    box: list[str] = []
    rank_zero_writes(box)
    assert compss_wait_on(box) == ["rank 0"]
    events = task_events(engine)
    running = [e for e in events if e["state"] == "running"]
    assert len(running[0]["hosts"]) == 2  # it held both workers


def test_more_nodes_than_workers_is_an_error_at_call_time(engine) -> None:
    with pytest.raises(EngineError, match="needs 3 nodes"):
        three_nodes()


def test_a_container_engine_that_is_not_installed_says_so(engine) -> None:
    with pytest.raises(TaskFailedError, match="container engine SINGULARITY is not installed"):
        compss_wait_on(in_missing_engine())


@mpi(binary="sh", runner="mpirun", processes=2, args="-c {{script}}")
@task(returns=int)
def both_cores(script):
    pass


def test_tasks_each_holding_every_core_never_wait_on_each_other(engine) -> None:
    """Four 2-process tasks on 2 one-core workers: each needs both workers; placing one
    at a time (the others give their core back and are run again) means no deadlock."""
    started = [both_cores("sleep 0.5") for _ in range(4)]
    assert compss_wait_on(started) == [0, 0, 0, 0]
    intervals = []
    for event in task_events(engine):
        if event["state"] == "done":
            intervals.append((event["started"], event["ended"]))
    intervals.sort()
    for (_, end), (start, _) in itertools.pairwise(intervals):
        assert start >= end - 0.05  # one at a time: each held both cores


@ompss(binary="sh", working_dir=".")
@task(returns=int)
def ompss_program(flag, script):
    pass


@http(service_name="svc", resource="r", request="GET")
@task(returns=1)
def service_call():
    pass


def test_ompss_tasks_run_their_program_as_binary_tasks(engine) -> None:
    assert compss_wait_on(ompss_program("-c", "exit 0")) == 0
    with pytest.raises(TaskFailedError, match=r"exited with value 3: sh -c .exit 3."):
        compss_wait_on(ompss_program("-c", "exit 3"))  # fail_by_exit_value: True


def test_nested_runtimes_are_refused_when_called_not_when_defined(engine) -> None:
    with pytest.raises(TaskDefinitionError, match="@http"):
        service_call()
