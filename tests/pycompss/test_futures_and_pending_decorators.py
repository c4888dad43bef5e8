"""Futures updated in place (INOUT), pycompss.functions.map, and the task-type
decorators importing and stacking as in PyCOMPSs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import APPS
from tests.pycompss.conftest import app_path, assert_exit, result_of

# What the application computes, not its workers' lifetime: shared workers.
pytestmark = pytest.mark.shared_workers


@pytest.mark.slow
def test_inventory_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(app_path("inventory_app", "inventory_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {"passed": True, "tests": 4, "seen": {
        # Three warehouses' counts merged into the first one's future (INOUT).
        "merged": {"bolt": 3, "gear": 1, "nut": 2},
        # 3 items restocked twice (+4, +1), read by a task after both updates.
        "units": 8,
        "mapped": [2, 4, 6],
        # Pending while restock() may run; untracked once synchronised.
        "tracker": [True, None, {"bolt": 1, "nut": 2}]}}


@pytest.mark.slow
def test_a_registry_style_mpi_task_runs(
        run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(str(APPS / "hpc" / "hpc_registry_style.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "prepared 2" in proc.stdout  # the plain task
    assert "simulated 0" in proc.stdout  # the @mpi task: /bin/true's exit value


HPC_DECORATOR_OPTIONS = {
    "binary": {"binary": "prog"}, "mpi": {"binary": "prog", "runner": "mpirun",
                                          "processes": 2},
    "mpmd_mpi": {"runner": "mpirun", "programs": [{"binary": "a", "processes": 2}]},
    "multinode": {"computing_nodes": 2}, "container": {"engine": "DOCKER", "image": "i"},
    "prolog": {"binary": "mkdir"}, "epilog": {"binary": "rm"}, "ompss": {"binary": "prog"},
    "compss": {"app_name": "a.py"}, "decaf": {"df_script": "d.py"},
    "opencl": {"kernel": "k.cl"}, "julia": {"script": "s.jl"},
    "http": {"service_name": "s", "resource": "r", "request": "GET"},
}


def test_every_task_type_decorator_imports_and_stacks_with_task(pycompss_shim: None) -> None:
    import importlib

    from pycompss.api.task import task

    from eflows_kernel.model.task import as_definition
    from eflows_kernel.model.unavailable import HPC_DECORATORS, UnavailableLauncher

    for name, options in HPC_DECORATOR_OPTIONS.items():
        decorator = getattr(importlib.import_module(f"pycompss.api.{name}"), name)

        @decorator(**options)
        @task(returns=1)
        def below(x):
            return x

        @task(returns=1)
        @decorator(**options)
        def above(x):
            return x

        for decorated in (below, above):
            assert getattr(as_definition(decorated), "hpc", None) is not None, name
    for name in HPC_DECORATORS:  # accepted, failing when run
        decorator = getattr(importlib.import_module(f"pycompss.api.{name}"), name)

        @task(returns=1)
        @decorator
        def io_task(x):
            return x

        launcher = as_definition(io_task).launcher
        assert isinstance(launcher, UnavailableLauncher), name
        with pytest.raises(Exception, match=f"decorated with @{name}"):
            launcher(as_definition(io_task), [1], {})
