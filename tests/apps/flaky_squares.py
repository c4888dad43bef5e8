"""Squares 0..5; the first run crashes after four of them (a node lost, a wall clock).

Usage: flaky_squares.py <ledger_dir>. Every task that really runs appends its number to
``<ledger_dir>/ran.txt``; the first run leaves ``<ledger_dir>/crashed`` and fails, a
later one gets to the end: a re-run resuming from the first one's checkpoint runs only
squares 4 and 5. Prints ``RESULT 55``.
"""
import json
import sys
from pathlib import Path

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task

LEDGER = Path(sys.argv[1])


@task(returns=1)
def square(i):
    with open(LEDGER / "ran.txt", "a") as handle:
        handle.write(f"{i}\n")
    return i * i


if __name__ == "__main__":
    first = compss_wait_on([square(i) for i in range(4)])
    if not (LEDGER / "crashed").exists():
        (LEDGER / "crashed").touch()
        raise RuntimeError("the node was lost")
    rest = compss_wait_on([square(i) for i in range(4, 6)])
    print("RESULT " + json.dumps(sum(first + rest)))
