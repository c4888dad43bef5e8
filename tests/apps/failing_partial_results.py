"""A run that writes results while it goes and then fails (exit status 1).

Keeps rewriting ``<results>/progress.txt`` for a while (what a periodic sync copies out
of the cluster during the run), writes ``<results>/last/partial.json`` and exits 1: a
failed run whose partial results the user still wants out.

Usage:
    eflows-run tests/apps/failing_partial_results.py <results dir> <seconds>
"""

import json
import os
import sys
import time


def main():
    results, seconds = sys.argv[1], float(sys.argv[2])
    os.makedirs(os.path.join(results, "last"), exist_ok=True)
    ticks = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        ticks += 1
        with open(os.path.join(results, "progress.txt"), "w") as f:
            f.write(f"tick {ticks}\n")
        time.sleep(0.5)
    with open(os.path.join(results, "last", "partial.json"), "w") as f:
        json.dump({"ticks": ticks, "complete": False}, f)
    print("failing after", ticks, "ticks")
    sys.exit(1)


if __name__ == "__main__":
    main()
