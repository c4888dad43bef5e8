"""Parameter directions and types of the PyCOMPSs programming model.

PyCOMPSs users write ``@task(x=INOUT, f=FILE_IN, c={Type: COLLECTION_IN, Depth: 2})``;
this module gives those names the same meaning and turns any accepted spelling into
one :class:`ParamSpec`, so the engine never has to know how a user wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Direction(str, Enum):
    IN = "IN"
    OUT = "OUT"
    INOUT = "INOUT"
    IN_DELETE = "IN_DELETE"
    # Order-free writes. Running them one after another is a correct (if less
    # parallel) schedule, so they are handled as INOUT.
    CONCURRENT = "CONCURRENT"
    COMMUTATIVE = "COMMUTATIVE"


class DataType(str, Enum):
    OBJECT = "OBJECT"
    FILE = "FILE"
    DIRECTORY = "DIRECTORY"
    COLLECTION = "COLLECTION"


@dataclass(frozen=True)
class ParamSpec:
    """How one task parameter is passed: what it is and which way data flows."""

    type: DataType = DataType.OBJECT
    direction: Direction = Direction.IN
    depth: int = 1  # nesting depth, for collections

    @property
    def writes(self) -> bool:
        return self.direction in (
            Direction.OUT, Direction.INOUT, Direction.CONCURRENT, Direction.COMMUTATIVE)

    @property
    def reads(self) -> bool:
        return self.direction is not Direction.OUT

    @property
    def is_path(self) -> bool:
        return self.type in (DataType.FILE, DataType.DIRECTORY)

    def __repr__(self) -> str:
        if self.type is DataType.OBJECT:
            return self.direction.value
        return f"{self.type.value}_{self.direction.value}"


# Keys of the dictionary form: @task(c={Type: COLLECTION_IN, Depth: 2}).
Type = "type"
DIRECTION_KEY = "direction"
Depth = "depth"
Prefix = "prefix"
StdIOStream = "stdiostream"
Weight = "weight"
Keep_rename = "keep_rename"
Cache = "cache"

# Type constants of the dictionary form.
FILE = DataType.FILE
DIRECTORY = DataType.DIRECTORY
COLLECTION = DataType.COLLECTION

IN = ParamSpec(DataType.OBJECT, Direction.IN)
OUT = ParamSpec(DataType.OBJECT, Direction.OUT)
INOUT = ParamSpec(DataType.OBJECT, Direction.INOUT)
IN_DELETE = ParamSpec(DataType.OBJECT, Direction.IN_DELETE)
CONCURRENT = ParamSpec(DataType.OBJECT, Direction.CONCURRENT)
COMMUTATIVE = ParamSpec(DataType.OBJECT, Direction.COMMUTATIVE)
FILE_IN = ParamSpec(DataType.FILE, Direction.IN)
FILE_OUT = ParamSpec(DataType.FILE, Direction.OUT)
FILE_INOUT = ParamSpec(DataType.FILE, Direction.INOUT)
FILE_CONCURRENT = ParamSpec(DataType.FILE, Direction.CONCURRENT)
FILE_COMMUTATIVE = ParamSpec(DataType.FILE, Direction.COMMUTATIVE)
DIRECTORY_IN = ParamSpec(DataType.DIRECTORY, Direction.IN)
DIRECTORY_OUT = ParamSpec(DataType.DIRECTORY, Direction.OUT)
DIRECTORY_INOUT = ParamSpec(DataType.DIRECTORY, Direction.INOUT)
COLLECTION_IN = ParamSpec(DataType.COLLECTION, Direction.IN)
COLLECTION_INOUT = ParamSpec(DataType.COLLECTION, Direction.INOUT)
COLLECTION_OUT = ParamSpec(DataType.COLLECTION, Direction.OUT)
COLLECTION_IN_DELETE = ParamSpec(DataType.COLLECTION, Direction.IN_DELETE)

_BY_NAME = {
    name: value for name, value in globals().items()
    if isinstance(value, ParamSpec) and name.isupper()
}
KNOWN_DIRECTIONS = tuple(sorted(_BY_NAME))


class UnknownDirectionError(ValueError):
    """A decorator declared a direction this programming model does not have."""


def parse_param_spec(value: Any, *, task_name: str, param: str) -> ParamSpec:
    """Turn one decorator value (``INOUT``, ``"FILE_IN"``, a dict...) into a ParamSpec."""
    if isinstance(value, ParamSpec):
        return value
    if isinstance(value, Direction):
        return ParamSpec(DataType.OBJECT, value)
    if isinstance(value, str) and value.upper() in _BY_NAME:
        return _BY_NAME[value.upper()]
    if isinstance(value, dict):
        base = value.get(Type, value.get("Type"))
        spec = parse_param_spec(base if base is not None else IN,
                                task_name=task_name, param=param)
        direction = value.get(DIRECTION_KEY, value.get("Direction"))
        if direction is not None:
            spec = ParamSpec(spec.type, parse_param_spec(
                direction, task_name=task_name, param=param).direction, spec.depth)
        depth = value.get(Depth, value.get("Depth"))
        if depth is not None:
            if not isinstance(depth, int) or depth < 1:
                raise UnknownDirectionError(
                    f"task '{task_name}': parameter '{param}' has Depth={depth!r}; "
                    "Depth must be a positive integer")
            spec = ParamSpec(spec.type, spec.direction, depth)
        return spec
    if isinstance(value, DataType):
        return ParamSpec(value, Direction.IN)
    raise UnknownDirectionError(
        f"task '{task_name}': parameter '{param}' has unknown direction {value!r}; "
        f"use one of {', '.join(KNOWN_DIRECTIONS)} (from pycompss.api.parameter)")
