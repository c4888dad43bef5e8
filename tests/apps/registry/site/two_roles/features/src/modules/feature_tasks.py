"""The feature extraction's task (found through --pythonpath=<app>/src/modules)."""

from pycompss.api.task import task


@task(returns=1)
def count(path):
    with open(path) as handle:
        return len(handle.read().split())
