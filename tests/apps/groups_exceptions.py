"""PyCOMPSs task groups and COMPSsException.

A first task group ("checks") runs several tasks; one of them finds a value
over the threshold and raises COMPSsException. The exception reaches the
main program when the group ends (implicit barrier), where it is caught.
A second group ("later") is created without implicit barrier and is waited
explicitly with compss_barrier_group; none of its tasks raise.

Usage:
    eflows-run --workers 2 tests/apps/groups_exceptions.py

Prints a final line:
RESULT {"caught": true, "later": [0, 1, 4, 9, 16], "message": "threshold reached"}
"""

import json
import sys

from pycompss.api.api import TaskGroup, compss_barrier_group, compss_wait_on
from pycompss.api.exceptions import COMPSsException
from pycompss.api.task import task

THRESHOLD = 10


@task(returns=1)
def check(value, threshold):
    if value >= threshold:
        raise COMPSsException("threshold reached")
    return value


@task(returns=1)
def square(value):
    return value * value


def main():
    if len(sys.argv) != 1:
        print("Usage: groups_exceptions.py")
        sys.exit(1)

    caught = False
    message = None
    try:
        with TaskGroup("checks"):
            for value in [1, 4, 12, 3]:
                check(value, THRESHOLD)
    except COMPSsException as e:
        caught = True
        message = str(e)
        print("Caught COMPSsException: " + message)

    squares = []
    with TaskGroup("later", implicit_barrier=False):
        for value in range(5):
            squares.append(square(value))
    compss_barrier_group("later")
    squares = compss_wait_on(squares)

    result = {"caught": caught, "message": message, "later": squares}
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
