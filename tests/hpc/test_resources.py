"""HPC tasks share the cluster's cores with ordinary tasks, and let nothing run on.

- A 4-process MPI task on 2 workers of 2 cores holds all 4 cores: no ordinary task
  runs meanwhile, and never more than 4 cores are busy.
- A run that fails while an MPI task and a program run leaves no process behind.
- GPU tasks only land on workers that declare a GPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eflows_kernel.model.exceptions import EngineError
from tests.hpc import HPC_APPS

pytestmark = pytest.mark.slow


def _result(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_mpi_task_and_ordinary_tasks_never_oversubscribe(run_app, tmp_path: Path) -> None:
    result = _result(run_app(str(HPC_APPS / "hpc_accounting.py"), str(tmp_path / "work"),
                             extra=("--threads-per-worker", "2")))
    assert result["exit"] == 0 and result["mpi_processes"] == 4
    mpi_start, mpi_end = result["mpi"]
    intervals = [(start, end, 1) for start, end in result["tasks"]]
    intervals.append((mpi_start, mpi_end, 4))
    for start, end in result["tasks"]:  # nothing ran beside the task holding all cores
        assert end <= mpi_start or start >= mpi_end, (start, end, result["mpi"])
    moments = sorted({t for start, end, _ in intervals for t in (start, end)})
    for moment in moments:
        busy = sum(cores for start, end, cores in intervals if start <= moment < end)
        assert busy <= 4, f"{busy} cores busy at {moment}"


def test_a_failed_run_leaves_no_mpi_rank_nor_program(run_app, no_leftover) -> None:
    seconds = 97.3125  # sleep's argument: unique in the process table
    no_leftover(f"sleep {seconds}")
    started = time.monotonic()
    proc = run_app(str(HPC_APPS / "hpc_cancel.py"), str(seconds), workers=4)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # It failed with both ranks and the program running (the task waits for them) ...
    assert "the analysis failed (3 programs running)" in proc.stderr
    # ... and they were stopped, not waited for (they started after the run did).
    assert time.monotonic() - started < seconds


def test_gpu_task_runs_where_workers_declare_a_gpu(run_app) -> None:
    gpu = run_app(str(HPC_APPS / "hpc_gpu.py"), extra=("--worker-resources", "GPU=1"))
    assert _result(gpu) == {"values": [0, 2, 4]}
    proc = run_app(str(HPC_APPS / "hpc_gpu.py"))
    assert proc.returncode == 1
    assert "asks for GPU=1" in proc.stderr and "--worker-resources GPU=1" in proc.stderr


def test_gpu_tasks_never_land_on_a_worker_without_one() -> None:
    from distributed import LocalCluster

    from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
    from eflows_kernel.model import compss_wait_on, constraint, task

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0",
                           resources={"CPU": 1, "MEMORY": 1})
    gpu_worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "dask"), "worker", cluster.scheduler_address,
         "--nthreads", "1", "--resources", "CPU=1,MEMORY=1,GPU=1", "--name", "gpu-node",
         "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = None
    try:
        from distributed import Client

        with Client(cluster.scheduler_address) as client:
            client.wait_for_workers(2, timeout=60)
        engine = Engine(EngineConfig(cluster=ClusterConfig(
            scheduler_address=cluster.scheduler_address))).start()

        @constraint(processors=[{"processorType": "GPU", "computingUnits": 1}])
        @task(returns=1)
        def where(i: int) -> str:
            from distributed import get_worker

            return get_worker().name

        @constraint(processors=[{"processorType": "GPU", "computingUnits": 2}])
        @task(returns=1)
        def two_gpus() -> None:
            return None

        assert set(compss_wait_on([where(i) for i in range(6)])) == {"gpu-node"}
        with pytest.raises(EngineError, match=r"GPU=2.*largest worker has GPU=1"):
            two_gpus()
    finally:
        if engine is not None:
            engine.stop()
        gpu_worker.terminate()
        gpu_worker.wait(timeout=30)
        cluster.close()
