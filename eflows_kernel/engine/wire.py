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
import types
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


class _PartialSelectMarker(_SelectMarker):
    """Like SELECT, for outputs of a task that raised COMPSsException (see below)."""

    _instance: _SelectMarker | None = None

    def __reduce__(self) -> str:
        return "SELECT_PARTIAL"


SELECT_PARTIAL = _PartialSelectMarker()


class PartialResult(tuple):
    """The outputs of a task that raised COMPSsException: its INOUT values, no returns.

    Only tasks submitted after the exception was known read it (they get
    ``SELECT_PARTIAL`` references); a task submitted before it is cancelled with
    the group, and refuses to start if Dask runs it before the cancellation lands.
    """

    message: str = ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_partial, (tuple(self), self.message))


def _partial(items: tuple[Any, ...], message: str) -> PartialResult:
    result = PartialResult(items)
    result.message = message
    return result


class Pickled:
    """An argument serialised on the caller's side at call time."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pickled, (self.data,))


PRIMITIVES = (int, float, str, bytes, bool, complex, type(None))


class GeneratorSnapshot:
    """A generator as PyCOMPSs' serialiser sends one: the items it has left.

    A generator cannot be pickled; PyCOMPSs turns an argument or return value that is
    one into the list of its remaining items (consuming it) and hands the receiver a
    new generator over them. ``freeze`` and ``thaw`` do the same here.
    """

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __reduce__(self) -> tuple[Any, ...]:
        return (GeneratorSnapshot, (self.items,))


def freeze(value: Any) -> Any:
    """A generator becomes a snapshot of what it has left; anything else is kept."""
    if isinstance(value, types.GeneratorType):
        return GeneratorSnapshot(list(value))
    return value


def thaw(value: Any) -> Any:
    """A snapshot becomes a generator again (the receiver's own)."""
    if type(value) is GeneratorSnapshot:
        return (item for item in value.items)
    return value


class MissingValue:
    """Stands for a return value a task never produced (it raised COMPSsException).

    The task's INOUT parameters and files are kept, as in PyCOMPSs; a task that
    receives one of its returns fails with this message.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (MissingValue, (self.message,))


class MissingValueError(RuntimeError):
    """A task argument is the return value of a task that never produced it."""


def partial_input(value: Any) -> PartialResult | None:
    """A COMPSsException result this task may not read (see PartialResult)."""
    kind = type(value)
    if kind is PartialResult:
        return value
    if kind is tuple and len(value) == 3 and value[0] is SELECT \
            and type(value[1]) is PartialResult:
        return value[1]
    if kind in (list, tuple, dict):
        for item in (value.values() if kind is dict else value):
            found = partial_input(item) if type(item) in (tuple, list, dict,
                                                          PartialResult) else None
            if found is not None:
                return found
    return None


def select(value: Any, path: tuple[Any, ...]) -> Any:
    if type(value) is PartialResult and not path:
        path = (0,)  # the single return value of a task that raised COMPSsException
    for index in path:
        value = value[index]
    if type(value) is MissingValue:
        raise MissingValueError(value.message)
    return value


def decode(value: Any, depth: int = 0) -> Any:
    """Turn one wire value back into the user's object (recursing into collections)."""
    return thaw(_decode(value, depth))


def _decode(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is Pickled:
        return cloudpickle.loads(value.data)
    if kind is tuple and len(value) == 3 and value[0] in (SELECT, SELECT_PARTIAL):
        return select(value[1], value[2])
    if depth > 0 and kind is list:
        return [decode(item, depth - 1) for item in value]
    if depth > 0 and kind is tuple:
        return tuple(decode(item, depth - 1) for item in value)
    if depth > 0 and kind is dict:
        return {key: decode(item, depth - 1) for key, item in value.items()}
    if kind is MissingValue:
        raise MissingValueError(value.message)
    return value


def decode_private(value: Any, depth: int = 0) -> Any:
    """Decode a value the task will modify: never share it with other tasks.

    Values that came from other tasks live in the worker's memory and may be read
    by other tasks too, so a task that writes them (INOUT) works on a copy.
    """
    kind = type(value)
    if kind is Pickled:
        return thaw(cloudpickle.loads(value.data))
    if depth > 0 and kind is list:
        return [decode_private(item, depth - 1) for item in value]
    if depth > 0 and kind is tuple and not (len(value) == 3
                                            and value[0] in (SELECT, SELECT_PARTIAL)):
        return tuple(decode_private(item, depth - 1) for item in value)
    if depth > 0 and kind is dict:
        return {key: decode_private(item, depth - 1) for key, item in value.items()}
    if kind in PRIMITIVES:
        return value
    return thaw(copy.deepcopy(_decode(value, 0)))


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
    # Parameters that are files (arg index or kwarg name -> spec repr), for IGNOREd
    # failures whose defaults name a file to copy.
    file_params: dict[Any, str] = field(default_factory=dict)
    arg_names: tuple[str, ...] = ()  # parameter name of each positional argument
    in_group: bool = False  # a COMPSsException cancels its group (else: a failure)
    on_failure: str = "RETRY"
    defaults: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    time_out: float | None = None
    # Checkpointing: where the worker saves the finished task, and the files it wrote.
    checkpoint_dir: str | None = None
    checkpoint_files: tuple[str, ...] = ()
    hpc: Any = None  # an HPC task's LaunchPlan (engine/launch/plan.py): nodes, cores
