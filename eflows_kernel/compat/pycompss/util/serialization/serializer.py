"""``pycompss.util.serialization.serializer``: objects to files and bytes and back.

cloudpickle writes (so lambdas and classes defined in ``__main__`` serialise, as with
PyCOMPSs' own serialisers), plain pickle reads. The optional ``logger`` argument that
PyCOMPSs' signatures carry is accepted and unused.
"""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle

from eflows_kernel.compat.pycompss.util.exceptions import SerializerException

FORCED_SERIALIZER = -1  # PyCOMPSs' knob to force one serialiser; one serialiser here


def serialize_to_bytes(obj: Any) -> bytes:
    try:
        return cloudpickle.dumps(obj)
    except Exception as exc:
        raise SerializerException(f"cannot serialise {type(obj).__name__}: {exc}") from exc


def deserialize_from_bytes(data: bytes, show_exception: bool = True) -> Any:
    try:
        return pickle.loads(data)
    except Exception as exc:
        raise SerializerException(f"cannot deserialise: {exc}") from exc


def serialize_to_file(obj: Any, file_name: str, logger: Any = None) -> None:
    data = serialize_to_bytes(obj)
    with open(file_name, "wb") as handle:
        handle.write(data)


def deserialize_from_file(file_name: str, logger: Any = None) -> Any:
    with open(file_name, "rb") as handle:
        return deserialize_from_bytes(handle.read())


serialize_to_string = serialize_to_bytes
deserialize_from_string = deserialize_from_bytes
