"""Launch overhead of an @mpi task against a bare ``mpirun`` of the same program.

A trivial C MPI program (compiled here with ``mpicc``) runs with the same number of
processes, one launch at a time, alternating: bare ``mpirun -n P ./hello`` from this
process, then the same as an ``@mpi(binary=..., processes=P)`` task through the
engine (submit, hold the cores on the workers, launch, result back). The table shows
the median of each and the ratio. Target (issue #13): ours / bare <= 1.2.

Two engine layouts are measured: one 2-core worker (the task's cores fit on one
worker) and two 1-core workers (the task holds a core on each: the leader plus a
holder task, see engine/launch/nodes.py).

    .venv/bin/python benchmarks/bench_mpi_launch.py [--processes 2] [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eflows_kernel.compat import install_pycompss_shim
from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
from eflows_kernel.model import compss_wait_on, task
from eflows_kernel.model.hpc import mpi

HELLO_C = r"""
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0) printf("hello from %d ranks\n", size);
    MPI_Finalize();
    return 0;
}
"""


def build(directory: Path) -> Path:
    if shutil.which("mpicc") is None:
        sys.exit("mpicc is not installed (scripts/install-system-packages.sh)")
    source = directory / "hello.c"
    source.write_text(HELLO_C)
    binary = directory / "hello"
    subprocess.run(["mpicc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def bare(binary: Path, processes: int, cwd: Path) -> float:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    start = time.perf_counter()
    subprocess.run(["mpirun", "-n", str(processes), str(binary)], check=True, cwd=cwd,
                   env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def ours(launch: object) -> float:
    start = time.perf_counter()
    exit_value = compss_wait_on(launch())  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    if exit_value != 0:
        sys.exit(f"the @mpi task returned {exit_value}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    install_pycompss_shim()
    work = Path(tempfile.mkdtemp(prefix="bench-mpi-"))
    binary = build(work)
    procs = args.processes

    @mpi(binary=str(binary), runner="mpirun", processes=procs)
    @task(returns=1)
    def launch() -> None:
        pass

    rows = []
    layouts = [(f"1 worker x {procs} cores", 1, procs),
               (f"{procs} workers x 1 core", procs, 1)]
    for label, workers, threads in layouts:
        engine = Engine(EngineConfig(cluster=ClusterConfig(
            n_workers=workers, threads_per_worker=threads))).start()
        try:
            ours(launch)  # warm-up: worker imports, MPI flavour detection
            bare(binary, procs, work)
            bare_times, our_times = [], []
            for _ in range(args.rounds):
                bare_times.append(bare(binary, procs, work))
                our_times.append(ours(launch))
        finally:
            engine.stop()
        rows.append((label, statistics.median(bare_times), statistics.median(our_times)))
    shutil.rmtree(work, ignore_errors=True)
    print(f"\n{procs}-process trivial MPI program, {args.rounds} launches each, median:")
    print(f"{'engine layout':<24} {'bare mpirun (s)':>16} {'@mpi task (s)':>14} "
          f"{'ratio':>7}")
    for label, bare_s, ours_s in rows:
        print(f"{label:<24} {bare_s:>16.3f} {ours_s:>14.3f} {ours_s / bare_s:>7.2f}")
    print("target: ratio <= 1.20")


if __name__ == "__main__":
    main()
