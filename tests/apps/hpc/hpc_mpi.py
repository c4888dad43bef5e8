"""@mpi, @mpmd_mpi and @multinode tasks as PyCOMPSs users write them.

    eflows-run --workers 2 --threads-per-worker 4 hpc_mpi.py <work dir> <mpi_hello binary>

Eight cores in two workers: the 6-process task holds both workers. The Python MPI
tasks are those of PyCOMPSs' own test of collection layouts (same expected values).
Prints one line ``RESULT <json>``.
"""

import json
import os
import sys

from pycompss.api.api import compss_barrier, compss_wait_on
from pycompss.api.constraint import constraint
from pycompss.api.mpi import mpi
from pycompss.api.mpmd_mpi import mpmd_mpi
from pycompss.api.multinode import multinode
from pycompss.api.on_failure import on_failure
from pycompss.api.parameter import (
    COLLECTION_IN,
    FILE_OUT_STDOUT,
    Depth,
    Prefix,
    Type,
    block_count,
    block_length,
    stride,
)
from pycompss.api.task import task

WORK = os.path.abspath(sys.argv[1])
HELLO = os.path.abspath(sys.argv[2])


@mpi(binary=HELLO, runner="mpirun", processes=6)
@task(out=FILE_OUT_STDOUT, level={Prefix: "--level="}, returns=int)
def hello(name, level, out):
    pass


@mpi(binary=HELLO, runner="mpirun", processes=2, args="-x {{name}}", working_dir=WORK)
@task(out=FILE_OUT_STDOUT, returns=int)
def hello_template(name, out):
    pass


@on_failure(management="IGNORE", returns=-1)
@mpi(binary="sh", runner="mpirun", processes=2, args="-c {{script}}")
@task(returns=int)
def failing_mpi(script):
    pass


@mpi(binary="sh", runner="mpirun", processes=2, args="-c {{script}}",
     fail_by_exit_value=False)
@task(returns=int)
def exit_code_mpi(script):
    pass


@mpmd_mpi(runner="mpirun", programs=[
    dict(binary="echo", processes=1, args="first {{a}}"),
    dict(binary="echo", processes=2, args="second {{b}}")])
@task(out=FILE_OUT_STDOUT)
def two_programs(a, b, out):
    pass


@task(returns=int)
def gen_data():
    return 1


@mpi(runner="mpirun", processes=4)
@task(returns=1)
def ranks(seed):
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank + seed


@constraint(computing_units=2)
@mpi(runner="mpirun", processes=2, processes_per_node=2)
@task(returns=list)
def return_rank_omp(seed):
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank + seed + int(os.environ["OMP_NUM_THREADS"])


@constraint(computing_units=4)
@mpi(runner="mpirun", processes=1, data_layout={block_count: 4, block_length: 1, stride: 1},
     scale_by_cu=True)
@task(data=COLLECTION_IN, data2=COLLECTION_IN, returns=4)
def layout_test_with_normal(scalar, data, data2):
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.rank
    return (data2[rank] * data * rank) + scalar


@constraint(computing_units=4)
@mpi(runner="mpirun", processes=1, data_layout={block_count: 4, block_length: 2, stride: 1},
     scale_by_cu=True)
@task(data=COLLECTION_IN, returns=4)
def layout_test_with_all(data):
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.rank
    return data[0] + data[1] + rank


@constraint(computing_units=4)
@mpi(runner="mpirun", processes=1, data_layout={block_count: 8, block_length: 1, stride: 1},
     scale_by_cu=True)
@task(data={Type: COLLECTION_IN, Depth: 2}, returns=4)
def layout_test_nested_lists(data):
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.rank
    if len(data) == 2:
        return (data[0][0] + data[0][1] + data[1][0] + data[1][1]) * rank
    return data


@multinode(computing_nodes=2)
@task(returns=1)
def multi_node_task():
    return {key: os.environ[key] for key in
            ("COMPSS_NUM_NODES", "COMPSS_NUM_THREADS", "COMPSS_HOSTNAMES")}


def lines(path):
    with open(path) as handle:
        return sorted(handle.read().splitlines())


def main():
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "hello.out")
    code = hello("alpha", 3, out)
    template_out = os.path.join(WORK, "template.out")
    template_code = hello_template("beta", template_out)
    mpmd_out = os.path.join(WORK, "mpmd.out")
    two_programs("A", "B", mpmd_out)
    data = [gen_data() for _ in range(4)]
    result = {
        "exit": compss_wait_on(code),
        "template_exit": compss_wait_on(template_code),
        "failed": compss_wait_on(failing_mpi("exit 5")),
        "exit_code": compss_wait_on(exit_code_mpi("exit 4")),
        "ranks": compss_wait_on(ranks(10)),
        "omp": compss_wait_on(return_rank_omp(10)),
        "layout_normal": list(compss_wait_on(layout_test_with_normal(2, data,
                                                                       [10, 10, 10, 10]))),
        "layout_all": list(compss_wait_on(layout_test_with_all([1, 2, 3, 4, 5]))),
        "layout_nested": list(compss_wait_on(layout_test_nested_lists(
            [[1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [1, 6], [1, 7], [1, 8]]))),
        "multinode": compss_wait_on(multi_node_task()),
    }
    compss_barrier()
    result["hello"] = lines(out)
    result["template"] = lines(template_out)
    result["mpmd"] = lines(mpmd_out)
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
