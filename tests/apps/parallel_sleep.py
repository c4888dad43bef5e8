"""PyCOMPSs parallel sleep.

Launches n independent tasks that each sleep for the given number of
seconds and return the process id of the worker that ran them and the
start and end times. With two or more workers, tasks must overlap in time.

Usage:
    eflows-run --workers 2 tests/apps/parallel_sleep.py <n> <seconds>
    e.g. eflows-run --workers 2 tests/apps/parallel_sleep.py 2 1.0

Prints a final line:
RESULT {"elapsed": T, "intervals": [[start, end], ...], "overlap": true, "pids": [...]}
"""

import json
import os
import sys
import time

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def sleep_task(seconds):
    start = time.time()
    time.sleep(seconds)
    end = time.time()
    return os.getpid(), start, end


def overlapping(intervals):
    for i in range(len(intervals)):
        for j in range(i + 1, len(intervals)):
            if intervals[i][0] < intervals[j][1] and intervals[j][0] < intervals[i][1]:
                return True
    return False


def main():
    if len(sys.argv) != 3:
        print("Usage: parallel_sleep.py <n> <seconds>")
        sys.exit(1)
    n = int(sys.argv[1])
    seconds = float(sys.argv[2])

    begin = time.time()
    results = [sleep_task(seconds) for _ in range(n)]
    results = compss_wait_on(results)
    elapsed = time.time() - begin

    intervals = [[start, end] for _, start, end in results]
    pids = [pid for pid, _, _ in results]
    result = {
        "intervals": intervals,
        "pids": pids,
        "overlap": overlapping(intervals),
        "elapsed": elapsed,
    }
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
