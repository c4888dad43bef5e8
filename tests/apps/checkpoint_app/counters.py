"""Tasks of checkpoint_app; each one logs that it ran, so a test can tell which ran."""

from pycompss.api.parameter import FILE_INOUT
from pycompss.api.task import task


def ran(what):
    with open("runs.log", "a") as log:
        log.write(what + "\n")


class Counter:
    def __init__(self, value=0):
        self.value = value

    @task()
    def increment(self):
        ran("Counter.increment")
        self.value += 1


@task(path=FILE_INOUT)
def increment_file(path):
    ran("increment_file")
    with open(path) as handle:
        value = int(handle.read())
    with open(path, "w") as handle:
        handle.write(str(value + 1))


@task(returns=1)
def square(x):
    ran("square")
    return x * x
