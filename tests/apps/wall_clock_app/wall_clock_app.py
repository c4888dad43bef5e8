"""A run that outlasts its wall clock limit.

Usage: wall_clock_app.py <long task seconds> [<limit set by the application>]. One
quick task, then two long ones the main program waits for; ``finished`` is printed
only if they end. With a second argument the application sets its own limit with
``compss_set_wall_clock``.
"""

import sys
import time

from pycompss.api.api import compss_set_wall_clock, compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def quick(x):
    return x + 1


@task(returns=1)
def long_task(seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(0.05)
    return seconds


if __name__ == "__main__":
    seconds = float(sys.argv[1])
    if len(sys.argv) > 2:
        compss_set_wall_clock(int(sys.argv[2]))
    print("quick", compss_wait_on(quick(1)), flush=True)
    results = compss_wait_on([long_task(seconds), long_task(seconds)])
    print("finished", results)
