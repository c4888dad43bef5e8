"""Where a step's program and its tasks ran: each reports its host and whether it sees
the test container image (tests/hpc/images.py writes /etc/eflows-image-marker in it).

Usage: eflows-run tests/apps/where_tasks_run.py [TASKS] [SECONDS_EACH]
Prints ``RESULT {json}`` and writes the same to where.json in the run directory.
"""

import json
import os
import socket
import sys
import time

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task

MARKER = "/etc/eflows-image-marker"


def image_seen():
    try:
        with open(MARKER) as handle:
            return handle.read().strip()
    except OSError:
        return None


@task(returns=1)
def where(index, pause):
    time.sleep(pause)
    return {"index": index, "host": socket.gethostname(), "image": image_seen(),
            "env": os.environ.get("EFLOWS_IN_IMAGE")}


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    tasks = compss_wait_on([where(i, pause) for i in range(count)])
    summary = {"main": {"host": socket.gethostname(), "image": image_seen()}, "tasks": tasks}
    print("RESULT " + json.dumps(summary), flush=True)
    with open("where.json", "w") as handle:
        json.dump(summary, handle)


if __name__ == "__main__":
    main()
