"""Data logistics test application: reads what was staged in, writes results while it runs.

Counts the words of every file of two staged-in folders (one PyCOMPSs task per file),
then keeps rewriting ``<results>/progress.txt`` for a while (what a periodic sync
copies out of the cluster during the run) and ends with ``<results>/summary.json``.

Usage:
    eflows-run tests/apps/data_logistics.py <folder> <folder> <results dir> <seconds>

Prints a final line: RESULT {"files": N, "words": N, "ticks": N}
"""

import json
import os
import sys
import time

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def count_words(text):
    return len(text.split())


def files_below(folder):
    found = []
    for root, _dirs, names in os.walk(folder):
        found += [os.path.join(root, name) for name in names]
    return sorted(found)


def main():
    first, second, results, seconds = sys.argv[1:5]
    os.makedirs(results, exist_ok=True)
    files = files_below(first) + files_below(second)
    counts = []
    for path in files:
        with open(path) as f:
            counts.append(count_words(f.read()))
    counts = compss_wait_on(counts)
    ticks = 0
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        ticks += 1
        with open(os.path.join(results, "progress.txt"), "w") as f:
            f.write(f"tick {ticks}\n")
        time.sleep(0.25)
    summary = {"files": len(files), "words": sum(counts), "ticks": ticks}
    with open(os.path.join(results, "summary.json"), "w") as f:
        json.dump(summary, f)
    print("RESULT", json.dumps(summary))


if __name__ == "__main__":
    main()
