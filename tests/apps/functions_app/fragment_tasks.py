"""Tasks of functions_app, in a module beside the main program (as PyCOMPSs apps do)."""

from pycompss.api.task import task
from pycompss.functions.elapsed_time import timeit
from pycompss.util.context import CONTEXT, in_master, in_worker


@task(returns=1)
def add(a, b):
    return a + b


@task(returns=1)
def add3(a, b, c):
    return a + b + c


@task(returns=1)
def row_sums(fragment):
    return [round(sum(row), 9) for row in fragment]


@task(returns=1)
@timeit()
def timed_square(x):
    return x * x


@task(returns=2)
def where_am_i():
    return CONTEXT.in_worker() and in_worker(), CONTEXT.in_master() or in_master()
