"""``@constraint`` and ``@on_failure``, which refine a ``@task`` definition."""

from __future__ import annotations

from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.task import TaskDefinition, _parse_on_failure, apply_to_definition


def _number(value: Any, what: str, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TaskDefinitionError(
            f"task '{name}': @constraint {what}={value!r} is not a number") from None
    if number <= 0:
        raise TaskDefinitionError(f"task '{name}': @constraint {what}={value!r} must be > 0")
    return number


def constraint(**kwargs: Any) -> Any:
    """PyCOMPSs ``@constraint(computing_units=4, memory_size=2)`` (memory in GB).

    Mapped onto Dask worker resources ``CPU`` and ``MEMORY``: the task only runs on a
    worker that still has that many cores and that much memory free.
    """
    def apply(definition: TaskDefinition) -> None:
        name = definition.name
        units = kwargs.get("computing_units", kwargs.get("computingUnits"))
        if units is not None:
            count = _number(units, "computing_units", name)
            if count != int(count):
                raise TaskDefinitionError(
                    f"task '{name}': computing_units={units!r} must be a whole number")
            definition.options.computing_units = int(count)
        memory = kwargs.get("memory_size", kwargs.get("memorySize"))
        if memory is not None:
            definition.options.memory_size = _number(memory, "memory_size", name)

    return lambda target: apply_to_definition(target, apply)


def on_failure(management: str = "RETRY", **defaults: Any) -> Any:
    """PyCOMPSs ``@on_failure(management="IGNORE", returns=0, x=[])``.

    The keyword arguments are the values the outputs take when the failure is
    ignored: ``returns`` for the returned value(s), a parameter name for an INOUT one.
    """
    def apply(definition: TaskDefinition) -> None:
        definition.options.on_failure = _parse_on_failure(management, definition.name)
        definition.options.defaults.update(defaults)

    return lambda target: apply_to_definition(target, apply)
