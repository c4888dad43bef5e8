"""Tasks of the pantry application (see ../pantry_app.py)."""

import os
import types

from pycompss.api.multinode import multinode
from pycompss.api.parameter import INOUT
from pycompss.api.task import task

crew = 1  # how many nodes the stocktake holds: the main program changes it


@task(shelf=INOUT, label=INOUT, price=INOUT, count=INOUT)
def stock(shelf, label, price, count):
    """INOUT on a tuple, a complex and an int: PyCOMPSs runs the task; only the list
    can change (rebinding the immutable ones changes nothing outside the task)."""
    shelf.append(label[0])
    label = (*label, "opened")
    price = price * 2
    count += 1


@task(returns=int)
def next_jar(jars):
    """A generator argument: the task continues where the main program left it."""
    return next(jars)


@task(returns=types.GeneratorType)
def skip_jar(jars):
    """A generator returned: the main program continues after the one skipped here."""
    next(jars)
    return jars


@multinode(computing_nodes="crew")
@task(returns=int)
def stocktake():
    """computing_nodes names a global of this module, read at each call."""
    return int(os.environ["COMPSS_NUM_NODES"])


@multinode(computing_nodes="helpers")
@task(returns=int)
def count_with(helpers):
    """computing_nodes names a parameter."""
    return int(os.environ["COMPSS_NUM_NODES"]) * 10 + helpers
