"""How a stream request reaches the stream server, wherever the caller runs.

- in a task on a Dask worker: through the worker's own connection to the scheduler;
- in the main program of a run (``eflows-run``, a notebook after ``start()``): through
  the engine's client;
- with no engine at all (``python app.py``, where tasks are plain calls): an
  in-process registry, since producer and consumer then run one after the other in
  this process.

The scheduler gets the :class:`~.server.StreamServer` plugin the first time a
process needs it.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.model.runtime import current_runtime
from eflows_kernel.streams.server import HANDLER, StreamRegistry, StreamServer

_LOCAL = StreamRegistry()
_READY: set[int] = set()  # ids of the clients whose scheduler has the stream server


class StreamRequestError(RuntimeError):
    """The stream server refused a request (message says why)."""


def _worker() -> Any:
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _ensure_server(client: Any) -> None:
    if id(client) not in _READY:
        client.register_plugin(StreamServer())
        _READY.add(id(client))


def _runtime_client() -> Any:
    """The Dask client of this process's runtime (the main program's), or None."""
    runtime = current_runtime()
    return getattr(runtime, "client", None) if runtime is not None else None


def current_run() -> str | None:
    """The run a stream created here belongs to (aliases are unique per run)."""
    runtime = current_runtime()
    return getattr(runtime, "run_id", None) if runtime is not None else None


def request(action: str, wait: float = 0.0, **fields: Any) -> dict[str, Any]:
    """Send one request; returns the server's answer or raises StreamRequestError."""
    answer = _send(action, fields, wait)
    if answer is None:  # the scheduler had no stream server yet (registered by a worker)
        _register_from_anywhere()
        answer = _send(action, fields, wait)
    if answer is None:
        raise StreamRequestError("the Dask scheduler has no stream server")
    if "error" in answer:
        raise StreamRequestError(answer["error"])
    return answer


def _send(action: str, fields: dict[str, Any], wait: float) -> dict[str, Any] | None:
    worker = _worker()
    if worker is not None:
        from distributed.utils import sync

        rpc = getattr(worker.scheduler, HANDLER)
        return sync(worker.loop, rpc, action=action, fields=fields, wait=wait)
    client = _runtime_client()
    if client is None:
        return _LOCAL.handle(action, fields)
    _ensure_server(client)
    rpc = getattr(client.scheduler, HANDLER)
    return client.sync(rpc, action=action, fields=fields, wait=wait)


def _register_from_anywhere() -> None:
    worker = _worker()
    if worker is not None:
        from distributed import get_client

        client = get_client()
    else:
        client = _runtime_client()
        if client is None:
            return
    _READY.discard(id(client))
    _ensure_server(client)
