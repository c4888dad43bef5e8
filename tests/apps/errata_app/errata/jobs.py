"""Tasks of the errata application (see ../errata_app.py): their decorators name a
parameter the function does not have, as PyCOMPSs' 2_cancel_running_tasks does."""

from pycompss.api.parameter import FILE_IN, FILE_OUT, INOUT
from pycompss.api.task import task


@task(path=FILE_OUT)
def stamp(target, mark):
    """``target`` is a plain string (IN): the task still writes where it says."""
    with open(target, "a") as handle:
        handle.write(mark)
    return None


@task(source=FILE_IN, returns=1)
def measure(source_name):
    with open(source_name) as handle:
        return len(handle.read())


@task(basket=INOUT, returns=1)
def count(items):
    items.append("unseen")  # IN: the caller's list does not change
    return len(items)
