"""``pycompss.util.sharedmemory.shma``: numpy arrays kept in shared memory.

PyCOMPSs implements it with the SharedArray package (System V segments); here it is
the standard library's ``multiprocessing.shared_memory``. An array is known by the
base name of a file handler (``<name>.shm``): ``serialize_to_shm`` copies it into a
segment and also saves it to the file with ``numpy.save``; ``deserialize_from_shm``
gives the process' array for that name, else attaches to the segment another process
made, else loads the file into a new segment. Every array given for one name shares
its memory, so a change through one is seen through the others.
"""

from __future__ import annotations

from multiprocessing import shared_memory
from os.path import basename
from typing import Any

try:
    import numpy

    SHAREDARRAY_AVAILABLE = True
except ImportError:  # pragma: no cover - numpy is what the arrays are
    SHAREDARRAY_AVAILABLE = False

shma_objects: dict[str, Any] = {}
_segments: dict[str, shared_memory.SharedMemory] = {}  # kept open while arrays use them


def _name(handler_or_name: Any) -> str:
    name = handler_or_name if isinstance(handler_or_name, str) else handler_or_name.name
    return basename(str(name) + ".shm")


def _segment_name(obj_name: str) -> str:
    return "eflows_shma_" + obj_name


def _shared_copy(obj_name: str, array: Any) -> Any:
    array = numpy.asarray(array)
    segment = shared_memory.SharedMemory(name=_segment_name(obj_name), create=True,
                                         size=max(array.nbytes, 1))
    _segments[obj_name] = segment
    shared = numpy.ndarray(array.shape, dtype=array.dtype, buffer=segment.buf)
    shared[...] = array
    return shared


def _header(handler: Any) -> tuple[tuple[int, ...], Any]:
    with open(handler.name, "rb") as stream:
        fmt = numpy.lib.format
        read = (fmt.read_array_header_1_0 if fmt.read_magic(stream) == (1, 0)
                else fmt.read_array_header_2_0)
        shape, _fortran, dtype = read(stream)
    return shape, dtype


def serialize_to_shm(obj: Any, handler: Any) -> None:
    obj_name = _name(handler)
    shma_objects[obj_name] = _shared_copy(obj_name, obj)
    numpy.save(handler, obj, allow_pickle=False)
    if hasattr(handler, "flush"):
        handler.flush()


def deserialize_from_shm(handler: Any) -> Any:
    obj_name = _name(handler)
    if obj_name in shma_objects:
        return shma_objects[obj_name]
    try:
        segment = shared_memory.SharedMemory(name=_segment_name(obj_name))
    except (FileNotFoundError, OSError):
        with open(handler.name, "rb") as stream:
            shared = _shared_copy(obj_name, numpy.load(stream, allow_pickle=False))
    else:
        _segments[obj_name] = segment
        shape, dtype = _header(handler)
        shared = numpy.ndarray(shape, dtype=dtype, buffer=segment.buf)
    shma_objects[obj_name] = shared
    return shared


def deregister_arrays(names: Any) -> None:
    """Remove the segments of ``names``: arrays already given keep working, but no
    other process can attach to them any more."""
    for name in list(names):
        segment = _segments.get(name)
        try:
            if segment is None:
                segment = shared_memory.SharedMemory(name=_segment_name(name))
                _segments[name] = segment
            segment.unlink()
        except (FileNotFoundError, OSError):
            pass


def delete_shma(name: str) -> None:
    obj_name = _name(name)
    shma_objects.pop(obj_name, None)
    deregister_arrays([obj_name])


def clear_shma(purge: bool = False) -> None:
    if purge:
        deregister_arrays(shma_objects.keys())
    shma_objects.clear()
