"""A 4-process MPI task among ordinary tasks on 2 workers of 2 cores each.

    eflows-run --workers 2 --threads-per-worker 2 hpc_accounting.py <work dir>

Every process records when it ran; ``RESULT`` gives the intervals, so a test can check
that never more than the 4 cores are busy (the MPI task holds all of them).
"""

import json
import os
import sys
import time

from pycompss.api.api import compss_wait_on
from pycompss.api.mpi import mpi
from pycompss.api.parameter import FILE_OUT_STDOUT
from pycompss.api.task import task

WORK = os.path.abspath(sys.argv[1])


@mpi(binary="sh", runner="mpirun", processes=4, args="-c {{script}}")
@task(out=FILE_OUT_STDOUT, returns=int)
def simulation(script, out):
    pass


@task(returns=1)
def analysis(index):
    start = time.time()
    time.sleep(0.6)
    return [start, time.time()]


def main():
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "simulation.out")
    before = [analysis(i) for i in range(4)]
    code = simulation("date +%s.%N; sleep 1.5; date +%s.%N", out)
    after = [analysis(i) for i in range(4, 8)]
    result = {"exit": compss_wait_on(code),
              "tasks": compss_wait_on(before + after)}
    with open(out) as handle:
        stamps = [float(line) for line in handle.read().split()]
    result["mpi"] = [min(stamps), max(stamps)]
    result["mpi_processes"] = len(stamps) // 2
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
