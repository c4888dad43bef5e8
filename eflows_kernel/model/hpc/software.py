"""``@software(config_file="app.json")``: a task described by eFlows4HPC's JSON.

Both spellings PyCOMPSs reads are understood::

    {"execution": {"type": "mpi", "runner": "mpirun", "binary": "app", "processes": 2},
     "parameters": {"returns": 1, "f": "FILE_IN"},            # @task's arguments
     "constraints": {"computing_units": 2},                    # @constraint's
     "container": {"engine": "SINGULARITY", "image": "app.sif", "options": "..."},
     "prolog": {"binary": "mkdir", "args": "-p {{wd}}"}, "epilog": {...}}

    {"type": "binary", "properties": {"binary": "grep", "params": "{{word}} {{f}}"}, ...}

``type`` is ``task`` (the Python body), ``binary``, ``mpi``, ``mpmd_mpi``,
``multinode``, ``workflow`` (the function is not a task at all), ``compss`` (a nested
application, run as @compss runs it), or ``http``, which PyCOMPSs also reads: like its
decorator here, it imports and is refused when the task is called. With
``parameters`` the decorator needs no ``@task`` under it; without, it goes above one.
Each part is handed to the decorator of the same name, so it means exactly what that
decorator means.
"""

from __future__ import annotations

import builtins
import json
import os
import re
from collections.abc import Callable
from typing import Any

from eflows_kernel.model.decorators import constraint
from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.hpc import decorators
from eflows_kernel.model.task import TaskDefinition, task

_KINDS: dict[str, Callable[..., Any] | None] = {
    "task": None, "binary": decorators.binary, "mpi": decorators.mpi,
    "mpmd_mpi": decorators.mpmd_mpi, "multinode": decorators.multinode,
    "http": decorators.http, "compss": decorators.compss,
}
_ENV = re.compile(r"^\$\{?(\w+)\}?$")


def software(*args: Any, config_file: str | None = None, **kwargs: Any) -> Any:
    if args or kwargs or not config_file:
        raise TaskDefinitionError("@software takes one argument: config_file=<path to the "
                                  "JSON description>")
    config = load_config(config_file)

    def decorate(target: Any) -> Any:
        kind, execution = _execution(config, config_file)
        if kind == "workflow":
            return target  # runs as plain code, its own tasks inside
        definition = target
        if not isinstance(target, TaskDefinition):
            parameters = _parameters(config.get("parameters") or {}, config_file)
            definition = task(**parameters)(target)
        elif config.get("parameters"):
            raise TaskDefinitionError(f"@software({config_file!r}) has \"parameters\" and "
                                      "sits on a @task: give @task's arguments in one place")
        stack: list[Any] = []
        decorator = _KINDS[kind]
        if decorator is not None:
            stack.append(decorator(**execution))
        elif execution:
            raise TaskDefinitionError(f"@software({config_file!r}): type \"task\" takes no "
                                      f"execution properties (got {sorted(execution)})")
        if config.get("container"):
            stack.append(decorators.container(**_section(config, "container", config_file)))
        for name, make in (("prolog", decorators.prolog), ("epilog", decorators.epilog)):
            if config.get(name):
                stack.append(make(**_section(config, name, config_file)))
        if config.get("constraints"):
            stack.append(constraint(**_constraints(
                _section(config, "constraints", config_file))))
        for apply in stack:
            definition = apply(definition)
        return definition

    return decorate


def load_config(config_file: str) -> dict[str, Any]:
    path = os.path.expanduser(os.path.expandvars(str(config_file)))
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise TaskDefinitionError(f"@software: config_file {config_file!r} not found "
                                  f"(looked for {os.path.abspath(path)})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskDefinitionError(f"@software: cannot read config_file {config_file!r}: "
                                  f"{exc}") from None
    if not isinstance(config, dict):
        raise TaskDefinitionError(f"@software: {config_file!r} must hold a JSON object")
    return config


def _execution(config: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    if "execution" in config:
        execution = dict(_section(config, "execution", name))
        kind = execution.pop("type", None)
    else:  # the first spelling: "type" and "properties" at the top
        kind = config.get("type")
        execution = dict(_section(config, "properties", name)) if "properties" in config \
            else {}
    kind = str(kind or "task").strip().lower()
    if kind not in _KINDS and kind != "workflow":
        raise TaskDefinitionError(f"@software({name!r}): type {kind!r} is not supported; use "
                                  f"{', '.join([*_KINDS, 'workflow'])}")
    if "params" in execution and kind != "mpmd_mpi":
        execution["args"] = execution.pop("params")
    return kind, execution


def _section(config: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise TaskDefinitionError(f"@software({name!r}): \"{key}\" must be a JSON object")
    if key in ("prolog", "epilog") and "params" in value:
        value = {**value, "args": value["params"]}
        value.pop("params")
    return value


def _parameters(parameters: dict[str, Any], name: str) -> dict[str, Any]:
    """@task's arguments from JSON: directions by name, ``returns`` a count or a type."""
    out = dict(parameters)
    returns = out.get("returns")
    if isinstance(returns, str) and not returns.isdigit():
        out["returns"] = getattr(builtins, returns, 1)
    return out


def _constraints(constraints: dict[str, Any]) -> dict[str, Any]:
    """``"$KRATOS_CUS"`` read from the environment now when it is set."""
    out = {}
    for key, value in constraints.items():
        match = _ENV.match(value.strip()) if isinstance(value, str) else None
        out[key] = os.environ.get(match.group(1), value) if match else value
    return out
