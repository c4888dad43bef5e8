"""Open streams inside task arguments travel by reference, as PyCOMPSs' dill does.

PyCOMPSs serialises task arguments with pickle, then dill, which pickles an open
file as "that file": a ``unittest.TestCase`` whose result writes to ``sys.stderr``
can be the ``self`` of a task method. cloudpickle refuses open files, so this module
registers reducers for the ``io`` stream types (``copyreg``, which pickle,
cloudpickle and ``copy.deepcopy`` all consult): the standard streams become the
receiving process's own ``sys.stdout``/``sys.stderr``/``sys.stdin``; a file opened
on a path is reopened on that path where it is unpickled (for appending, never
truncating); a closed one arrives closed.
"""

from __future__ import annotations

import copyreg
import io
import sys
from typing import Any

_STD = ("stdin", "stdout", "stderr")
_installed = False


def _std_name(stream: Any) -> str | None:
    for name in _STD:
        if stream is getattr(sys, name, None) or stream is getattr(sys, f"__{name}__", None):
            return name
    label = getattr(stream, "name", None)
    if isinstance(label, str) and label in (f"<{n}>" for n in _STD):
        return label.strip("<>")
    if isinstance(label, int) and 0 <= label <= 2:
        return _STD[label]
    return None


def std_stream(name: str) -> Any:
    return getattr(sys, name)


def reopen(path: str, mode: str) -> Any:
    mode = mode.replace("w", "a").replace("x", "a")  # never truncate the file again
    try:
        return open(path, mode)
    except OSError:
        return closed_stream("b" in mode)


def closed_stream(binary: bool) -> Any:
    stream: Any = io.BytesIO() if binary else io.StringIO()
    stream.close()
    return stream


def _reduce_stream(stream: Any) -> tuple[Any, tuple[Any, ...]]:
    std = _std_name(stream)
    if std is not None:
        return std_stream, (std,)
    binary = not isinstance(stream, io.TextIOBase)
    name = getattr(stream, "name", None)
    if getattr(stream, "closed", False) or not isinstance(name, str):
        return closed_stream, (binary,)
    mode = getattr(stream, "mode", "rb" if binary else "r")
    return reopen, (name, mode if isinstance(mode, str) else "r")


def install() -> None:
    """Register the reducers in this process (idempotent)."""
    global _installed
    if _installed:
        return
    # cloudpickle consults its own table first (it copies the content of files open
    # for reading and refuses the others): the same reducers go there too.
    from cloudpickle import cloudpickle as _cloudpickle

    table = getattr(_cloudpickle.Pickler, "_dispatch_table", {})
    for kind in (io.TextIOWrapper, io.BufferedReader, io.BufferedWriter, io.BufferedRandom,
                 io.FileIO):
        copyreg.pickle(kind, _reduce_stream)
        table[kind] = _reduce_stream
    _installed = True
