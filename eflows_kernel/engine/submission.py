"""Turns one task call into what Dask needs: wire arguments, dependencies, new versions.

This is where PyCOMPSs' parameter directions take effect. It runs in the caller's
thread, touches only the data trackers, and reports user mistakes with the task's
and the parameter's name before anything is sent anywhere.
"""

from __future__ import annotations

import inspect
import os
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from eflows_kernel.engine.data import FileVersions, ObjectVersions, TaskOutput
from eflows_kernel.engine.wire import PRIMITIVES, SELECT, SELECT_PARTIAL, Pickled, freeze
from eflows_kernel.model.decorators import resolve_constraints
from eflows_kernel.model.exceptions import TaskArgumentError
from eflows_kernel.model.parameter import IN, DataType, Direction, ParamSpec
from eflows_kernel.model.returns import ResolvedReturns
from eflows_kernel.model.task import CALL_OPTIONS, TaskDefinition

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
    # Of order_deps, those only for overwriting a file they read (unless also needed).
    after_readers: set[int] = field(default_factory=set)
    needed: set[int] = field(default_factory=set)
    # (object, position of its new value among the written ones, index path inside it)
    written_objects: list[tuple[Any, int, tuple[Any, ...]]] = field(default_factory=list)
    deleted_objects: list[Any] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)
    returns: ResolvedReturns = field(default_factory=lambda: ResolvedReturns(0))
    arguments: dict[str, Any] = field(default_factory=dict)  # the bound call
    options: dict[str, Any] = field(default_factory=dict)  # call-time @task options
    computing_units: int = 1
    memory_size: float | None = None
    file_params: dict[Any, str] = field(default_factory=dict)
    arg_names: list[str] = field(default_factory=list)


def wire_ref(output: TaskOutput, partial: bool = False) -> Any:
    """How a task output travels: the Dask future itself, or a selection inside it.

    ``partial``: the output of a task that raised COMPSsException, read by a task
    submitted afterwards (see wire.PartialResult).
    """
    if partial:
        return (SELECT_PARTIAL, output.future, output.path)
    return output.future if not output.path else (SELECT, output.future, output.path)


class CallAnalyser:
    def __init__(self, objects: ObjectVersions, files: FileVersions,
                 ensure_submitted: Callable[[TaskOutput], None] = lambda _o: None,
                 partial: Callable[[int], bool] = lambda _t: False) -> None:
        self.objects = objects
        self.files = files
        self.partial = partial
        # Tasks are sent to Dask in batches: a dependency not sent yet is sent first.
        self.ensure_submitted = ensure_submitted

    def analyse(self, definition: TaskDefinition, task_id: int, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> CallPlan:
        plan = CallPlan()
        parameters = definition.signature.parameters
        for option in CALL_OPTIONS:
            if option in kwargs and option not in parameters:
                plan.options[option] = kwargs.pop(option)
        try:
            bound = definition.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskArgumentError(
                f"task '{definition.name}' ({definition.location}) called with wrong "
                f"arguments: {exc}") from None
        bound.apply_defaults()
        plan.arguments = dict(bound.arguments)
        plan.returns = definition.options.returns.resolve(
            definition.name, definition.func, plan.arguments, plan.options.get("returns"))
        plan.computing_units, plan.memory_size = resolve_constraints(definition,
                                                                     plan.arguments)
        self._task_id = task_id
        self._definition = definition
        for pname, param in parameters.items():
            value = bound.arguments[pname]
            kind = param.kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                spec = definition.spec_for(pname, kind)
                for i, item in enumerate(value):
                    self._add(plan, "a", len(plan.args), f"{pname}[{i}]", item, spec)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                for key, item in value.items():
                    self._add(plan, "k", key, key, item, definition.spec_for(key, kind))
            elif kind is inspect.Parameter.KEYWORD_ONLY:
                self._add(plan, "k", pname, pname, value, definition.spec_for(pname, kind))
            else:
                self._add(plan, "a", len(plan.args), pname, value,
                          definition.spec_for(pname, kind))
        return plan

    # -- one parameter ----------------------------------------------------------------
    def _add(self, plan: CallPlan, kind: str, key: Any, pname: str, value: Any,
             spec: ParamSpec) -> None:
        if len(plan.summary) < _MAX_SUMMARISED_ARGS:
            plan.summary[pname] = _summarise(value)
        leaves: list[tuple[tuple[Any, ...], Any]] | None = None
        if spec.type is DataType.STREAM:
            if spec.direction is Direction.OUT and hasattr(value, "register_writer"):
                value.register_writer()  # the stream closes once every producer closed it
            encoded, depth = self._snapshot(pname, value), 0
        elif spec.is_path:
            encoded, depth = self._path(plan, pname, value, spec), 0
            if isinstance(value, str | os.PathLike):
                plan.file_params[key] = repr(spec)
        elif (spec.is_collection and value is not None
              and (self.objects.current(value) is None or _names_files(spec, value))):
            # A collection of files is walked at every call: its leaves are paths,
            # whose writers are tracked per file; the list of names never changes.
            leaves = None if spec.file_collection else []
            encoded, depth = self._container(plan, pname, value, spec, spec.depth, (),
                                             leaves, top=True), spec.depth
        elif (not spec.writes and self.objects.current(value) is None
              and type(value) in (list, tuple, dict) and _holds_output(value)):
            # Futures inside a plain list or dict: resolve them, as PyCOMPSs does.
            encoded, depth = self._container(plan, pname, value, IN, 1 << 30, (), None,
                                             top=True), 1 << 30
        else:
            encoded, depth = self._object(plan, pname, value, spec), 0
            if spec.is_collection and spec.writes and value is not None:
                # A collection a task already wrote travels whole (its new version);
                # its elements get new versions as well, found in the caller's copy.
                leaves = [(path, item) for path, item in _walk(value, spec.depth)
                          if isinstance(item, list | tuple | dict)
                          or not isinstance(item, _IMMUTABLE)]
        if kind == "a":
            plan.args.append(encoded)
            plan.arg_depths.append(depth)
            plan.arg_names.append(pname)
        else:
            plan.kwargs[key] = encoded
            plan.kwarg_depths[key] = depth
        if spec.writes and not spec.is_path and spec.type is not DataType.STREAM \
                and not spec.file_collection:
            position = len(plan.updates)
            plan.updates.append((kind, key, depth, pname))
            if leaves is not None:
                for path, element in leaves:
                    plan.written_objects.append((element, position, path))
            elif type(value) not in PRIMITIVES or (value is None
                                                   and spec.type is DataType.OBJECT):
                # A number or string cannot be changed by the task, and equal ones are
                # often one object: PyCOMPSs runs the task and the caller keeps its
                # value. A tuple is tracked: compss_wait_on(t) gives the task's copy.
                plan.written_objects.append((value, position, ()))
        if spec.direction is Direction.IN_DELETE:
            plan.deleted_objects.append(value)

    def _path(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec) -> Any:
        if value is None:
            return None  # PyCOMPSs passes it on: a code path that never uses the file
        if isinstance(value, TaskOutput) or self.objects.current(value) is not None:
            return self._object(plan, pname, value, IN)  # a path computed by a task
        if not isinstance(value, str | os.PathLike):
            raise TaskArgumentError(
                f"task '{self._definition.name}': parameter '{pname}' is declared {spec!r}, "
                f"so it must be a file path (str or pathlib.Path) or None, but got "
                f"{type(value).__name__} {_summarise(value)}")
        path = os.path.abspath(os.fspath(value))
        concurrent = spec.direction is Direction.CONCURRENT
        readers: set[int] = set()
        deps = self.files.access(path, self._task_id, spec.reads, spec.writes, concurrent,
                                 readers)
        plan.order_deps.update(deps)
        plan.after_readers.update(readers)
        plan.needed.update(d for d in deps if d not in readers)
        return path

    def _container(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec,
                   depth: int, path: tuple[Any, ...],
                   leaves: list[tuple[tuple[Any, ...], Any]] | None,
                   top: bool = False) -> Any:
        """A collection (list, tuple) or dictionary, followed ``depth`` levels down."""
        if leaves is not None and spec.writes and isinstance(value, list | tuple | dict):
            leaves.append((path, value))  # the collection itself has a new version too
        if isinstance(value, list | tuple):
            items: Any = [self._element(plan, pname, v, spec, depth, (*path, i), leaves)
                          for i, v in enumerate(value)]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {k: self._element(plan, pname, v, spec, depth, (*path, k), leaves)
                    for k, v in value.items()}
        if top:
            wanted = "a dict" if spec.type is DataType.DICT_COLLECTION else "a list"
            raise TaskArgumentError(
                f"task '{self._definition.name}': parameter '{pname}' is declared "
                f"{spec!r}, so it must be {wanted}, but got {type(value).__name__}")
        return self._object(plan, pname, value, spec)

    def _element(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec, depth: int,
                 path: tuple[Any, ...],
                 leaves: list[tuple[tuple[Any, ...], Any]] | None) -> Any:
        nested = isinstance(value, list | tuple | dict) and self.objects.current(value) is None
        if depth > 1 and nested:
            return self._container(plan, pname, value, spec, depth - 1, path, leaves)
        if spec.file_collection:
            return self._path(plan, pname, value, ParamSpec(DataType.FILE, spec.direction))
        element_spec = ParamSpec(DataType.OBJECT, spec.direction)
        if leaves is not None and spec.writes and not isinstance(value, _IMMUTABLE):
            # Elements are tracked one by one; immutable ones are only reachable
            # through their collection (compss_wait_on(collection) updates them).
            leaves.append((path, value))
        return self._object(plan, pname, value, element_spec)

    def _object(self, plan: CallPlan, pname: str, value: Any, spec: ParamSpec) -> Any:
        if type(value) in PRIMITIVES:
            return value
        version = self.objects.current(value)
        if version is None and isinstance(value, TaskOutput):
            version = value
        if version is not None and spec.reads:
            plan.data_deps.add(version.task_id)
            if version.future is None:
                self.ensure_submitted(version)
            return wire_ref(version, self.partial(version.task_id))
        if version is not None:  # OUT over a pending version: the old value is not read
            value = None if isinstance(value, TaskOutput) else value
        return self._snapshot(pname, value)

    def _snapshot(self, pname: str, value: Any) -> Any:
        if type(value) in PRIMITIVES:
            return value
        try:
            return Pickled(cloudpickle.dumps(freeze(value)))
        except Exception as exc:
            raise TaskArgumentError(
                f"task '{self._definition.name}': argument '{pname}' "
                f"({type(value).__name__}) cannot be serialised to send it to a worker: "
                f"{exc}") from None



def _names_files(spec: ParamSpec, value: Any) -> bool:
    return spec.file_collection and isinstance(value, list | tuple | dict)


def _walk(value: Any, depth: int, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...],
                                                                             Any]]:
    """(path, item) of a collection and everything in it, ``depth`` levels down."""
    found = [(path, value)]
    if depth > 0 and isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found.extend(_walk(item, depth - 1, (*path, i)))
    elif depth > 0 and isinstance(value, dict):
        for key, item in value.items():
            found.extend(_walk(item, depth - 1, (*path, key)))
    return found


def _holds_output(value: Any, budget: list[int] | None = None) -> bool:
    budget = budget if budget is not None else [10_000]
    items = value.values() if isinstance(value, dict) else value
    for item in items:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if isinstance(item, TaskOutput):
            return True
        if type(item) in (list, tuple, dict) and _holds_output(item, budget):
            return True
    return False


def _summarise(value: Any) -> str:
    if isinstance(value, TaskOutput):
        return f"<output of task #{value.task_id}>"
    try:
        return _SUMMARY.repr(value)
    except Exception:  # a broken __repr__ must not break the call
        return f"<{type(value).__name__}>"
