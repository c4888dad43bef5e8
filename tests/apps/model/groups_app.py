"""Task groups and COMPSsException: what the file holds once the surviving tasks ran.

A ledger file is appended to by chained FILE_INOUT tasks. In PyCOMPSs a task that
raises COMPSsException keeps what it wrote, the rest of its group is cancelled, and
the tasks submitted afterwards on the same file run on what the survivors left.
"""
import json
import os
import sys
import time

from pycompss.api.api import (
    TaskGroup,
    compss_barrier,
    compss_barrier_group,
    compss_cancel_group,
    compss_wait_on,
    compss_wait_on_file,
)
from pycompss.api.exceptions import COMPSsException
from pycompss.api.parameter import FILE_INOUT
from pycompss.api.task import task


@task(ledger=FILE_INOUT)
def write(ledger, mark):
    with open(ledger, "a") as handle:
        handle.write(mark)


@task(ledger=FILE_INOUT)
def write_then_raise(ledger, mark):
    with open(ledger, "a") as handle:
        handle.write(mark)
    raise COMPSsException(f"stopped after {mark}")


@task(ledger=FILE_INOUT)
def slow_write(ledger, mark, seconds):
    for _ in range(int(seconds * 10)):
        time.sleep(0.1)
    with open(ledger, "a") as handle:
        handle.write(mark)


@task(returns=1)
def checked(value, limit):
    if value > limit:
        raise COMPSsException(f"{value} is over {limit}")
    return value + 1


def main(work):
    os.makedirs(work, exist_ok=True)
    ledger = os.path.join(work, "ledger.txt")
    open(ledger, "w").close()
    out = {"caught": []}

    # 1. implicit barrier: the first task writes "x" and raises; the others are cancelled
    try:
        with TaskGroup("first"):
            for _ in range(3):
                write_then_raise(ledger, "x")
    except COMPSsException as exc:
        out["caught"].append(str(exc))
        write(ledger, "a")  # submitted after the exception: runs
    write(ledger, "b")

    # 2. explicit barrier of a group without implicit barrier
    with TaskGroup("second", False):
        for _ in range(3):
            write_then_raise(ledger, "y")
    try:
        compss_barrier_group("second")
    except COMPSsException as exc:
        out["caught"].append(str(exc))
        write(ledger, "c")

    # 3. a chain of returns: the second raises, the third never runs
    value = 1
    try:
        with TaskGroup("values"):
            value = checked(value, 1)
            value = checked(value, 1)
            value = checked(value, 1)
    except COMPSsException as exc:
        out["caught"].append(str(exc))

    # 4. nested groups: the inner one raises, the outer barrier sees it too
    try:
        with TaskGroup("outer", False), TaskGroup("inner"):
            write_then_raise(ledger, "z")
            write(ledger, "never")
    except COMPSsException as exc:
        out["caught"].append(str(exc))
    compss_barrier()

    # 5. compss_cancel_group: a running chain is stopped, what ran stays
    with TaskGroup("doomed", False):
        slow_write(ledger, "d", 0.1)
        slow_write(ledger, "never", 30)
        slow_write(ledger, "never", 30)
    time.sleep(3)
    compss_cancel_group("doomed")
    write(ledger, "e")
    compss_wait_on_file(ledger)
    with open(ledger) as handle:
        out["ledger"] = handle.read()
    out["alive"] = compss_wait_on(checked(1, 5))
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
