"""A PyCOMPSs application: closing.py <code> exits with <code>, or, given a negative
one, waits on a task that raises."""

import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=int)
def audit(code):
    raise ValueError(f"the books do not balance ({code})")


if __name__ == "__main__":
    code = int(sys.argv[1])
    if code < 0:
        compss_wait_on(audit(code))
    sys.exit(code)
