"""``@constraint`` and ``@on_failure``, which refine a ``@task`` definition.

Constraint values are read as PyCOMPSs reads them: a number, a number in a string,
an environment variable (``"$CU"``, ``"${CU}"``), or, for ``computing_units`` and
``memory_size``, something evaluated at each call: the name of a parameter of the
task, of a global variable of its module, or an expression of its parameters
(``"n * 2"``). Only ``computing_units`` and ``memory_size`` are enforced here
(Dask worker resources ``CPU`` and ``MEMORY``); the others (``processor_architecture``,
``app_software``, ``storage_size``, ...) are accepted and recorded.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from eflows_kernel.model.exceptions import TaskArgumentError, TaskDefinitionError
from eflows_kernel.model.task import TaskDefinition, _parse_on_failure, apply_to_definition

_ALIASES = {"computingUnits": "computing_units", "memorySize": "memory_size",
            "storageSize": "storage_size", "processorArchitecture": "processor_architecture",
            "appSoftware": "app_software", "hostQueues": "host_queues",
            "operatingSystemType": "operating_system_type"}
_ENFORCED = ("computing_units", "memory_size")


def _static_number(value: Any) -> float | None:
    """The value as a number when it is one without looking at a call, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _number_or_none(value.strip())
    return None


def _number_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check(number: float, what: str, value: Any, name: str, whole: bool) -> float:
    if number <= 0:
        raise TaskDefinitionError(f"task '{name}': @constraint {what}={value!r} must be > 0")
    if whole and number != int(number):
        raise TaskDefinitionError(
            f"task '{name}': @constraint {what}={value!r} must be a whole number")
    return number


def constraint(**kwargs: Any) -> Any:
    """PyCOMPSs ``@constraint(computing_units=4, memory_size=2)`` (memory in GB)."""
    constraints = {_ALIASES.get(key, key): value for key, value in kwargs.items()}

    def apply(definition: TaskDefinition) -> None:
        opts = definition.options
        opts.constraints.update(constraints)
        for key in _ENFORCED:
            if key not in constraints:
                continue
            value = constraints[key]
            text = value.strip() if isinstance(value, str) else None
            if text is not None and text.startswith("$"):
                opts.dynamic_constraints[key] = text  # environment: read at each call
                continue
            number = _static_number(value)
            if number is None and isinstance(value, str) and value.strip():
                _check_expression(definition.name, key, value.strip())
                opts.dynamic_constraints[key] = value.strip()
                continue
            if number is None:
                raise TaskDefinitionError(f"task '{definition.name}': @constraint "
                                          f"{key}={value!r} is not a number")
            opts.dynamic_constraints.pop(key, None)
            _set(definition, key, _check(number, key, value, definition.name,
                                         key == "computing_units"))

    return lambda target: apply_to_definition(target, apply)


def _check_expression(name: str, key: str, text: str) -> None:
    try:
        compile(text, "<constraint>", "eval")
    except SyntaxError:
        raise TaskDefinitionError(
            f"task '{name}': @constraint {key}={text!r} is neither a number, an "
            "environment variable ($NAME), a parameter or global name, nor an "
            "expression") from None


def _set(definition: TaskDefinition, key: str, number: float) -> None:
    if key == "computing_units":
        definition.options.computing_units = int(number)
    else:
        definition.options.memory_size = number


def resolve_constraints(definition: TaskDefinition,
                        arguments: dict[str, Any]) -> tuple[int, float | None]:
    """``(computing_units, memory_size)`` of one call, evaluating dynamic values."""
    opts = definition.options
    units, memory = opts.computing_units, opts.memory_size
    for key, text in opts.dynamic_constraints.items():
        number = evaluate_at_call(definition, f"@constraint {key}", text, arguments)
        number = _check_call(number, key, text, definition.name)
        if key == "computing_units":
            units = int(number)
        else:
            memory = number
    return units, memory


def evaluate_at_call(definition: TaskDefinition, what: str, text: str,
                     arguments: dict[str, Any]) -> float:
    """A value PyCOMPSs reads when the task is called (``what`` names it in errors):
    an environment variable, a parameter, a global of the task's module, or an
    expression of the parameters."""
    name = definition.name
    if text.startswith("$"):
        var = text[1:].strip("{}")
        raw = os.environ.get(var)
        if raw is None:
            raise TaskArgumentError(f"task '{name}': {what}={text!r} names the "
                                    f"environment variable {var}, which is not set")
        value: Any = raw
    elif text in arguments:
        value = arguments[text]
    else:
        globals_ = getattr(inspect.unwrap(definition.func), "__globals__", {})
        if text in globals_:
            value = globals_[text]
        else:
            try:
                value = eval(text, {"__builtins__": {}}, dict(arguments))
            except Exception as exc:
                raise TaskArgumentError(
                    f"task '{name}': {what}={text!r} is neither a number, an "
                    f"environment variable, a parameter, a global variable nor an "
                    f"expression of the parameters ({type(exc).__name__}: {exc})") from None
    if getattr(type(value), "__eflows_future__", False):
        raise TaskArgumentError(f"task '{name}': {what}={text!r} is the output "
                                "of another task; synchronise it first (compss_wait_on)")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TaskArgumentError(f"task '{name}': {what}={text!r} gives "
                                f"{value!r}, which is not a number") from None


def _check_call(number: float, key: str, text: str, name: str) -> float:
    if number <= 0 or (key == "computing_units" and number != int(number)):
        raise TaskArgumentError(f"task '{name}': @constraint {key}={text!r} gives "
                                f"{number:g}; it must be a positive"
                                f"{' whole' if key == 'computing_units' else ''} number")
    return number


def on_failure(management: str = "RETRY", **defaults: Any) -> Any:
    """PyCOMPSs ``@on_failure(management="IGNORE", returns=0, x=[])``.

    The keyword arguments are the values the outputs take when the failure is
    ignored: ``returns`` for the returned value(s), a parameter name for an INOUT
    object, or, for a FILE_OUT/FILE_INOUT parameter, a file whose content is copied
    to that parameter's file.
    """
    def apply(definition: TaskDefinition) -> None:
        definition.options.on_failure = _parse_on_failure(management, definition.name)
        definition.options.defaults.update(defaults)

    return lambda target: apply_to_definition(target, apply)
