"""``@data_transformation`` / ``@dt`` and ``dto``: transform a task's argument first.

As in PyCOMPSs, each transformation of a call becomes a task of its own (named after
the private task that applies it: ``transform``, ``file_to_object``...), whose
output is passed to the decorated task in place of the argument; with
``is_workflow=True`` the function is called in the main program instead (it may
submit tasks itself). Transformations stacked on one task apply from the outermost
decorator in. Typed transformations convert between objects, files, directories
and collections (``FILE_TO_OBJECT``, ``OBJECT_TO_FILE``, ...).

Differences: without an engine (a plain ``python app.py`` run) the transformations
are applied as plain calls, where PyCOMPSs raises ``NotImplementedError``; inside a
task they are skipped, as in PyCOMPSs without nesting.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from eflows_kernel.model.parameter import (
    COLLECTION_IN,
    DIRECTORY_IN,
    DIRECTORY_OUT,
    FILE_IN,
    FILE_OUT,
)
from eflows_kernel.model.runtime import in_task_worker
from eflows_kernel.model.task import task

OBJECT_TO_FILE = 0
FILE_TO_OBJECT = 1
FILE_TO_COLLECTION = 2
COLLECTION_TO_OBJECT = 3
COLLECTION_TO_FILE = 4
OBJECT_TO_DIRECTORY = 5
DIRECTORY_TO_OBJECT = 6
COLLECTION_TO_DIRECTORY = 7

IS_WORKFLOW = "is_workflow"


class DataTransformationError(ValueError):
    """A ``@dt`` names a parameter the task does not have, or lacks what its type needs."""


# -- the private tasks that apply transformations (PyCOMPSs' api.commons.private_tasks) --
@task(returns=1)
def transform(target: Any, function: Any, **kwargs: Any) -> Any:
    return function(target, **kwargs)


@task(returns=object, target=COLLECTION_IN)
def col_to_obj(target: Any, function: Any, **kwargs: Any) -> Any:
    return function(target, **kwargs)


@task(destination=FILE_OUT, target=COLLECTION_IN)
def col_to_file(target: Any, destination: str, function: Any, **kwargs: Any) -> None:
    function(target, destination, **kwargs)


@task(destination=DIRECTORY_OUT, target=COLLECTION_IN)
def col_to_dir(target: Any, destination: str, function: Any, **kwargs: Any) -> None:
    function(target, destination, **kwargs)


@task(returns=object, target=FILE_IN)
def file_to_object(target: str, function: Any, **kwargs: Any) -> Any:
    return function(target, **kwargs)


@task(returns=object, target=DIRECTORY_IN)
def dir_to_object(target: str, function: Any, **kwargs: Any) -> Any:
    return function(target, **kwargs)


@task(destination=FILE_OUT)
def object_to_file(target: Any, destination: str, function: Any, **kwargs: Any) -> None:
    function(target, destination, **kwargs)


@task(destination=DIRECTORY_OUT)
def object_to_dir(target: Any, destination: str, function: Any, **kwargs: Any) -> None:
    function(target, destination, **kwargs)


def _file_to_col_body(target: str, function: Any, **kwargs: Any) -> Any:
    return function(target, **kwargs)


@functools.cache
def _file_to_col(size: int) -> Any:
    """``file_to_col`` with ``size`` outputs (PyCOMPSs passes ``returns=size`` at call)."""
    body = functools.partial(_file_to_col_body)
    functools.update_wrapper(body, _file_to_col_body)
    body.__name__ = "file_to_col"  # type: ignore[attr-defined]
    return task(returns=size, target=FILE_IN)(body)


class DTObject:
    """A transformation given at call time: ``task(A, dt=[dto("A", func, k=v)])``."""

    def __init__(self, param_name: str, func: Any, **func_kwargs: Any) -> None:
        self.param_name = param_name
        self.func = func
        self.func_kwargs = func_kwargs

    def extract(self) -> tuple[str, Any, dict[str, Any]]:
        return self.param_name, self.func, dict(self.func_kwargs)


class DataTransformation:
    """The ``@dt`` decorator (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = dict(kwargs)
        self.target = self.kwargs.pop("target", None)
        self.dt_function = self.kwargs.pop("function", None)
        self.type = self.kwargs.pop("type", None)
        self.destination = self.kwargs.pop("destination", "dt_file_out")
        self.user_function: Any = None

    def __call__(self, user_function: Any) -> Any:
        self.user_function = user_function

        @functools.wraps(user_function)
        def dt_f(*args: Any, **kwargs: Any) -> Any:
            values = list(args)
            if not in_task_worker():
                self._apply_all(values, kwargs)
            return user_function(*values, **kwargs)

        return dt_f

    def _transformations(self, args: list[Any], kwargs: dict[str, Any]) -> list[tuple]:
        if "dt" in kwargs:
            given = kwargs.pop("dt")
            objects = given if isinstance(given, list) else [given]
            return [obj.extract() for obj in objects if isinstance(obj, DTObject)]
        if len(self.args) == 2:
            return [(self.args[0], self.args[1], dict(self.kwargs))]
        if self.type is not None:
            return [(self.target, self.dt_function, dict(self.kwargs))]
        return []

    def _apply_all(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        for param_name, func, func_kwargs in self._transformations(args, kwargs):
            self._apply(param_name, func, func_kwargs, args, kwargs)

    def _position(self, param_name: str) -> int:
        names = list(inspect.signature(self.user_function).parameters)
        if param_name not in names:
            raise DataTransformationError(
                f"Wrong Param {param_name} in data transformation: "
                f"{getattr(self.user_function, '__name__', 'the task')}() has parameters "
                f"{', '.join(names) or 'none'}")
        return names.index(param_name)

    def _value(self, param_name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if param_name in kwargs:
            return kwargs[param_name]
        index = self._position(param_name)
        if index < len(args):
            return args[index]
        return inspect.signature(self.user_function).parameters[param_name].default

    def _apply(self, param_name: str, func: Any, func_kwargs: dict[str, Any],
               args: list[Any], kwargs: dict[str, Any]) -> None:
        is_workflow = func_kwargs.pop(IS_WORKFLOW, False) in (True, "True", "true", 1, "1")
        value = self._value(param_name, args, kwargs)
        for key, given in list(func_kwargs.items()):
            if isinstance(given, str) and given.startswith("{{") and given.endswith("}}"):
                func_kwargs[key] = self._value(given[2:-2], args, kwargs)
        new_value = self._transformed(value, func, func_kwargs, is_workflow)
        if param_name in kwargs:
            kwargs[param_name] = new_value
            return
        index = self._position(param_name)
        if index < len(args):
            args[index] = new_value
        else:
            kwargs[param_name] = new_value

    def _transformed(self, value: Any, func: Any, func_kwargs: dict[str, Any],
                     is_workflow: bool) -> Any:
        kind, function, destination = self.type, self.dt_function, self.destination
        if is_workflow:
            return func(value, **func_kwargs)
        if kind is None:
            return transform(value, func, **func_kwargs)
        if function is None:
            raise DataTransformationError(
                "a typed data transformation needs function=..., e.g. "
                "@dt(target='data', function=load, type=FILE_TO_OBJECT)")
        if kind == OBJECT_TO_FILE:
            object_to_file(value, destination, function, **func_kwargs)
            return destination
        if kind == OBJECT_TO_DIRECTORY:
            object_to_dir(value, destination, function, **func_kwargs)
            return destination
        if kind == FILE_TO_OBJECT:
            return file_to_object(value, function, **func_kwargs)
        if kind == DIRECTORY_TO_OBJECT:
            return dir_to_object(value, function, **func_kwargs)
        if kind == FILE_TO_COLLECTION:
            if "size" not in func_kwargs:
                raise DataTransformationError(
                    "FILE_TO_COLLECTION needs size=<number of elements>")
            size = int(func_kwargs.pop("size"))
            outputs = _file_to_col(size)(value, function, **func_kwargs)
            return list(outputs) if isinstance(outputs, list | tuple) else [outputs]
        if kind == COLLECTION_TO_OBJECT:
            return col_to_obj(value, function, **func_kwargs)
        if kind == COLLECTION_TO_FILE:
            col_to_file(value, destination, function, **func_kwargs)
            return destination
        if kind == COLLECTION_TO_DIRECTORY:
            col_to_dir(value, destination, function, **func_kwargs)
            return destination
        raise DataTransformationError(f"unknown data transformation type {kind!r}")


dt = DataTransformation
data_transformation = DataTransformation
dto = DTObject
