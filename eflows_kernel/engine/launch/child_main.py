"""A task's Python body in a process of its own: ``python child_main.py PAYLOAD``.

Used for Python MPI tasks (every rank runs the body, with its share of the collections
that have a layout), @multinode bodies (their environment is the task's) and Python
bodies inside a container. Run by path, so that starting it imports nothing but the
standard library and cloudpickle (inside a container, the worker's Python paths come
in ``EFLOWS_HOST_PATHS`` and go after the image's own). Each process writes
``PAYLOAD.result`` (``.result.<rank>`` for MPI): ``(ok, value, written, traceback)``.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any


def main(payload_path: str) -> int:
    extra = [p for p in os.environ.get("EFLOWS_HOST_PATHS", "").split(os.pathsep) if p]
    sys.path.extend(p for p in extra if p not in sys.path)
    try:
        from eflows_kernel.compat import install_pycompss_shim

        install_pycompss_shim()  # task modules import pycompss.api.*
    except ImportError:
        pass
    import cloudpickle

    with open(payload_path, "rb") as handle:
        payload = cloudpickle.load(handle)
    rank, size = 0, 1
    result_path = payload_path + ".result"
    if payload["mode"] == "mpi":
        from mpi4py import MPI

        rank, size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
        result_path += f".{rank}"
    args, kwargs = list(payload["args"]), dict(payload["kwargs"])
    for (kind, key), layout in payload.get("layouts", {}).items():
        container: Any = args if kind == "a" else kwargs
        container[key] = _my_share(container[key], layout, rank, size)
    try:
        value = payload["func"](*args, **kwargs)
        written = {f"{kind}:{key}": (args[key] if kind == "a" else kwargs[key])
                   for kind, key in payload.get("updates", ())}
        outcome = (True, value, written, "")
    except BaseException as exc:  # the task's failure is reported, not fatal here
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # the task's frames
        outcome = (False, exc, {}, "".join(traceback.format_exception(type(exc), exc, tb)))
    try:
        data = cloudpickle.dumps(outcome)
    except Exception as exc:  # an unpicklable result or exception: say what it was
        text = outcome[3] or f"{type(outcome[1]).__name__}: {outcome[1]}"
        data = cloudpickle.dumps((False, RuntimeError(
            f"the task's {'result' if outcome[0] else 'exception'} cannot be sent back "
            f"({exc}):\n{text}"), {}, text))
    with open(result_path + ".tmp", "wb") as handle:
        handle.write(data)
    os.replace(result_path + ".tmp", result_path)
    sys.stdout.flush()
    return 0 if outcome[0] else 1


def _my_share(collection: Any, layout: tuple[int, int, int], rank: int, size: int) -> Any:
    """The elements of a collection this rank gets (PyCOMPSs' rank_distributor): one
    block per rank when there are as many blocks as ranks, else blocks round-robin; a
    single element is given as itself."""
    block_count, block_length, stride = layout
    block_count = size if block_count == -1 else block_count
    block_length = 1 if block_length == -1 else block_length
    stride = 1 if stride == -1 else stride
    if block_count == size:
        offsets = list(range(rank * stride, rank * stride + block_length))
    else:
        offsets = []
        for block in range(rank, block_count, size):
            offsets.extend(range(block * stride, block * stride + block_length))
    items = list(collection)
    share = [items[i] for i in offsets if i < len(items)]
    return share[0] if len(share) == 1 else share


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
