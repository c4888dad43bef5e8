"""@constraint from the environment and from parameters, @implement, @local, @reduction."""
import json
import os
import sys

from pycompss.api.api import compss_barrier, compss_wait_on
from pycompss.api.constraint import constraint
from pycompss.api.implement import implement
from pycompss.api.local import local
from pycompss.api.parameter import COLLECTION_IN, INOUT
from pycompss.api.reduction import reduction
from pycompss.api.task import task

WIDE = 1


@constraint(computing_units="${CU}")
@task(returns=1)
def env_units():
    return "env"


@constraint(computing_units="cores", memory_size="WIDE")
@task(returns=1)
def dynamic_units(cores, label):
    return f"{label}:{cores}"


@constraint(computing_units=64)
@task(returns=1)
def needs_a_big_node(values):
    return ("big", sum(values))


@implement(source_class="decorators_app", method="needs_a_big_node")
@constraint(computing_units=1)
@task(returns=1)
def fits_anywhere(values):
    return ("small", sum(values))


@task(values=INOUT)
def append_squares(values, n):
    values.extend(i * i for i in range(n))


@local
def mean(values):
    return sum(values) / len(values)


@reduction(chunk_size="3")
@task(returns=1, parts=COLLECTION_IN)
def merge(parts):
    return sum(parts)


@task(returns=1)
def seed(i):
    return i


@task(returns=1, is_replicated=True)
def warm_up():
    return os.getpid()


@task(returns=1, numba=True, tracing_hook=False, is_distributed=True)
def plain_python(x):
    return x * 3


@task(returns=1)
def inner(x):
    return x + 100


@task(returns=1)
def outer(x):
    return inner(x) * 2  # a task called inside a task runs there, inline


def main():
    out = {}
    out["env"] = compss_wait_on(env_units())
    out["dynamic"] = compss_wait_on(dynamic_units(1, "one"))
    out["implement"] = compss_wait_on(needs_a_big_node([1, 2, 3]))
    values = []
    append_squares(values, 4)
    out["local_mean"] = mean(values)
    out["local_synced"] = values
    out["reduction"] = compss_wait_on(merge([seed(i) for i in range(1, 11)]))
    out["replicated"] = isinstance(compss_wait_on(warm_up()), int)
    out["hints"] = compss_wait_on(plain_python(5))
    out["nested"] = compss_wait_on(outer(1))
    compss_barrier()
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
