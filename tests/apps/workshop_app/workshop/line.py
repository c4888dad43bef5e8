"""Tasks of the workshop application (see ../workshop_app.py): one log file that a
machine jams, inspectors read and a mechanic repairs."""

import time

from pycompss.api.exceptions import COMPSsException
from pycompss.api.parameter import FILE_IN, FILE_INOUT
from pycompss.api.task import task


@task(log=FILE_INOUT)
def jam(log):
    with open(log, "a") as handle:
        handle.write("J")
    raise COMPSsException("the line jammed")


@task(log=FILE_IN, returns=1)
def inspect(log):
    time.sleep(0.2)
    with open(log) as handle:
        return handle.read()


@task(log=FILE_INOUT)
def repair(log):
    with open(log, "a") as handle:
        handle.write("R")
