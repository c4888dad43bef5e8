"""An MPI step as eFlows4HPC workflows write them: build, run on ranks, summarise.

    mpi_ring.py <token> <result.json>
"""

import json
import os
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.binary import binary
from pycompss.api.mpi import mpi
from pycompss.api.parameter import DIRECTORY_IN, FILE_IN, FILE_OUT, FILE_OUT_STDOUT, Prefix, Type
from pycompss.api.task import task

HERE = os.path.dirname(os.path.abspath(__file__))


@binary(binary="mpicc", args="-O2 -o {{program}} {{source}}")
@task(source=FILE_IN, program=FILE_OUT)
def build(source, program):
    pass


@mpi(binary="./ring", runner="mpirun", processes=2, working_dir="{{workdir}}")
@task(workdir={Type: DIRECTORY_IN, Prefix: "#"}, program={Type: FILE_IN, Prefix: "#"},
      out=FILE_OUT_STDOUT, returns=int)
def ring(workdir, program, token, out):
    pass


@task(log=FILE_IN, result=FILE_OUT)
def summarise(log, exit_value, result):
    with open(log) as handle:
        lines = handle.read().splitlines()
    token = next(int(line.split()[1]) for line in lines if line.startswith("token "))
    ranks = sorted(line for line in lines if line.startswith("rank "))
    hosts = sorted({line.rsplit(" on ", 1)[1] for line in ranks})
    with open(result, "w") as handle:
        json.dump({"token": token, "ranks": len(ranks), "hosts": hosts,
                   "exit_value": exit_value}, handle)


def main():
    token, result = int(sys.argv[1]), os.path.abspath(sys.argv[2])
    workdir = os.getcwd()
    program = os.path.join(workdir, "ring")
    build(os.path.join(HERE, "ring.c"), program)
    out = os.path.join(workdir, "ring.out")
    exit_value = ring(workdir, program, token, out)
    summarise(out, exit_value, result)
    print("RESULT " + json.dumps({"exit_value": compss_wait_on(exit_value)}))


if __name__ == "__main__":
    main()
