"""What a worker tells about one task attempt besides its state (runs on the worker).

- **Output**: what the task printed to ``sys.stdout`` / ``sys.stderr``. Those streams
  are process-wide and a worker runs several tasks in threads, so a plain redirect
  would mix them: :func:`captured_output` routes the current thread's writes to the
  attempt's buffers (and on to the original stream, so the worker's own log keeps
  them). Only the last :data:`OUTPUT_LIMIT` characters of each stream are kept.
- **Usage**: CPU and memory of the worker process during the attempt, from the
  samples Dask's system monitor takes (every 0.5 s by default); an attempt shorter
  than one interval gets the latest sample.
- **Name**: the worker as people call it, ``host/name``, next to the address the
  engine needs to reach it.

The engine copies these fields into the task events (``DETAIL_FIELDS``), so the live
graph and every reader of the event log, local or remote, can show them.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

#: Characters of each stream kept per attempt (the end: where errors are).
OUTPUT_LIMIT = 16_384
#: Report fields the engine copies into the task event as they are.
DETAIL_FIELDS = ("worker_name", "stdout", "stderr", "usage")

_routes: dict[int, tuple[_Tail, _Tail]] = {}  # thread id -> (stdout, stderr) of its attempt
_install_lock = threading.Lock()


class _Tail:
    """The last ``limit`` characters written, and how many came before them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > 2 * self.limit:
            self._trim()

    def _trim(self) -> None:
        text = "".join(self.parts)
        cut = max(0, len(text) - self.limit)
        self.dropped += cut
        self.parts, self.size = [text[cut:]], len(text) - cut

    def text(self) -> str:
        self._trim()
        body = "".join(self.parts)
        if self.dropped:
            return f"[... {self.dropped} earlier characters not kept]\n{body}"
        return body


class _RoutedStream(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr``: each thread's writes also go to the
    attempt it runs, if any."""

    def __init__(self, original: Any, index: int) -> None:
        self.original = original
        self.index = index  # 0 stdout, 1 stderr

    def write(self, text: str) -> int:
        route = _routes.get(threading.get_ident())
        if route is not None:
            route[self.index].write(text)
        return self.original.write(text)

    def flush(self) -> None:
        self.original.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.original, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        if name == "original":  # a copy or unpickling made without __init__: no loop
            raise AttributeError(name)
        return getattr(self.original, name)


def _install() -> None:
    """Route ``sys.stdout``/``sys.stderr`` (again if someone replaced them since)."""
    with _install_lock:
        if not isinstance(sys.stdout, _RoutedStream):
            sys.stdout = _RoutedStream(sys.stdout, 0)
        if not isinstance(sys.stderr, _RoutedStream):
            sys.stderr = _RoutedStream(sys.stderr, 1)


class CapturedOutput:
    """What one attempt printed: ``stdout`` and ``stderr`` once the attempt is over."""

    def __init__(self, limit: int) -> None:
        self._streams = (_Tail(limit), _Tail(limit))
        self.stdout = ""
        self.stderr = ""

    def _close(self) -> None:
        self.stdout, self.stderr = (s.text() for s in self._streams)

    def fields(self) -> dict[str, str]:
        """The non-empty streams, as report fields."""
        return {k: v for k, v in (("stdout", self.stdout), ("stderr", self.stderr)) if v}


@contextlib.contextmanager
def captured_output(limit: int = OUTPUT_LIMIT) -> Iterator[CapturedOutput]:
    """Capture what the current thread prints while the block runs."""
    _install()
    output = CapturedOutput(limit)
    thread = threading.get_ident()
    _routes[thread] = output._streams
    try:
        yield output
    finally:
        _routes.pop(thread, None)
        output._close()


def worker_name(worker: Any) -> str:
    """``host/name`` of a Dask worker (its port when it has no name of its own)."""
    host = socket.gethostname()
    name = getattr(worker, "name", None)
    address = str(getattr(worker, "address", "") or "")
    if name is None or str(name) == address:
        return f"{host}/{address.rsplit(':', 1)[-1]}" if address else host
    return f"{host}/{name}"


def worker_usage(worker: Any, started: float, ended: float) -> dict[str, float] | None:
    """CPU (percent of one core: mean and max) and memory (bytes, max) of the worker
    process over ``[started, ended]``; None without a system monitor."""
    monitor = getattr(worker, "monitor", None)
    quantities = getattr(monitor, "quantities", None)
    if not quantities:
        return None
    try:
        times = list(quantities["time"])
        cpu = list(quantities["cpu"])
        memory = list(quantities["memory"])
    except (KeyError, RuntimeError):  # RuntimeError: a deque changed while copied
        return None
    n = min(len(times), len(cpu), len(memory))
    if n == 0:
        return None
    inside = [i for i in range(n) if started <= times[i] <= ended] or [n - 1]
    cpus = [float(cpu[i]) for i in inside]
    return {"cpu_mean": round(sum(cpus) / len(cpus), 1), "cpu_max": round(max(cpus), 1),
            "memory_max": float(max(memory[i] for i in inside)), "samples": float(len(inside))}


__all__ = ["DETAIL_FIELDS", "OUTPUT_LIMIT", "CapturedOutput", "captured_output",
           "worker_name", "worker_usage"]
