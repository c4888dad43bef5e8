"""Writes the arguments it received, as JSON, to the file named by its first argument.

A task does the writing so the run goes through the engine like any application.
Used to prove that hostile input values arrive as plain text, never run by a shell.

Usage:
    eflows-run tests/apps/echo_args.py <output_file> [args...]
"""

import json
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.parameter import FILE_OUT
from pycompss.api.task import task


@task(path=FILE_OUT)
def write(values, path):
    with open(path, "w") as f:
        json.dump(values, f)


if __name__ == "__main__":
    write(sys.argv[2:], sys.argv[1])
    compss_wait_on(1)
    print("RESULT", json.dumps({"args": sys.argv[2:]}))
