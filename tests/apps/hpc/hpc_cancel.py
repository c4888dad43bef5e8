"""An MPI task (and a plain program) still running when the run fails.

    eflows-run --workers 4 hpc_cancel.py <marker seconds> [until-cancelled]

``sleep <marker seconds>`` is the program: a test looks for it in the process table
once the run has ended, and finds none. The failing task waits until the program runs
three times (two MPI ranks and the plain program), so the run fails with all of them
running, however slowly the machine starts them. With ``until-cancelled`` there is no
failing task: the run goes on until it is cancelled (signalled, or its Slurm job ended).
"""

import os
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


def _programs_running(seconds):
    found = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                found += cmdline.read().split(b"\0")[:2] == [b"sleep", seconds.encode()]
        except OSError:
            continue
    return found


@task()
def failing(seconds):
    deadline = time.monotonic() + 60
    while _programs_running(seconds) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    raise ValueError(f"the analysis failed ({_programs_running(seconds)} programs running)")


if __name__ == "__main__":
    simulation(SECONDS)
    helper(SECONDS)
    if sys.argv[2:] != ["until-cancelled"]:
        failing(SECONDS)
    compss_barrier()
