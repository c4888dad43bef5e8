"""MPI and @multinode tasks spanning the nodes of a Slurm allocation.

    srun/sbatch -N 2 ... eflows-run --slurm-allocation hpc_nodes.py <mpi_hello binary>

Prints one line ``RESULT <json>``: where each rank ran, what a @multinode task saw.
"""

import json
import os
import socket
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.mpi import mpi
from pycompss.api.multinode import multinode
from pycompss.api.parameter import FILE_OUT_STDOUT
from pycompss.api.task import task

HELLO = os.path.abspath(sys.argv[1])
PROCESSES = int(sys.argv[2]) if len(sys.argv) > 2 else 4


@mpi(binary=HELLO, runner="mpirun", processes=PROCESSES)
@task(out=FILE_OUT_STDOUT, returns=int)
def hello(out):
    pass


@mpi(binary=HELLO, runner="srun", processes=PROCESSES, flags="--mpi=pmix")
@task(out=FILE_OUT_STDOUT, returns=int)
def hello_srun(out):
    pass


@mpi(runner="mpirun", processes=PROCESSES)
@task(returns=1)
def where():
    from mpi4py import MPI

    return [MPI.COMM_WORLD.rank, socket.gethostname()]


@multinode(computing_nodes=2)
@task(returns=1)
def nodes():
    return {"hosts": os.environ["COMPSS_HOSTNAMES"], "count": os.environ["COMPSS_NUM_NODES"],
            "slurm": os.environ.get("SLURM_NODELIST")}


def hosts_of(path):
    with open(path) as handle:
        return sorted({line.split(" on ")[1].split(":")[0] for line in handle if " on " in line})


if __name__ == "__main__":
    out, srun_out = os.path.abspath("hello.out"), os.path.abspath("hello_srun.out")
    result = {"exit": compss_wait_on(hello(out)),
              "srun_exit": compss_wait_on(hello_srun(srun_out)),
              "ranks": compss_wait_on(where()), "multinode": compss_wait_on(nodes())}
    result["hello_hosts"] = hosts_of(out)
    result["srun_hosts"] = hosts_of(srun_out)
    print("RESULT " + json.dumps(result, sort_keys=True))
