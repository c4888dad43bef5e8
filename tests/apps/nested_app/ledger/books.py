"""The @compss tasks of nested_app: each runs an application of apps/."""

import os

from pycompss.api.compss import compss
from pycompss.api.constraint import constraint
from pycompss.api.task import task

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")


@compss(runcompss="${RUNCOMPSS}", flags="-d", app_name=APPS + "/tally.py",
        worker_in_master="false", computing_nodes="1")
@constraint(computing_units="2")
@task(returns=int)
def sum_range(first, last, target):
    pass


@compss(app_name=APPS + "/tally.py")
@task(returns=int)
def sum_range_default(first, last, target):
    pass


@compss(runcompss="${RUNCOMPSS}", appName=APPS + "/closing.py")
@task(returns=int)
def close_books(code):
    pass
