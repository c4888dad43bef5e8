"""PyCOMPSs INOUT increment chain.

A counter (a list holding one integer) is incremented `length` times by a
chain of tasks that take it as INOUT, so each increment depends on the
previous one. After length // 2 increments a reader task takes the counter
as IN; its result must be the value the counter had at that point, even
though it is only synchronized at the end.

Usage:
    eflows-run --workers 2 tests/apps/increment_chain.py <length>
    e.g. eflows-run --workers 2 tests/apps/increment_chain.py 20

Prints a final line: RESULT {"final": length, "middle": length // 2}
"""

import json
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.parameter import INOUT
from pycompss.api.task import task


@task(counter=INOUT)
def increment(counter):
    counter[0] += 1


@task(returns=1)
def read(counter):
    return counter[0]


def main():
    if len(sys.argv) != 2:
        print("Usage: increment_chain.py <length>")
        sys.exit(1)
    length = int(sys.argv[1])

    counter = [0]
    middle = None
    for i in range(length):
        if i == length // 2:
            middle = read(counter)
        increment(counter)
    if middle is None:  # length == 0
        middle = read(counter)

    counter = compss_wait_on(counter)
    middle = compss_wait_on(middle)
    print(f"Counter: {counter[0]} (read {middle} in the middle)")
    print("RESULT " + json.dumps({"final": counter[0], "middle": middle}, sort_keys=True))


if __name__ == "__main__":
    main()
