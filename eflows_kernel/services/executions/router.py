"""One executor interface for every site: ``local`` runs here, the others are deployed."""

from __future__ import annotations

from typing import Any

from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.sites.config import LOCAL_SITE


class ExecutorRouter:
    """Sends each call to the local or the remote executor, by the execution's site."""

    def __init__(self, executions: ExecutionStore, local: Any, remote: Any) -> None:
        self.executions = executions
        self.local = local
        self.remote = remote

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local={self.local!r}, remote={self.remote!r})"

    def _for(self, execution_id: str) -> Any:
        site = self.executions.get(execution_id).site
        return self.local if site == LOCAL_SITE else self.remote

    def submit(self, workflow_id: str, inputs: dict[str, Any], site: str = LOCAL_SITE,
               credential_id: str | None = None, login: str | None = None,
               **answers: str | None) -> Execution:
        """``answers``: ``password`` / ``one_time_code`` for a site login that asks."""
        if site == LOCAL_SITE:
            return self.local.submit(workflow_id, inputs, credential_id=credential_id,
                                     login=login)
        return self.remote.submit(workflow_id, inputs, site, credential_id=credential_id,
                                  login=login, **answers)

    def cancel(self, execution_id: str) -> Execution:
        return self._for(execution_id).cancel(execution_id)

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None) -> tuple[str, int]:
        return self._for(execution_id).logs(execution_id, offset=offset, size=size)

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        return self._for(execution_id).events(execution_id, from_seq=from_seq)

    def wait(self, execution_id: str, timeout: float) -> Execution:
        return self._for(execution_id).wait(execution_id, timeout)

    def recover(self) -> None:
        self.local.recover()
        self.remote.recover()

    def shutdown(self, timeout: float | None = None) -> None:
        self.local.shutdown(timeout)
        self.remote.shutdown(timeout)
