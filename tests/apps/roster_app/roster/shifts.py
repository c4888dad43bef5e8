"""Tasks of roster_app: what each kind of task finds in COMPSS_HOSTNAMES."""

import os

from pycompss.api.binary import binary
from pycompss.api.constraint import constraint
from pycompss.api.multinode import multinode
from pycompss.api.parameter import FILE_INOUT_STDOUT, FILE_OUT_STDOUT, Type
from pycompss.api.task import task


def _seen():
    return {"names": os.environ["COMPSS_HOSTNAMES"].split(","),
            "nodes": int(os.environ["COMPSS_NUM_NODES"]),
            "threads": int(os.environ["COMPSS_NUM_THREADS"])}


@constraint(computing_units="2")
@multinode(computing_nodes="2")
@task(returns=1)
def night_shift():
    return _seen()


@constraint(computing_units="2")
@binary(binary="sh", args="-c {{script}}")
@task(out={Type: FILE_OUT_STDOUT})
def program_shift(script, out):
    pass


@binary(binary="sh", args="-c {{script}}")
@task(log={Type: FILE_INOUT_STDOUT})
def log_shift(script, log):
    pass
