"""A PyCOMPSs application: tally.py <first> <last> <file> writes the sum of the range,
computed by tasks, to <file>."""

import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=int)
def add(a, b):
    return a + b


def main(first, last, target):
    total = 0
    for value in range(first, last + 1):
        total = add(total, value)
    total = compss_wait_on(total)
    with open(target, "w") as handle:
        handle.write(str(total))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
