"""Two steps of a workflow handing a file over: one writes it, a later one reads it.

Usage:
    eflows-run tests/apps/step_outputs.py produce <squares> <notes> <n>
    eflows-run tests/apps/step_outputs.py consume <squares> <result>

``produce``: a FILE_OUT task writes the squares of 1..n to ``<squares>`` (one a line),
another writes a line to ``<notes>``, a third writes ``scratch.txt`` in the current
directory (a file no later step asks for). ``consume``: FILE_IN tasks sum and count the
lines of ``<squares>``, and a FILE_OUT task given both futures writes
``sum of <count> squares: <sum>`` to ``<result>``. Folders of the paths are created.
Prints a final ``RESULT {"count": ..., "sum": ...}`` (consume) or
``RESULT {"wrote": [...]}`` (produce).
"""

import json
import os
import sys

from pycompss.api.api import compss_wait_on, compss_wait_on_file
from pycompss.api.parameter import FILE_IN, FILE_OUT
from pycompss.api.task import task


@task(path=FILE_OUT)
def write_squares(path, n):
    with open(path, "w") as handle:
        for i in range(1, n + 1):
            handle.write(f"{i * i}\n")


@task(path=FILE_OUT)
def write_text(path, text):
    with open(path, "w") as handle:
        handle.write(text)


@task(path=FILE_IN, returns=1)
def total(path):
    with open(path) as handle:
        return sum(int(line) for line in handle if line.strip())


@task(path=FILE_IN, returns=1)
def count(path):
    with open(path) as handle:
        return len([line for line in handle if line.strip()])


@task(path=FILE_OUT)
def write_result(path, how_many, how_much):
    with open(path, "w") as handle:
        handle.write(f"sum of {how_many} squares: {how_much}\n")


def _place(path):
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def main():
    mode, *rest = sys.argv[1:]
    if mode == "produce":
        squares, notes, n = _place(rest[0]), _place(rest[1]), int(rest[2])
        scratch = _place("scratch.txt")
        write_squares(squares, n)
        write_text(notes, f"{n} squares\n")
        write_text(scratch, "nobody reads this\n")
        for path in (squares, notes, scratch):
            compss_wait_on_file(path)
        print("RESULT " + json.dumps({"wrote": [squares, notes, scratch]}))
    elif mode == "consume":
        squares, result = rest[0], _place(rest[1])
        print(f"reading {squares}")
        how_many, how_much = count(squares), total(squares)
        write_result(result, how_many, how_much)
        compss_wait_on_file(result)
        print("RESULT " + json.dumps({"count": compss_wait_on(how_many),
                                      "sum": compss_wait_on(how_much)}, sort_keys=True))
    else:
        print(f"unknown mode {mode!r}")
        sys.exit(2)


if __name__ == "__main__":
    main()
