"""The ``@task`` decorator: turns a function into a PyCOMPSs task definition.

Calling a task submits it to the current engine and returns placeholders for its
outputs. With no engine running (on a Dask worker, or a script run with plain
``python``), it simply calls the function, as PyCOMPSs does without its runtime
(a task called inside a task runs inline, as in PyCOMPSs without nesting).

Where a decorator changes how the task *body* runs (``@binary``, ``@mpi``,
``@container``... run a program instead of the Python function), it sets
:attr:`TaskDefinition.launcher`: the worker then calls
``launcher(definition, args, kwargs)`` instead of ``definition.func(*args,
**kwargs)``, after the arguments are decoded and before the outputs are
collected, so directions, returns and failure handling stay the engine's.
"""

from __future__ import annotations

import functools
import inspect
import sys
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.parameter import (
    IN,
    INOUT,
    ParamSpec,
    is_param_spec_value,
    parse_param_spec,
)
from eflows_kernel.model.returns import ReturnsSpec, parse_returns
from eflows_kernel.model.runtime import current_runtime


class OnFailure(str, Enum):
    RETRY = "RETRY"  # run again (3 attempts in all), then FAIL
    FAIL = "FAIL"  # stop the whole application
    IGNORE = "IGNORE"  # outputs take their declared defaults; successors run
    CANCEL_SUCCESSORS = "CANCEL_SUCCESSORS"  # successors are cancelled; the rest runs on


# @task options PyCOMPSs accepts whose effect is about where or how fast a task runs
# on the COMPSs runtime, not what it computes; kept in TaskOptions.hints and
# documented in docs/programming-model.md.
HINT_OPTIONS = frozenset({
    "cache_returns", "numba", "numba_flags", "numba_signature", "numba_declaration",
    "tracing_hook", "is_distributed", "config_file", "computing_nodes",
    "processes_per_node",
})
LEGACY_OPTIONS = {"isReplicated": "is_replicated", "isDistributed": "is_distributed",
                  "varargsType": "varargs_type", "targetDirection": "target_direction",
                  "timeOut": "time_out", "computingNodes": "computing_nodes"}
# Options a call may give too (PyCOMPSs' "upper decorator" keyword arguments).
CALL_OPTIONS = ("returns", "on_failure", "defaults", "chunk_size", "is_reduce",
                "computing_nodes", "processes_per_node")

RETRY_ATTEMPTS = 3


@dataclass
class TaskOptions:
    returns: ReturnsSpec = field(default_factory=ReturnsSpec)
    priority: bool = False
    time_out: float | None = None
    on_failure: OnFailure = OnFailure.RETRY
    defaults: dict[str, Any] = field(default_factory=dict)
    computing_units: int = 1
    memory_size: float | None = None  # GB, as in PyCOMPSs
    # Constraints whose value is read at each call: name -> parameter/expression.
    dynamic_constraints: dict[str, str] = field(default_factory=dict)
    constraints: dict[str, Any] = field(default_factory=dict)  # all, as given
    is_replicated: bool = False
    is_reduce: bool = False
    chunk_size: int = 0
    hints: dict[str, Any] = field(default_factory=dict)


def _parse_on_failure(value: Any, name: str) -> OnFailure:
    try:
        return OnFailure(str(value).upper())
    except ValueError:
        raise TaskDefinitionError(
            f"task '{name}': on_failure={value!r} is unknown; use one of "
            f"{', '.join(m.value for m in OnFailure)}") from None


def parse_count(value: Any, what: str, name: str, env: Any = None) -> int:
    """An int option given as an int, a digit string or ``"$VAR"``/``"${VAR}"``."""
    import os

    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.startswith("$"):
        var = text[1:].strip("{}")
        raw = (env or os.environ).get(var)
        if raw is None:
            raise TaskDefinitionError(f"task '{name}': {what}={value!r} names the "
                                      f"environment variable {var}, which is not set")
        text = raw.strip()
    try:
        return int(text)
    except ValueError:
        raise TaskDefinitionError(f"task '{name}': {what}={value!r} is not a whole "
                                  "number") from None


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
        self.kwargs_spec: ParamSpec | None = None
        # Hook for decorators that run a program instead of the function (see top).
        self.launcher: Callable[[TaskDefinition, list[Any], dict[str, Any]], Any] | None = None
        # @implement: other definitions computing the same thing, tried when this
        # one's constraints fit no worker.
        self.implementations: list[TaskDefinition] = []
        self._configure(dict(decorator_kwargs))
        pending = getattr(func, "__eflows_pending__", None)
        for apply in pending or ():
            apply(self)

    def _configure(self, kwargs: dict[str, Any]) -> None:
        name = self.name
        params = self.signature.parameters
        param_names = tuple(params)
        for legacy, modern in LEGACY_OPTIONS.items():
            if legacy in kwargs and legacy not in params:
                kwargs.setdefault(modern, kwargs.pop(legacy))
        opts = self.options
        opts.returns = parse_returns(kwargs.pop("returns", None), name, self.func,
                                     param_names)
        opts.priority = bool(kwargs.pop("priority", False))
        time_out = kwargs.pop("time_out", None)
        if time_out is not None:
            try:
                seconds = float(time_out)
            except (TypeError, ValueError):
                seconds = -1.0
            if seconds < 0:
                raise TaskDefinitionError(
                    f"task '{name}': time_out={time_out!r} must be a number of seconds")
            opts.time_out = seconds or None
        if "on_failure" in kwargs:
            opts.on_failure = _parse_on_failure(kwargs.pop("on_failure"), name)
        opts.defaults.update(kwargs.pop("defaults", None) or {})
        opts.is_replicated = bool(kwargs.pop("is_replicated", False))
        opts.is_reduce = bool(kwargs.pop("is_reduce", False))
        opts.chunk_size = parse_count(kwargs.pop("chunk_size", 0) or 0, "chunk_size", name)
        varargs_type = kwargs.pop("varargs_type", None)
        if varargs_type is not None:
            self.varargs_spec = self._spec(varargs_type, "*args")
        target = kwargs.pop("target_direction", None)
        first = next(iter(params), None)
        if first == "self":
            self.param_specs["self"] = self._spec(target, "self") if target else INOUT
        for key, value in kwargs.items():
            param = params.get(key)
            if param is not None and param.kind is inspect.Parameter.VAR_POSITIONAL:
                self.varargs_spec = self._spec(value, key)
            elif param is not None and param.kind is inspect.Parameter.VAR_KEYWORD:
                self.kwargs_spec = self._spec(value, key)
            elif param is not None or (self._has_var_keyword and is_param_spec_value(value)):
                self.param_specs[key] = self._spec(value, key)
            elif key in HINT_OPTIONS:
                opts.hints[key] = value
            elif is_param_spec_value(value):
                spec = self._spec(value, key)  # still refused when not a direction at all
                if spec == IN:
                    # PyCOMPSs ignores it (its own stream test declares one), and IN
                    # for a parameter that does not exist can change nothing.
                    continue
                # PyCOMPSs ignores any of them (its 2_cancel_running_tasks declares
                # FILE_IN/FILE_OUT for a misspelt parameter and relies on it): said once.
                warnings.warn(
                    f"task '{name}' declares {spec!r} for '{key}', but {name}() has no "
                    f"parameter named '{key}' (parameters: {', '.join(params) or 'none'}); "
                    "ignored, as PyCOMPSs does", UserWarning, stacklevel=4)
            else:
                warnings.warn(f"task '{name}': @task option {key}={value!r} is not a "
                              "PyCOMPSs option and is ignored", UserWarning, stacklevel=4)

    @property
    def _has_var_keyword(self) -> bool:
        return any(p.kind is inspect.Parameter.VAR_KEYWORD
                   for p in self.signature.parameters.values())

    def _spec(self, value: Any, param: str) -> ParamSpec:
        return parse_param_spec(value, task_name=self.name, param=param)

    def spec_for(self, pname: str, kind: Any) -> ParamSpec:
        """The direction of one parameter of a call (``kind``: inspect's kind)."""
        if kind is inspect.Parameter.VAR_POSITIONAL:
            return self.varargs_spec or IN
        spec = self.param_specs.get(pname)
        if spec is None and kind is inspect.Parameter.VAR_KEYWORD:
            return self.kwargs_spec or IN
        return spec or IN

    @property
    def location(self) -> str:
        code = getattr(self.func, "__code__", None)
        if code is None:
            return self.name
        return f"{code.co_filename}:{code.co_firstlineno}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        engine = current_runtime()
        if engine is None:
            for option in CALL_OPTIONS:
                if option not in self.signature.parameters:
                    kwargs.pop(option, None)
            if getattr(self, "hpc", None) is not None:  # @binary, @mpi...: run it here
                from eflows_kernel.model.hpc.spec import run_in_place

                return run_in_place(self, args, kwargs)
            return self.func(*args, **kwargs)
        return engine.submit(self, args, kwargs)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self.__call__, instance)

    def __repr__(self) -> str:
        return f"<task {self.name}>"

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
        obj = inspect.getattr_static(obj, part, None) if inspect.isclass(obj) \
            else getattr(obj, part, None)
        obj = getattr(obj, "__func__", obj)  # classmethod/staticmethod wrappers
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
    """Let a decorator (constraint, on_failure...) work above or below ``@task``."""
    definition = as_definition(target)
    if definition is not None:
        apply(definition)
        return target
    pending = list(getattr(target, "__eflows_pending__", ()))
    pending.append(apply)
    target.__eflows_pending__ = pending
    return target


def as_definition(target: Any) -> TaskDefinition | None:
    """The task definition behind a decorated object (also inside classmethod...)."""
    inner = getattr(target, "__func__", target)
    return inner if isinstance(inner, TaskDefinition) else None
