"""Futures updated in place (INOUT), pycompss.functions.map, and the HPC decorators
that import but do not run yet (issue 13)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


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
def test_an_mpi_task_fails_naming_its_decorator(
        run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app("failing_hpc_decorator.py")
    assert proc.returncode != 0, proc.stdout
    assert "prepared 2" in proc.stdout  # the application started and its tasks ran
    assert "simulated" not in proc.stdout
    assert "task 'simulate' is decorated with @mpi" in proc.stderr, proc.stderr
    assert "issue 13" in proc.stderr


def test_every_hpc_decorator_imports_and_stacks_with_task(pycompss_shim: None) -> None:
    import importlib

    from pycompss.api.task import task

    from eflows_kernel.model.task import as_definition
    from eflows_kernel.model.unavailable import HPC_DECORATORS, UnavailableLauncher

    for name in HPC_DECORATORS:
        decorator = getattr(importlib.import_module(f"pycompss.api.{name}"), name)

        @decorator(binary="prog", processes=2)
        @task(returns=1)
        def below(x):
            return x

        @task(returns=1)
        @decorator
        def above(x):
            return x

        for decorated in (below, above):
            launcher = as_definition(decorated).launcher
            assert isinstance(launcher, UnavailableLauncher), name
            with pytest.raises(Exception, match=f"decorated with @{name}"):
                launcher(as_definition(decorated), [1], {})
