"""``pycompss.runtime.management.object_tracker.OT``: what PyCOMPSs' tests ask of it.

PyCOMPSs' object tracker is internal, but applications (its own tests among them)
ask it whether an object is still tracked: ``OT.get_object_id(obj)`` (None once the
object is synchronised or deleted) and ``key in OT.pending_to_synchronize``. Both are
answered from the runtime's own tracking; nothing else of PyCOMPSs' tracker exists.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.model.runtime import current_runtime


def _tracked(obj: Any) -> bool:
    runtime = current_runtime()
    return runtime is not None and runtime.tracks_object(obj)


class _PendingToSynchronize:
    """The ids handed out for objects a task still has to produce a version of."""

    def __init__(self, tracker: ObjectTracker) -> None:
        self._tracker = tracker

    def __contains__(self, key: object) -> bool:
        obj = self._tracker._handed.get(key)
        return obj is not None and _tracked(obj)

    def __len__(self) -> int:
        return sum(1 for key in list(self._tracker._handed) if key in self)


class ObjectTracker:
    def __init__(self) -> None:
        self._handed: dict[object, Any] = {}  # id -> object, while it is tracked

    def get_object_id(self, obj: Any, assign_new_key: bool = False,
                      force_insertion: bool = False) -> str | None:
        key = f"eflows-object-{id(obj)}"
        if _tracked(obj):
            self._handed[key] = obj
            return key
        self._handed.pop(key, None)
        return None

    def is_tracked(self, obj: Any) -> bool:
        return _tracked(obj)

    @property
    def pending_to_synchronize(self) -> _PendingToSynchronize:
        self._handed = {k: o for k, o in self._handed.items() if _tracked(o)}
        return _PendingToSynchronize(self)

    def clean_object_tracker(self) -> None:
        self._handed.clear()


OT = ObjectTracker()
