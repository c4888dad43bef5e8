"""PyCOMPSs file pipeline.

Exercises file dependencies on one path: a task creates a file of numbers
(FILE_OUT), two tasks append to it in order (FILE_INOUT), and two reader
tasks (FILE_IN) sum its lines and count them. The main program then waits
for the file with compss_wait_on_file, checks it with compss_file_exists and
reads it directly. A second, scratch file is written and read by tasks and
then deleted with compss_delete_file while its reader may still be pending.

Usage:
    eflows-run --workers 2 tests/apps/file_pipeline.py <work_dir>

Prints a final line:
RESULT {"exists": true, "lines": 20, "ordered": true, "sum": 210,
        "tmp_exists": false, "tmp_sum": 615}
"""

import json
import os
import sys

from pycompss.api.api import (
    compss_delete_file,
    compss_file_exists,
    compss_wait_on,
    compss_wait_on_file,
)
from pycompss.api.parameter import FILE_IN, FILE_INOUT, FILE_OUT
from pycompss.api.task import task


@task(file_path=FILE_OUT)
def write_numbers(file_path, first, last):
    with open(file_path, "w") as f:
        for n in range(first, last + 1):
            f.write(f"{n}\n")


@task(file_path=FILE_INOUT)
def append_numbers(file_path, first, last):
    with open(file_path, "a") as f:
        for n in range(first, last + 1):
            f.write(f"{n}\n")


@task(file_path=FILE_IN, returns=1)
def sum_lines(file_path):
    with open(file_path) as f:
        return sum(int(line) for line in f if line.strip())


@task(file_path=FILE_IN, returns=1)
def count_lines(file_path):
    with open(file_path) as f:
        return len([line for line in f if line.strip()])


def main():
    if len(sys.argv) != 2:
        print("Usage: file_pipeline.py <work_dir>")
        sys.exit(1)
    work_dir = sys.argv[1]
    os.makedirs(work_dir, exist_ok=True)
    numbers = os.path.join(work_dir, "numbers.txt")
    scratch = os.path.join(work_dir, "scratch.txt")

    write_numbers(numbers, 1, 10)
    append_numbers(numbers, 11, 15)
    append_numbers(numbers, 16, 20)
    total = sum_lines(numbers)
    lines = count_lines(numbers)

    write_numbers(scratch, 100, 105)
    scratch_sum = sum_lines(scratch)
    compss_delete_file(scratch)

    compss_wait_on_file(numbers)
    exists = compss_file_exists(numbers)
    with open(numbers) as f:
        values = [int(line) for line in f if line.strip()]

    total = compss_wait_on(total)
    lines = compss_wait_on(lines)
    scratch_sum = compss_wait_on(scratch_sum)
    scratch_exists = compss_file_exists(scratch)

    result = {
        "sum": total,
        "lines": lines,
        "exists": exists,
        "ordered": values == list(range(1, 21)),
        "tmp_sum": scratch_sum,
        "tmp_exists": scratch_exists,
    }
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
