"""Directions and types: collections of files, dictionaries, long-form definitions."""
import json
import os
import sys

from pycompss.api.api import compss_barrier, compss_open, compss_wait_on, compss_wait_on_file
from pycompss.api.parameter import (
    COLLECTION_FILE_IN,
    COLLECTION_FILE_INOUT,
    COLLECTION_FILE_OUT,
    COLLECTION_INOUT,
    COMMUTATIVE,
    DICTIONARY_IN,
    DICTIONARY_INOUT,
    FILE_CONCURRENT,
    FILE_IN,
    FILE_OUT,
    INOUT,
    STDOUT,
    Cache,
    Depth,
    Direction,
    Keep_rename,
    Prefix,
    StdIOStream,
    Type,
    Weight,
)
from pycompss.api.task import task


@task(paths=COLLECTION_FILE_IN, returns=1)
def concatenate(paths):
    return "".join(open(p).read() for p in paths)


@task(paths=COLLECTION_FILE_OUT)
def write_all(paths, text):
    for i, p in enumerate(paths):
        with open(p, "w") as handle:
            handle.write(f"{text}{i}")


@task(paths=COLLECTION_FILE_INOUT)
def append_all(paths, suffix):
    for p in paths:
        with open(p, "a") as handle:
            handle.write(suffix)


@task(table=DICTIONARY_IN, returns=1)
def keys_and_sum(table):
    return sorted(table), sum(table.values())


@task(table={Type: DICTIONARY_INOUT, Depth: 2})
def double_values(table):
    for key, value in table.items():
        if isinstance(value, dict):
            for inner in value:
                value[inner] *= 2
        else:
            table[key] = value * 2


@task(numbers=COLLECTION_INOUT)
def negate(numbers):
    for i, value in enumerate(numbers):
        numbers[i] = -value


@task(out={Type: FILE_OUT, StdIOStream: STDOUT, Prefix: "--out=", Weight: 2.0,
           Keep_rename: False, Cache: False})
def long_form(out, text):
    with open(out, "w") as handle:
        handle.write(text)


@task(counter={Type: INOUT, Direction: COMMUTATIVE})
def bump(counter, by):
    counter["total"] += by


@task(log=FILE_CONCURRENT)
def log_line(log, line):
    with open(log, "a") as handle:
        handle.write(line + "\n")


@task(log=FILE_IN, returns=1)
def count_lines(log):
    return len(open(log).read().splitlines())


@task(report=FILE_OUT)
def maybe_report(value, report=None):
    if report is not None:
        with open(report, "w") as handle:
            handle.write(str(value))


@task(values=INOUT, returns=1)
def scaled(values, *factors, offset=0, **named):
    values.append(sum(factors) + offset + sum(named.values()))
    return len(values)


@task(args=COLLECTION_INOUT)
def grow_each(*args):
    for item in args:
        item.append(len(item))


def main(work):
    os.makedirs(work, exist_ok=True)
    out = {}
    parts = [os.path.join(work, f"part{i}.txt") for i in range(3)]
    write_all(parts, "p")
    append_all(parts, "!")
    out["files"] = compss_wait_on(concatenate(parts))
    table = {"a": 1, "b": 2}
    double_values(table)
    out["keys_and_sum"] = compss_wait_on(keys_and_sum(table))
    nested = {"x": {"y": 3}, "z": 4}
    double_values(nested)
    out["nested"] = compss_wait_on(nested)
    numbers = [1, 2, 3]
    negate(numbers)
    out["numbers"] = compss_wait_on(numbers)
    target = os.path.join(work, "long.txt")
    long_form(target, "long form")
    with compss_open(target) as handle:
        out["long_form"] = handle.read()
    counter = {"total": 0}
    for i in range(4):
        bump(counter, i)
    out["commutative"] = compss_wait_on(counter)
    log = os.path.join(work, "log.txt")
    open(log, "w").close()
    for i in range(4):
        log_line(log, f"line {i}")
    out["concurrent_lines"] = compss_wait_on(count_lines(log))
    maybe_report(1)
    maybe_report(2, report=os.path.join(work, "report.txt"))
    compss_wait_on_file(os.path.join(work, "report.txt"))
    with open(os.path.join(work, "report.txt")) as handle:
        out["report"] = handle.read()
    values = []
    size = scaled(values, 1, 2, offset=10, extra=100)
    out["varargs"] = [compss_wait_on(size), compss_wait_on(values)]
    first, second = [0], [0, 0]
    grow_each(first, second)
    compss_barrier()
    out["args_inout"] = compss_wait_on([first, second])
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
