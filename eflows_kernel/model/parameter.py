"""Parameter directions and types of the PyCOMPSs programming model.

PyCOMPSs users write ``@task(x=INOUT, f=FILE_IN, c={Type: COLLECTION_IN, Depth: 2})``;
this module gives every name of ``pycompss.api.parameter`` the same meaning and turns
any accepted spelling (alias, name string, long-form dictionary, ``DIRECTION.INOUT``)
into one :class:`ParamSpec`, so the engine never has to know how a user wrote it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any


class Direction(str, Enum):
    IN = "IN"
    OUT = "OUT"
    INOUT = "INOUT"
    IN_DELETE = "IN_DELETE"
    CONCURRENT = "CONCURRENT"
    COMMUTATIVE = "COMMUTATIVE"


class DataType(str, Enum):
    OBJECT = "OBJECT"
    FILE = "FILE"
    DIRECTORY = "DIRECTORY"
    COLLECTION = "COLLECTION"
    DICT_COLLECTION = "DICT_COLLECTION"
    STREAM = "STREAM"


class IOStream(str, Enum):
    """``StdIOStream`` of a parameter: meaningful for programs run by @binary/@mpi."""

    STDIN = "STDIN"
    STDOUT = "STDOUT"
    STDERR = "STDERR"
    UNSPECIFIED = "UNSPECIFIED"


# PyCOMPSs' default collection depth: nested lists are followed all the way down.
UNLIMITED_DEPTH = sys.maxsize


@dataclass(frozen=True)
class ParamSpec:
    """How one task parameter is passed: what it is and which way data flows.

    ``stream``, ``prefix``, ``weight``, ``keep_rename`` and ``cache`` are kept as the
    user gave them: the engine does not need them for Python tasks, but the task
    decorators that run programs (@binary, @mpi...) read ``stream`` and ``prefix``.
    """

    type: DataType = DataType.OBJECT
    direction: Direction = Direction.IN
    depth: int = UNLIMITED_DEPTH  # nesting depth followed, for collections
    file_collection: bool = False  # COLLECTION_FILE_*: the leaves are file paths
    stream: IOStream = IOStream.UNSPECIFIED
    prefix: str | None = None
    weight: float = 1.0
    keep_rename: bool = True
    cache: bool = True

    # Objects (PyCOMPSs' "key" attribute of its parameter aliases).
    @property
    def key(self) -> str:
        return alias_name(self)

    @property
    def writes(self) -> bool:
        """The task produces a new version (the caller's object/file changes)."""
        if self.type is DataType.STREAM:
            return False
        if self.direction is Direction.CONCURRENT and not self.is_path:
            # PyCOMPSs does not write a CONCURRENT object back: the task works on
            # the shared version and its changes stay in the worker.
            return False
        return self.direction in (
            Direction.OUT, Direction.INOUT, Direction.CONCURRENT, Direction.COMMUTATIVE)

    @property
    def reads(self) -> bool:
        return self.direction is not Direction.OUT

    @property
    def is_path(self) -> bool:
        return self.type in (DataType.FILE, DataType.DIRECTORY)

    @property
    def is_collection(self) -> bool:
        return self.type in (DataType.COLLECTION, DataType.DICT_COLLECTION)

    def __repr__(self) -> str:
        return alias_name(self)


def alias_name(spec: ParamSpec) -> str:
    if spec.type is DataType.OBJECT:
        return spec.direction.value
    if spec.type is DataType.STREAM:
        return f"STREAM_{spec.direction.value}"
    kind = {DataType.DICT_COLLECTION: "DICTIONARY"}.get(spec.type, spec.type.value)
    if spec.file_collection:
        kind = "COLLECTION_FILE"
    name = f"{kind}_{spec.direction.value}"
    if spec.stream is not IOStream.UNSPECIFIED:
        name += f"_{spec.stream.value}"
    return name


def _spec(type_: DataType = DataType.OBJECT, direction: Direction = Direction.IN,
          **extra: Any) -> ParamSpec:
    return ParamSpec(type_, direction, **extra)


_O, _F, _D = DataType.OBJECT, DataType.FILE, DataType.DIRECTORY
_C, _DC, _S = DataType.COLLECTION, DataType.DICT_COLLECTION, DataType.STREAM
_IN, _OUT, _INOUT = Direction.IN, Direction.OUT, Direction.INOUT
_CONC, _COMM, _DEL = Direction.CONCURRENT, Direction.COMMUTATIVE, Direction.IN_DELETE

# Objects (just a direction).
IN = _spec(_O, _IN)
OUT = _spec(_O, _OUT)
INOUT = _spec(_O, _INOUT)
CONCURRENT = _spec(_O, _CONC)
COMMUTATIVE = _spec(_O, _COMM)
IN_DELETE = _spec(_O, _DEL)
# Files and directories (files are not renamed: keep_rename and cache are off).
_FILE = {"keep_rename": False, "cache": False}
FILE = FILE_IN = _spec(_F, _IN, **_FILE)
FILE_OUT = _spec(_F, _OUT, **_FILE)
FILE_INOUT = _spec(_F, _INOUT, **_FILE)
FILE_CONCURRENT = _spec(_F, _CONC, **_FILE)
FILE_COMMUTATIVE = _spec(_F, _COMM, **_FILE)
DIRECTORY = DIRECTORY_IN = _spec(_D, _IN, **_FILE)
DIRECTORY_OUT = _spec(_D, _OUT, **_FILE)
DIRECTORY_INOUT = _spec(_D, _INOUT, **_FILE)
# Collections of objects, of files, dictionaries.
COLLECTION = COLLECTION_IN = _spec(_C, _IN)
COLLECTION_INOUT = _spec(_C, _INOUT)
COLLECTION_OUT = _spec(_C, _OUT)
COLLECTION_IN_DELETE = _spec(_C, _DEL)
COLLECTION_FILE = COLLECTION_FILE_IN = _spec(_C, _IN, file_collection=True, **_FILE)
COLLECTION_FILE_INOUT = _spec(_C, _INOUT, file_collection=True, **_FILE)
COLLECTION_FILE_OUT = _spec(_C, _OUT, file_collection=True, **_FILE)
DICTIONARY = DICTIONARY_IN = _spec(_DC, _IN)
DICTIONARY_INOUT = _spec(_DC, _INOUT)
DICTIONARY_OUT = _spec(_DC, _OUT)
DICTIONARY_IN_DELETE = _spec(_DC, _DEL)
# Streams (pycompss.streams objects): producer and consumer run at the same time.
STREAM_IN = _spec(_S, _IN, cache=False)
STREAM_OUT = _spec(_S, _OUT, cache=False)


def _with_stream(base: ParamSpec, stream: IOStream) -> ParamSpec:
    return replace(base, stream=stream)


_STREAMED = {"IN": FILE_IN, "OUT": FILE_OUT, "INOUT": FILE_INOUT,
             "CONCURRENT": FILE_CONCURRENT, "COMMUTATIVE": FILE_COMMUTATIVE}
for _io in (IOStream.STDIN, IOStream.STDOUT, IOStream.STDERR):
    globals()[f"FILE_{_io.value}"] = _with_stream(FILE_IN, _io)
    for _dir_name, _base in _STREAMED.items():
        globals()[f"FILE_{_dir_name}_{_io.value}"] = _with_stream(_base, _io)


class SupportedDirections:
    """``DIRECTION.INOUT``... (PyCOMPSs numbers them; here they are the directions)."""

    IN = Direction.IN
    OUT = Direction.OUT
    INOUT = Direction.INOUT
    CONCURRENT = Direction.CONCURRENT
    COMMUTATIVE = Direction.COMMUTATIVE
    IN_DELETE = Direction.IN_DELETE


class SupportedIoStreams:
    STDIN = IOStream.STDIN
    STDOUT = IOStream.STDOUT
    STDERR = IOStream.STDERR
    UNSPECIFIED = IOStream.UNSPECIFIED


class SupportedPrefixes:
    PREFIX = "null"


class SupportedTypes:
    """``TYPE.FILE``...: PyCOMPSs' data types, usable as ``{Type: TYPE.FILE}``."""

    BOOLEAN, CHAR, BYTE, SHORT, INT, LONG, FLOAT, DOUBLE, STRING = (
        "BOOLEAN", "CHAR", "BYTE", "SHORT", "INT", "LONG", "FLOAT", "DOUBLE", "STRING")
    FILE = DataType.FILE
    DIRECTORY = DataType.DIRECTORY
    OBJECT = DataType.OBJECT
    COLLECTION = DataType.COLLECTION
    DICT_COLLECTION = DataType.DICT_COLLECTION
    EXTERNAL_STREAM = DataType.STREAM
    STRING_64 = "STRING_64"
    EXTERNAL_PSCO = "EXTERNAL_PSCO"


DIRECTION = SupportedDirections()
IOSTREAM = SupportedIoStreams()
PREFIX = SupportedPrefixes()
TYPE = SupportedTypes()
STDIN, STDOUT, STDERR = IOStream.STDIN, IOStream.STDOUT, IOStream.STDERR

# Keys of the long form: @task(c={Type: COLLECTION_IN, Depth: 2, Direction: INOUT}).
Type = "type"
DIRECTION_KEY = "direction"
StdIOStream = "stdiostream"
Prefix = "prefix"
Depth = "depth"
Weight = "weight"
Keep_rename = "keep_rename"
Cache = "cache"
# MPI collection layout keys (read by @mpi, accepted everywhere).
block_count = "block_count"
block_length = "block_length"
stride = "stride"

_BY_NAME = {
    name: value for name, value in list(globals().items())
    if isinstance(value, ParamSpec) and name.isupper()
}
KNOWN_DIRECTIONS = tuple(sorted(_BY_NAME))
_DICT_KEYS = {Type, DIRECTION_KEY, StdIOStream, Prefix, Depth, Weight, Keep_rename, Cache}


class UnknownDirectionError(ValueError):
    """A decorator declared a direction this programming model does not have."""


def is_param_spec_value(value: Any) -> bool:
    """Whether a decorator value is meant as a parameter description."""
    return (isinstance(value, ParamSpec | Direction | DataType)
            or (isinstance(value, str) and value.upper() in _BY_NAME)
            or (isinstance(value, dict) and bool(value)
                and all(isinstance(k, str) and k.lower() in _DICT_KEYS for k in value)))


def parse_param_spec(value: Any, *, task_name: str, param: str) -> ParamSpec:
    """Turn one decorator value (``INOUT``, ``"FILE_IN"``, a dict...) into a ParamSpec."""
    if isinstance(value, ParamSpec):
        return value
    if isinstance(value, Direction):
        return ParamSpec(DataType.OBJECT, value)
    if isinstance(value, DataType):
        return _type_only(value)
    if isinstance(value, str) and value.upper() in _BY_NAME:
        return _BY_NAME[value.upper()]
    if isinstance(value, dict):
        return _parse_dict(value, task_name, param)
    raise UnknownDirectionError(
        f"task '{task_name}': parameter '{param}' has unknown direction {value!r}; "
        f"use one of {', '.join(KNOWN_DIRECTIONS)} (from pycompss.api.parameter)")


def _type_only(data_type: DataType) -> ParamSpec:
    return {DataType.FILE: FILE_IN, DataType.DIRECTORY: DIRECTORY_IN,
            DataType.COLLECTION: COLLECTION_IN, DataType.DICT_COLLECTION: DICTIONARY_IN,
            DataType.STREAM: STREAM_IN}.get(data_type, IN)


def _get(value: dict[str, Any], key: str) -> Any:
    for candidate in (key, key.capitalize(), key.upper()):
        if candidate in value:
            return value[candidate]
    if key == Keep_rename:
        return value.get("Keep_rename")
    if key == StdIOStream:
        return value.get("StdIOStream")
    return None


def _parse_dict(value: dict[str, Any], task_name: str, param: str) -> ParamSpec:
    def fail(what: str) -> UnknownDirectionError:
        return UnknownDirectionError(f"task '{task_name}': parameter '{param}': {what}")

    base = _get(value, Type)
    spec = IN if base is None else parse_param_spec(base, task_name=task_name, param=param)
    direction = _get(value, DIRECTION_KEY)
    if direction is not None:
        direction_spec = parse_param_spec(direction, task_name=task_name, param=param)
        spec = replace(spec, direction=direction_spec.direction)
    depth = _get(value, Depth)
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise fail(f"Depth={depth!r}; Depth must be a positive integer")
        spec = replace(spec, depth=depth)
    stream = _get(value, StdIOStream)
    if stream is not None:
        try:
            spec = replace(spec, stream=IOStream(getattr(stream, "value", stream)))
        except ValueError:
            raise fail(f"StdIOStream={stream!r}; use STDIN, STDOUT or STDERR") from None
    prefix = _get(value, Prefix)
    if prefix is not None:
        spec = replace(spec, prefix=str(prefix))
    weight = _get(value, Weight)
    if weight is not None:
        try:
            spec = replace(spec, weight=float(weight))
        except (TypeError, ValueError):
            raise fail(f"Weight={weight!r} is not a number") from None
    for key in (Keep_rename, Cache):
        flag = _get(value, key)
        if flag is not None:
            spec = replace(spec, **{key: bool(flag)})
    return spec
