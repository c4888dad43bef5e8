"""What travels from the engine to a worker for one task, and how it is decoded there.

Kept free of Dask imports so the format is easy to test on its own. Arguments are
sent as they are when they are cheap primitives, as :class:`Pickled` snapshots
otherwise (taken at call time, which is PyCOMPSs' semantics and catches unpicklable
arguments early), and as Dask futures for values produced by other tasks. A future
of a task with several outputs is wrapped in a ``(SELECT, future, path)`` triple:
Dask resolves the future inside the tuple, the worker picks the element.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import cloudpickle


class _SelectMarker:
    """Singleton tag that survives pickling by identity."""

    _instance: _SelectMarker | None = None

    def __new__(cls) -> _SelectMarker:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self) -> str:
        return "SELECT"

    def __repr__(self) -> str:
        return "SELECT"


SELECT = _SelectMarker()


class Pickled:
    """An argument serialised on the caller's side at call time."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pickled, (self.data,))


PRIMITIVES = (int, float, str, bytes, bool, complex, type(None))


def select(value: Any, path: tuple[int, ...]) -> Any:
    for index in path:
        value = value[index]
    return value


def decode(value: Any, depth: int = 0) -> Any:
    """Turn one wire value back into the user's object (recursing into collections)."""
    kind = type(value)
    if kind is Pickled:
        return cloudpickle.loads(value.data)
    if kind is tuple and len(value) == 3 and value[0] is SELECT:
        return select(value[1], value[2])
    if depth > 0 and kind is list:
        return [decode(item, depth - 1) for item in value]
    return value


def decode_private(value: Any, depth: int = 0) -> Any:
    """Decode a value the task will modify: never share it with other tasks.

    Values that came from other tasks live in the worker's memory and may be read
    by other tasks too, so a task that writes them (INOUT) works on a copy.
    """
    kind = type(value)
    if kind is Pickled:
        return cloudpickle.loads(value.data)
    if depth > 0 and kind is list:
        return [decode_private(item, depth - 1) for item in value]
    return copy.deepcopy(decode(value))


@dataclass(slots=True)
class WireTask:
    """Everything a worker needs to run one task and report on it, but its arguments.

    Arguments travel beside it in the ``submit`` call, where Dask finds the futures
    among them and resolves them before the task starts.
    """

    run: str
    task: int
    name: str
    definition: bytes  # cloudpickled TaskDefinition, computed once per definition
    definition_uid: str
    topic: str
    arg_depths: tuple[int, ...] = ()
    kwarg_depths: dict[str, int] = field(default_factory=dict)
    # Values the task writes: ("a", index, depth, param) or ("k", name, depth, param).
    updates: tuple[tuple[str, Any, int, str], ...] = ()
    n_returns: int = 1
    tuple_layout: bool = False  # result is (returns..., updates...) rather than one value
    on_failure: str = "RETRY"
    defaults: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    time_out: float | None = None
