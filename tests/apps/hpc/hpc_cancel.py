"""An MPI task (and a plain program) still running when the run fails.

    eflows-run --workers 3 hpc_cancel.py <marker seconds>

``sleep <marker seconds>`` is the program: a test looks for it in the process table
once the run has ended, and finds none.
"""

import sys
import time

from pycompss.api.api import compss_barrier
from pycompss.api.binary import binary
from pycompss.api.mpi import mpi
from pycompss.api.task import task

SECONDS = sys.argv[1]


@mpi(binary="sleep", runner="mpirun", processes=2)
@task()
def simulation(seconds):
    pass


@binary(binary="sleep")
@task()
def helper(seconds):
    pass


@task()
def failing():
    time.sleep(3)  # long enough for the programs to be running
    raise ValueError("the analysis failed")


if __name__ == "__main__":
    simulation(SECONDS)
    helper(SECONDS)
    failing()
    compss_barrier()
