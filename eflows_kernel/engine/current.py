"""The process-wide current engine, which the PyCOMPSs API functions talk to."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eflows_kernel.engine.engine import Engine

_current: Engine | None = None
_lock = threading.Lock()


def current_engine() -> Engine | None:
    return _current


def set_current_engine(engine: Engine | None) -> None:
    global _current
    with _lock:
        _current = engine
