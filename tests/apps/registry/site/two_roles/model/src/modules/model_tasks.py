"""The model's task (found through --pythonpath=<app>/src/modules)."""

from pycompss.api.task import task


@task(returns=1)
def simulate(source, target):
    with open(source) as handle, open(target, "w") as out:
        out.write(handle.read().upper())
    return 1
