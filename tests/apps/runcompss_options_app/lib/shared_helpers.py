"""A module outside the application's directory, found through --pythonpath."""

from pycompss.api.task import task


@task(returns=1)
def describe(name):
    import os

    return {"name": name, "env": os.environ.get("EFLOWS_TEST_ENV_SCRIPT")}
