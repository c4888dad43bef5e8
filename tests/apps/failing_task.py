"""A PyCOMPSs application whose task fails for good (on_failure="FAIL").

``broken`` raises ValueError("bad input 42"); an independent ``long_task`` is still
running when the main program waits on ``broken`` and gets the failure. The runner
must exit with status 1, show the task's own traceback and not wait for
``long_task`` to finish.

Usage:
    eflows-run --workers 2 tests/apps/failing_task.py [<long_seconds>]
"""

import sys
import time

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def long_task(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # Python-level loop: interruptible
        time.sleep(0.05)
    return seconds


@task(returns=1, on_failure="FAIL")
def broken(value):
    time.sleep(0.3)  # let long_task start first
    raise ValueError(f"bad input {value}")  # FAILING_TASK_RAISE_LINE


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    slow = long_task(seconds)
    result = broken(42)
    result = compss_wait_on(result)
    print("not reached: " + repr(result))
    print(compss_wait_on(slow))


if __name__ == "__main__":
    main()
