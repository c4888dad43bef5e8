"""The ``@task`` decorator: turns a function into a PyCOMPSs task definition.

Calling a task submits it to the current engine and returns placeholders for its
outputs. With no engine running (on a Dask worker, or a script run with plain
``python``), it simply calls the function, as PyCOMPSs does without its runtime.
"""

from __future__ import annotations

import functools
import inspect
import sys
import uuid
import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.parameter import (
    INOUT,
    ParamSpec,
    UnknownDirectionError,
    parse_param_spec,
)
from eflows_kernel.model.runtime import current_runtime


class OnFailure(str, Enum):
    RETRY = "RETRY"  # run again (3 attempts in all), then FAIL
    FAIL = "FAIL"  # stop the whole application
    IGNORE = "IGNORE"  # outputs take their declared defaults; successors run
    CANCEL_SUCCESSORS = "CANCEL_SUCCESSORS"  # successors are cancelled; the rest runs on


# PyCOMPSs task options that change nothing in a Dask-backed run, accepted silently.
_ACCEPTED_NOOP_OPTIONS = frozenset({
    "cache_returns", "numba", "numba_flags", "numba_signature", "numba_declaration",
    "tracing_hook", "is_replicated", "is_distributed", "is_reduce", "chunk_size",
})

RETRY_ATTEMPTS = 3


@dataclass
class TaskOptions:
    returns: int = 0
    priority: bool = False
    time_out: float | None = None
    on_failure: OnFailure = OnFailure.RETRY
    defaults: dict[str, Any] = field(default_factory=dict)
    computing_units: int = 1
    memory_size: float | None = None  # GB, as in PyCOMPSs


def _parse_returns(value: Any, name: str) -> int:
    if value is None or value is False:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        if value < 0:
            raise TaskDefinitionError(f"task '{name}': returns={value} cannot be negative")
        return value
    if isinstance(value, tuple | list):
        return len(value)
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        raise TaskDefinitionError(
            f"task '{name}': returns={value!r} (a count taken from a parameter) is not "
            "supported; give the number of returned values, e.g. returns=2")
    return 1  # a type, e.g. returns=int or returns=list


def _parse_on_failure(value: Any, name: str) -> OnFailure:
    try:
        return OnFailure(str(value).upper())
    except ValueError:
        raise TaskDefinitionError(
            f"task '{name}': on_failure={value!r} is unknown; use one of "
            f"{', '.join(m.value for m in OnFailure)}") from None


class TaskDefinition:
    """A user function plus what ``@task`` (and ``@constraint``...) said about it."""

    def __init__(self, func: Any, decorator_kwargs: dict[str, Any]) -> None:
        if not callable(func):
            raise TaskDefinitionError(f"@task decorates functions, not {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name: str = func.__name__
        code = getattr(func, "__code__", None)
        self.source_file: str | None = code.co_filename if code is not None else None
        self.uid = uuid.uuid4().hex
        self.signature = inspect.signature(func)
        self.options = TaskOptions()
        self.param_specs: dict[str, ParamSpec] = {}
        self.varargs_spec: ParamSpec | None = None
        self._configure(dict(decorator_kwargs))
        pending = getattr(func, "__eflows_pending__", None)
        for apply in pending or ():
            apply(self)

    def _configure(self, kwargs: dict[str, Any]) -> None:
        name = self.name
        params = self.signature.parameters
        opts = self.options
        opts.returns = _parse_returns(kwargs.pop("returns", 0), name)
        opts.priority = bool(kwargs.pop("priority", False))
        time_out = kwargs.pop("time_out", None)
        if time_out is not None:
            if not isinstance(time_out, int | float) or time_out < 0:
                raise TaskDefinitionError(
                    f"task '{name}': time_out={time_out!r} must be a number of seconds")
            opts.time_out = float(time_out) or None
        if "on_failure" in kwargs:
            opts.on_failure = _parse_on_failure(kwargs.pop("on_failure"), name)
        opts.defaults.update(kwargs.pop("defaults", None) or {})
        varargs_type = kwargs.pop("varargs_type", None)
        if varargs_type is not None:
            self.varargs_spec = self._spec(varargs_type, "*args")
        target = kwargs.pop("target_direction", None)
        first = next(iter(params), None)
        if first == "self":
            self.param_specs["self"] = self._spec(target, "self") if target else INOUT
        for key, value in kwargs.items():
            if key in params:
                self.param_specs[key] = self._spec(value, key)
            elif key in _ACCEPTED_NOOP_OPTIONS:
                continue
            else:
                try:
                    parse_param_spec(value, task_name=name, param=key)
                except UnknownDirectionError:
                    warnings.warn(f"task '{name}': option {key}={value!r} is not supported "
                                  "and is ignored", UserWarning, stacklevel=4)
                    continue
                raise TaskDefinitionError(
                    f"task '{name}' declares a direction for '{key}', but {name}() has no "
                    f"parameter named '{key}' (parameters: {', '.join(params) or 'none'})")

    def _spec(self, value: Any, param: str) -> ParamSpec:
        return parse_param_spec(value, task_name=self.name, param=param)

    @property
    def location(self) -> str:
        code = getattr(self.func, "__code__", None)
        if code is None:
            return self.name
        return f"{code.co_filename}:{code.co_firstlineno}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        engine = current_runtime()
        if engine is None:
            return self.func(*args, **kwargs)
        return engine.submit(self, args, kwargs)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self.__call__, instance)

    def __repr__(self) -> str:
        return f"<task {self.name} returns={self.options.returns}>"

    def __reduce__(self) -> Any:
        """By reference when importable, so workers run the module's real code.

        Tracebacks then show the task's source lines. Definitions in ``__main__``
        (an application run by eflows-run) or in a notebook go by value.
        """
        module = sys.modules.get(getattr(self, "__module__", "") or "")
        if (module is not None and module.__name__ != "__main__"
                and _lookup(module, self.__qualname__) is self):
            return (_import_definition, (module.__name__, self.__qualname__))
        return (_rebuild_definition, (self.__dict__.copy(),))


def _lookup(module: Any, qualname: str) -> Any:
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


def _import_definition(module_name: str, qualname: str) -> TaskDefinition:
    import importlib

    return _lookup(importlib.import_module(module_name), qualname)


def _rebuild_definition(state: dict[str, Any]) -> TaskDefinition:
    definition = TaskDefinition.__new__(TaskDefinition)
    definition.__dict__.update(state)
    source = state.get("source_file")
    func = state.get("func")
    code = getattr(func, "__code__", None)
    if source and code is not None and code.co_filename != source:
        # cloudpickle ships code by value as "<dynamic-code>": give it back its file,
        # so tracebacks of the task show the application's source lines.
        func.__code__ = _with_filename(code, source)
    return definition


def _with_filename(code: Any, filename: str) -> Any:
    consts = tuple(_with_filename(c, filename) if isinstance(c, type(code)) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def task(*args: Any, **kwargs: Any) -> Any:
    """PyCOMPSs ``@task``: ``@task(returns=1, x=INOUT, f=FILE_IN, on_failure="IGNORE")``."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return TaskDefinition(args[0], {})
    if args:
        raise TaskDefinitionError("@task takes keyword arguments only, e.g. @task(returns=1)")

    def decorate(func: Any) -> TaskDefinition:
        return TaskDefinition(func, kwargs)

    return decorate


def apply_to_definition(target: Any, apply: Any) -> Any:
    """Let a decorator (constraint, on_failure) work above or below ``@task``."""
    if isinstance(target, TaskDefinition):
        apply(target)
        return target
    pending = list(getattr(target, "__eflows_pending__", ()))
    pending.append(apply)
    target.__eflows_pending__ = pending
    return target
