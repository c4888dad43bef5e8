"""Keep full garbage collections short while a run holds many long-lived objects.

A run of 20,000 tasks keeps, in the kernel, the engine's task records, Dask's futures and
(with a LocalCluster) the scheduler's own task states: millions of objects that live as
long as the run. CPython's full (generation 2) collection walks all of them each time the
heap has grown by a quarter, and under the GIL that stops everything else for 0.6-1.3 s:
the scheduler learns late that tasks ended, so every view of the run lags by as much.

After each full collection the objects that survived it are moved to the permanent
generation (``gc.freeze()``): they are no longer walked, only what was created since is.
Reference counting still frees frozen objects; only *cyclic* garbage among them waits for
the run to end, when they are unfrozen and collected as usual. One policy per process: the
collector is process-wide, so the first engine that starts installs it and the last one
that stops removes it. ``EFLOWS_GC_FREEZE=0`` turns it off.
"""

from __future__ import annotations

import gc
import os
import threading
from typing import Any

_lock = threading.Lock()
_users = 0


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def enabled() -> bool:
    """Whether runs freeze their survivors (on unless ``EFLOWS_GC_FREEZE`` says 0/false)."""
    return os.environ.get("EFLOWS_GC_FREEZE", "1").strip().lower() not in ("0", "false", "no")


def hold() -> bool:
    """A run starts: install the policy if it is the first one. Returns whether it held."""
    global _users
    if not enabled():
        return False
    with _lock:
        _users += 1
        if _users == 1 and _freeze_survivors not in gc.callbacks:
            gc.callbacks.append(_freeze_survivors)
    return True


def release() -> None:
    """A run ended: when it was the last, give the frozen objects back to the collector
    (the cyclic garbage among them is collected by the next full collection)."""
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users:
            return
        if _freeze_survivors in gc.callbacks:
            gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
