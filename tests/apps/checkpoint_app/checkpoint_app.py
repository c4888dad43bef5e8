"""Checkpointing and recovery as PyCOMPSs users rely on it.

Usage: checkpoint_app.py <mode> [snapshot]
  mode ``fail``: the main program crashes once the first five tasks are done;
  ``fail-late``: the same, 1.5 s later (a periodic checkpoint has run);
  ``ok``: it runs to the end;
  ``other``: it calls its tasks in another order (the checkpoint no longer applies).
With ``snapshot`` it calls ``compss_snapshot()`` after the first five tasks.
Rerunning ``ok`` after a crash must give the same result as an uninterrupted run.
"""

import json
import sys
import time

from counters import Counter, increment_file, square
from pycompss.api.api import compss_barrier, compss_open, compss_snapshot, compss_wait_on

COUNTER_FILE = "counter.txt"


def main():
    mode = sys.argv[1]
    snapshot = "snapshot" in sys.argv[2:]
    with open(COUNTER_FILE, "w") as handle:
        handle.write("1")  # the main program starts from scratch, every run
    counter = Counter(0)
    if mode == "other":
        first = square(3)
        increment_file(COUNTER_FILE)
    else:
        increment_file(COUNTER_FILE)
        first = square(3)
    increment_file(COUNTER_FILE)
    counter.increment()
    counter.increment()
    if snapshot:
        compss_snapshot()
    with compss_open(COUNTER_FILE) as handle:
        middle = int(handle.read())
    if mode.startswith("fail"):
        compss_barrier()
        if mode == "fail-late":
            time.sleep(1.5)
        raise RuntimeError("the main program crashed")
    for _ in range(3):
        increment_file(COUNTER_FILE)
    counter.increment()
    second = square(first)
    counter = compss_wait_on(counter)
    second = compss_wait_on(second)
    with compss_open(COUNTER_FILE) as handle:
        final = int(handle.read())
    print("RESULT " + json.dumps({"counter": counter.value, "file": final, "middle": middle,
                                  "square": second}, sort_keys=True))


if __name__ == "__main__":
    main()
