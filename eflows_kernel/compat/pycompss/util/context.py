"""``pycompss.util.context``: is this code running in the main program or in a task?

Under ``eflows-run`` (or after ``eflows_kernel.start()``) the main program is the
*master*; a task body running on a Dask worker is in the *worker*; a plain ``python
app.py`` run is outside PyCOMPSs. Both the modern ``CONTEXT`` object and the older
module functions are offered, as applications use both.
"""

from __future__ import annotations

from eflows_kernel.model.runtime import current_runtime, in_task_worker

MASTER = "MASTER"
WORKER = "WORKER"
OUT_OF_SCOPE = "OUT_OF_SCOPE"


def _where() -> str:
    if in_task_worker():
        return WORKER
    return MASTER if current_runtime() is not None else OUT_OF_SCOPE


class Context:
    """PyCOMPSs' ``CONTEXT``: answers from where the calling code runs."""

    def in_master(self) -> bool:
        return _where() == MASTER

    def in_worker(self) -> bool:
        return _where() == WORKER

    def in_pycompss(self) -> bool:
        return _where() != OUT_OF_SCOPE

    def is_nesting_enabled(self) -> bool:
        return False

    def get_who_contextualized(self) -> str:
        return "eflows_kernel"

    def who_contextualized(self) -> str:
        return "eflows_kernel"

    def set_master(self) -> None:
        """Kept for compatibility: the context follows the engine here."""

    def set_worker(self) -> None:
        """Kept for compatibility: the context follows the engine here."""

    def set_out_of_scope(self) -> None:
        """Kept for compatibility: the context follows the engine here."""


CONTEXT = Context()


def in_master() -> bool:
    return CONTEXT.in_master()


def in_worker() -> bool:
    return CONTEXT.in_worker()


def in_pycompss() -> bool:
    return CONTEXT.in_pycompss()
