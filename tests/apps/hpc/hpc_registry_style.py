"""An application with @mpi and @binary tasks (eFlows4HPC registry style).

It imports, its plain task runs, and its @mpi task runs ``/bin/true`` on two ranks
(the exit value is its result).
"""

from pycompss.api.api import compss_wait_on
from pycompss.api.binary import binary
from pycompss.api.constraint import constraint
from pycompss.api.mpi import mpi
from pycompss.api.parameter import FILE_IN, FILE_OUT
from pycompss.api.task import task


@constraint(computing_units=1)
@mpi(binary="/bin/true", args="{{grid}}", runner="mpirun", processes=2)
@task(grid=FILE_IN, returns=1)
def simulate(grid, work_dir):
    pass


@binary(binary="tar", args="zcf {{archive}} {{folder}}")
@task(archive=FILE_OUT)
def pack(folder, archive):
    pass


@task(returns=1)
def prepare(value):
    return value + 1


if __name__ == "__main__":
    print("prepared", compss_wait_on(prepare(1)))
    with open("grid.txt", "w") as handle:
        handle.write("grid")
    print("simulated", compss_wait_on(simulate("grid.txt", ".")))
