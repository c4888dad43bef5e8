"""@binary tasks as PyCOMPSs users write them (PyCOMPSs' own binary test app style).

    eflows-run --workers 2 --threads-per-worker 2 hpc_binary.py <work dir>

Prints one line ``RESULT <json>`` with what each program produced.
"""

import json
import os
import sys

from pycompss.api.api import compss_barrier, compss_open, compss_wait_on
from pycompss.api.binary import binary
from pycompss.api.constraint import constraint
from pycompss.api.on_failure import on_failure
from pycompss.api.parameter import (
    COLLECTION_IN,
    FILE_IN,
    FILE_IN_STDIN,
    FILE_OUT,
    FILE_OUT_STDERR,
    FILE_OUT_STDOUT,
    IN,
    STDOUT,
    Prefix,
    StdIOStream,
    Type,
)
from pycompss.api.task import task

WORK = os.path.abspath(sys.argv[1])
ARGS_SH = os.path.join(WORK, "args.sh")  # prints each of its arguments on a line


@binary(binary="grep", working_dir=".")
@task(infile={Type: FILE_IN_STDIN}, result={Type: FILE_OUT_STDOUT})
def grepper(keyword, infile, result):
    pass


@binary(binary=ARGS_SH)
@task(hide={Type: FILE_IN, Prefix: "--hide="}, sort={Type: IN, Prefix: "--sort="},
      numbers=COLLECTION_IN, skipped={Prefix: "#"},
      out={Type: FILE_OUT, StdIOStream: STDOUT})
def show_args(flag, hide, sort, numbers, skipped, text, out):
    pass


@binary(binary="date", args="-u -d {{day}} +%Y-%m-%d", working_dir=WORK + "/{{sub}}")
@task(out=FILE_OUT_STDOUT)
def date_of(day, sub, out):
    pass


@binary(binary="sh", fail_by_exit_value=False)
@task(returns=int)
def exit_with(flag, script):
    pass


@on_failure(management="IGNORE", returns=-1)
@binary(binary="sh")  # fail_by_exit_value defaults to True
@task(returns=int, err=FILE_OUT_STDERR)
def failing(flag, script, err):
    pass


@constraint(computing_units=2)
@binary(binary="sh")
@task(returns=int, out=FILE_OUT_STDOUT)
def environment(flag, script, out):
    pass


@on_failure(management="IGNORE")
@binary(binary="sleep")
@task(time_out=1, returns=int)
def too_long(seconds):
    pass


def main():
    os.makedirs(WORK, exist_ok=True)
    with open(ARGS_SH, "w") as handle:
        handle.write('#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n')
    os.chmod(ARGS_SH, 0o755)
    infile = os.path.join(WORK, "infile.txt")
    with open(infile, "w") as handle:
        handle.write("Hi there\nnothing here\nHi again\n")
    grepped = os.path.join(WORK, "grep.out")
    grepper("Hi", infile, grepped)
    args_out = os.path.join(WORK, "args.out")
    show_args("-l", infile, "time", [1, 2, 3], "never shown", "two words", args_out)
    date_out = os.path.join(WORK, "date.out")
    date_of("2024-02-29", "in_wd", date_out)
    codes = compss_wait_on([exit_with("-c", "exit 0"), exit_with("-c", "exit 7")])
    err = os.path.join(WORK, "failing.err")
    failed = compss_wait_on(failing("-c", "echo to-stderr >&2; exit 3", err))
    env_out = os.path.join(WORK, "env.out")
    env_code = environment("-c", "echo $COMPSS_NUM_THREADS $OMP_NUM_THREADS "
                                 "$COMPSS_NUM_NODES; pwd", env_out)
    timed = compss_wait_on(too_long(30))
    compss_barrier()
    with compss_open(grepped) as handle:
        grep_lines = handle.read().splitlines()
    with compss_open(args_out) as handle:
        args_lines = handle.read().splitlines()
    with compss_open(env_out) as handle:
        env_lines = handle.read().splitlines()
    with open(err) as handle:
        err_text = handle.read()
    with open(date_out) as handle:
        date_text = handle.read().strip()
    result = {
        "grep": grep_lines,
        "args": args_lines,
        "date": date_text,
        "date_wd": os.path.isdir(os.path.join(WORK, "in_wd")),
        "codes": codes,
        "failed": failed,
        "failed_stderr": err_text.strip(),
        "env": env_lines[0].split(),
        "env_code": compss_wait_on(env_code),
        "sandbox_cwd": env_lines[1] != os.getcwd(),
        "timed_out": timed,
    }
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
