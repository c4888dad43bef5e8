"""Movement steps of the local site: a job's data-service movements when this host runs it.

Why the same code as on a site: a stage-in or stage-out on the local site needs every
guarantee it has on a cluster (``.part`` until the sha256 checks, resume from the spool,
progress events, cancel, a failure that cancels the job, its own step). So it is
:class:`~eflows_kernel.services.deploy.movement_steps.MovementSteps` on this host's own
shell (:class:`~eflows_kernel.services.hpc.local_shell.LocalShell`, the ``SSHClient``
surface done with local processes), as copy steps treat the local site
(``site_copies.py``). What differs is where things are: a stage-in lands in
``<runs_dir>/<movement id>/data`` (beside the step's own event log and spool, which
the job must not get), which the local executor hard-links into the job's run
directory ``<runs_dir>/<job id>`` before the job starts
(``executions/staged_data.py``); a stage-out reads the job's run directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.services.deploy.movement_steps import MovementSteps, _Session
from eflows_kernel.services.deploy.pipeline import stage
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.hpc.local_shell import LocalShell, local_login
from eflows_kernel.services.hpc.transfer import UrlPolicy
from eflows_kernel.services.transfers import DataLogistics

DATA_FOLDER = "data"  # in a local movement step's run folder: what it brought


class _LocalConnection:
    """What a movement asks of a site's pooled connection, for this host: a fresh
    shell of its own per movement (closed to stop a transfer mid-file), never a prompt."""

    asks_user = False

    def fresh(self) -> LocalShell:
        return LocalShell()

    get = fresh

    def drop(self) -> None:
        """Nothing pooled to forget."""


class LocalMovementSteps(MovementSteps):
    """The movement steps of the local executor (the graph's ``StepMover`` there)."""

    def __init__(self, store: ExecutionStore, runs_dir: Path,
                 logistics: DataLogistics | None, url_policy: UrlPolicy | None,
                 protected: Sequence[Path] = ()) -> None:
        super().__init__(store, None, runs_dir, self._no_site,  # type: ignore[arg-type]
                         logistics, url_policy, protected)

    @staticmethod
    def _no_site(*_args: object) -> Any:
        raise AssertionError("the local site has no configured site to connect to")

    def _open(self, execution: Execution, events: Any, answers: dict[str, str]) -> _Session:
        stage(events, "connect", "running", f"{local_login()}@this host (site local)")
        return _Session(_LocalConnection())  # type: ignore[arg-type]

    def _run_dir(self, execution: Execution, client: Any) -> str:
        return str(self.runs_dir / execution.id / DATA_FOLDER)


__all__ = ["DATA_FOLDER", "LocalMovementSteps"]
