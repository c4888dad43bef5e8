"""@software tasks described by eFlows4HPC's JSON files (tests/apps/hpc/software/).

    MPI_HELLO=<mpi_hello binary> COUNT_CUS=2 \\
        eflows-run --workers 2 --threads-per-worker 2 hpc_software.py <work dir>

Prints one line ``RESULT <json>``.
"""

import json
import os
import sys

from pycompss.api.api import compss_barrier, compss_wait_on
from pycompss.api.parameter import FILE_OUT_STDOUT
from pycompss.api.software import software
from pycompss.api.task import task

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "software")
WORK = os.path.abspath(sys.argv[1])


@software(config_file=os.path.join(CONFIGS, "mpi_hello.json"))
@task(out=FILE_OUT_STDOUT, returns=int)
def hello(name, wd, out):
    pass


@software(config_file=os.path.join(CONFIGS, "count_lines.json"))
def count_lines(path):
    with open(path) as handle:
        return len(handle.readlines())


@software(config_file=os.path.join(CONFIGS, "grep.json"))
def grep_count(word, path, out):
    pass


@software(config_file=os.path.join(CONFIGS, "workflow.json"))
def pipeline(path):
    return count_lines(path)  # not a task itself: runs here, submits a task


def main():
    os.makedirs(WORK, exist_ok=True)
    data = os.path.join(WORK, "data.txt")
    with open(data, "w") as handle:
        handle.write("error one\nfine\nerror two\n")
    out = os.path.join(WORK, "hello.out")
    wd = os.path.join(WORK, "run_dir")
    code = hello("gamma", wd, out)
    grep_out = os.path.join(WORK, "grep.out")
    grepped = grep_count("error", data, grep_out)
    result = {"hello_exit": compss_wait_on(code),
              "count": compss_wait_on(pipeline(data)),
              "grep_exit": compss_wait_on(grepped)}
    compss_barrier()
    with open(out) as handle:
        result["hello"] = sorted(handle.read().splitlines())
    with open(grep_out) as handle:
        result["grep"] = handle.read().strip()
    with open(os.path.join(wd, "epilog.txt")) as handle:
        result["epilog"] = handle.read().split()
    result["cores"] = count_lines.options.computing_units  # "$COUNT_CUS"
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
