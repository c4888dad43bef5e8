"""PyCOMPSs' decorators for HPC task types that do not run here yet (issue 13).

``@binary``, ``@mpi``, ``@container``... make a task run a program instead of its
Python body. Applications that use them must still import and start (their other
tasks run), so each decorator is accepted where PyCOMPSs accepts it, above or below
``@task``, and the task fails when it runs with a message naming the decorator. The
real implementations plug into the same place: ``TaskDefinition.launcher``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.task import TaskDefinition, apply_to_definition

HPC_DECORATORS = ("binary", "mpi", "mpmd_mpi", "multinode", "container", "software",
                  "prolog", "epilog", "compss", "decaf", "ompss", "opencl", "julia",
                  "http", "IO")


class UnavailableLauncher:
    """The launcher of a task whose decorator cannot run here: it says so."""

    def __init__(self, decorator: str) -> None:
        self.decorator = decorator

    def __call__(self, definition: TaskDefinition, args: list[Any],
                 kwargs: dict[str, Any]) -> Any:
        raise TaskDefinitionError(
            f"task '{definition.name}' is decorated with @{self.decorator}, which runs a "
            "program on the PyCOMPSs runtime; eflows-run cannot run @"
            f"{self.decorator} tasks yet (HPC task types, issue 13). Run this application "
            "with runcompss, or make the task a plain @task that starts the program "
            "(subprocess)")


def unavailable_decorator(name: str) -> Callable[..., Any]:
    """``@name(...)`` (or bare ``@name``) whose task fails with a message naming it."""

    def apply(definition: TaskDefinition) -> None:
        definition.launcher = UnavailableLauncher(name)

    def decorator(*args: Any, **options: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not options:
            return apply_to_definition(args[0], apply)  # bare @name

        def wrap(target: Any) -> Any:
            return apply_to_definition(target, apply)

        return wrap

    decorator.__name__ = decorator.__qualname__ = name
    decorator.__doc__ = f"PyCOMPSs' @{name}: accepted; its task fails when run (issue 13)."
    return decorator
