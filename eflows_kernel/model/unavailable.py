"""PyCOMPSs' task decorators that do not run here: ``@IO`` (I/O tasks).

Applications that use one must still import and start (their other tasks run), so it
is accepted where PyCOMPSs accepts it, above or below ``@task``, and the task fails
when it runs with a message naming the decorator. (The HPC task types, ``@binary``,
``@mpi``..., run: ``model/hpc``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.task import TaskDefinition, apply_to_definition

HPC_DECORATORS = ("IO",)


class UnavailableLauncher:
    """The launcher of a task whose decorator cannot run here: it says so."""

    def __init__(self, decorator: str) -> None:
        self.decorator = decorator

    def __call__(self, definition: TaskDefinition, args: list[Any],
                 kwargs: dict[str, Any]) -> Any:
        raise TaskDefinitionError(
            f"task '{definition.name}' is decorated with @{self.decorator}, which needs "
            "the PyCOMPSs runtime; eflows-run cannot run @"
            f"{self.decorator} tasks. Run this application with runcompss, or make the "
            "task a plain @task")


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
    decorator.__doc__ = f"PyCOMPSs' @{name}: accepted; its task fails when run."
    return decorator
