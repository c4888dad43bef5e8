"""Turns one task call into what Dask needs: wire arguments, dependencies, new versions.

This is where PyCOMPSs' parameter directions take effect. It runs in the caller's
thread, touches only the data trackers, and reports user mistakes with the task's
and the parameter's name before anything is sent anywhere.
"""

from __future__ import annotations

import inspect
import os
import reprlib
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from eflows_kernel.engine.data import FileVersions, ObjectVersions, TaskOutput
from eflows_kernel.engine.wire import PRIMITIVES, SELECT, Pickled
from eflows_kernel.model.exceptions import TaskArgumentError
from eflows_kernel.model.parameter import IN, DataType, Direction, ParamSpec
from eflows_kernel.model.task import TaskDefinition

_IMMUTABLE = (*PRIMITIVES, tuple, frozenset)
_SUMMARY = reprlib.Repr()
_SUMMARY.maxstring = 60
_SUMMARY.maxother = 60
_SUMMARY.maxlist = _SUMMARY.maxtuple = _SUMMARY.maxdict = 4
_MAX_SUMMARISED_ARGS = 12


@dataclass
class CallPlan:
    """The result of analysing one call."""

    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    arg_depths: list[int] = field(default_factory=list)
    kwarg_depths: dict[str, int] = field(default_factory=dict)
    updates: list[tuple[str, Any, int, str]] = field(default_factory=list)
    data_deps: set[int] = field(default_factory=set)  # resolved by Dask through the args
    order_deps: set[int] = field(default_factory=set)  # files: order only
    # (object, position of its new value among the written ones, index path inside it)
    written_objects: list[tuple[Any, int, tuple[int, ...]]] = field(default_factory=list)
    deleted_objects: list[Any] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)


def wire_ref(output: TaskOutput) -> Any:
    """How a task output travels: the Dask future itself, or a selection inside it."""
    return output.future if not output.path else (SELECT, output.future, output.path)


class CallAnalyser:
    def __init__(self, objects: ObjectVersions, files: FileVersions) -> None:
        self.objects = objects
        self.files = files

    def analyse(self, definition: TaskDefinition, task_id: int, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> CallPlan:
        try:
            bound = definition.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskArgumentError(
                f"task '{definition.name}' ({definition.location}) called with wrong "
                f"arguments: {exc}") from None
        bound.apply_defaults()
        plan = CallPlan()
        self._task_id = task_id
        self._definition = definition
        for pname, param in definition.signature.parameters.items():
            value = bound.arguments[pname]
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                spec = definition.varargs_spec or IN
                for i, item in enumerate(value):
                    self._add(plan, "a", len(plan.args), f"{pname}[{i}]", item, spec)
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                for key, item in value.items():
                    self._add(plan, "k", key, key, item, definition.param_specs.get(key, IN))
            elif param.kind is inspect.Parameter.KEYWORD_ONLY:
                self._add(plan, "k", pname, pname, value, definition.param_specs.get(pname, IN))
            else:
                self._add(plan, "a", len(plan.args), pname, value,
                          definition.param_specs.get(pname, IN))
        return plan

    # -- one parameter ----------------------------------------------------------------
    def _add(self, plan: CallPlan, kind: str, key: Any, pname: str, value: Any,
             spec: ParamSpec) -> None:
        if len(plan.summary) < _MAX_SUMMARISED_ARGS:
            plan.summary[pname] = _summarise(value)
        if spec.is_path:
            encoded, depth = self._path(plan, pname, value, spec), 0
        elif spec.type is DataType.COLLECTION:
            encoded, depth = self._collection(plan, pname, value, spec), spec.depth
        elif (not spec.writes and type(value) in (list, tuple)
              and self.objects.current(value) is None
              and any(isinstance(v, TaskOutput) for v in value)):
            # Futures inside a plain list: resolve them, as a COLLECTION_IN would.
            encoded, depth = [self._object(plan, pname, v, IN) for v in value], 1
        else:
            encoded, depth = self._object(plan, pname, value, spec), 0
        if kind == "a":
            plan.args.append(encoded)
            plan.arg_depths.append(depth)
        else:
            plan.kwargs[key] = encoded
            plan.kwarg_depths[key] = depth
        if spec.writes and not spec.is_path:
            position = len(plan.updates)
            plan.updates.append((kind, key, depth, pname))
            if spec.type is DataType.COLLECTION:
                for path, element in _leaves(value, spec.depth):
                    self._check_mutable(pname, element, spec, inside=True)
                    plan.written_objects.append((element, position, path))
            else:
                plan.written_objects.append((value, position, ()))
        if spec.direction is Direction.IN_DELETE:
            plan.deleted_objects.append(value)

    def _path(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec) -> str:
        if not isinstance(value, str | os.PathLike):
            raise TaskArgumentError(
                f"task '{self._definition.name}': parameter '{pname}' is declared {spec!r}, "
                f"so it must be a file path (str or pathlib.Path), but got "
                f"{type(value).__name__} {_summarise(value)}")
        path = os.path.abspath(os.fspath(value))
        plan.order_deps.update(self.files.access(path, self._task_id, spec.reads, spec.writes))
        return path

    def _collection(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec,
                    depth: int | None = None) -> list[Any]:
        depth = spec.depth if depth is None else depth
        if not isinstance(value, list | tuple):
            raise TaskArgumentError(
                f"task '{self._definition.name}': parameter '{pname}' is declared {spec!r}, "
                f"so it must be a list, but got {type(value).__name__}")
        element_spec = ParamSpec(DataType.OBJECT, spec.direction)
        if depth > 1:
            return [self._collection(plan, pname, v, spec, depth - 1)
                    if isinstance(v, list | tuple) else self._object(plan, pname, v, element_spec)
                    for v in value]
        return [self._object(plan, pname, v, element_spec) for v in value]

    def _object(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec) -> Any:
        if spec.writes:
            self._check_mutable(pname, value, spec)
        if type(value) in PRIMITIVES:
            return value
        version = self.objects.current(value)
        if version is None and isinstance(value, TaskOutput):
            version = value
        if version is not None and spec.reads:
            plan.data_deps.add(version.task_id)
            return wire_ref(version)
        if version is not None:  # OUT over a pending version: the old value is not read
            value = self._latest_local(value)
        try:
            return Pickled(cloudpickle.dumps(value))
        except Exception as exc:
            raise TaskArgumentError(
                f"task '{self._definition.name}': argument '{pname}' "
                f"({type(value).__name__}) cannot be serialised to send it to a worker: "
                f"{exc}") from None

    @staticmethod
    def _latest_local(value: Any) -> Any:
        return None if isinstance(value, TaskOutput) else value

    def _check_mutable(self, pname: str, value: Any, spec: ParamSpec,
                       inside: bool = False) -> None:
        if isinstance(value, _IMMUTABLE):
            where = "an element of " if inside else ""
            raise TaskArgumentError(
                f"task '{self._definition.name}': {where}parameter '{pname}' is declared "
                f"{spec!r}, but a {type(value).__name__} cannot be updated in place; pass a "
                "mutable object (list, dict, object) or return the new value (returns=1)")


def _leaves(value: Any, depth: int, prefix: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...],
                                                                                Any]]:
    out = []
    for i, item in enumerate(value):
        if depth > 1 and isinstance(item, list | tuple):
            out.extend(_leaves(item, depth - 1, (*prefix, i)))
        else:
            out.append(((*prefix, i), item))
    return out


def _summarise(value: Any) -> str:
    if isinstance(value, TaskOutput):
        return f"<output of task #{value.task_id}>"
    try:
        return _SUMMARY.repr(value)
    except Exception:  # a broken __repr__ must not break the call
        return f"<{type(value).__name__}>"
