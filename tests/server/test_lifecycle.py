"""Server start and stop: unfinished local executions are recovered, services closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.registry import WorkflowRegistry


@pytest.fixture
def orphan(eflows_dir: Path) -> str:
    """An execution a previous server left 'running' (its process is long gone)."""
    store = StateStore(f"sqlite:///{eflows_dir / 'state.sqlite'}")
    try:
        workflow = WorkflowRegistry(store).register_spec({"name": "old"})
        executions = ExecutionStore(store)
        execution = executions.create(workflow.id, {}, "local")
        executions.set_remote_job(execution.id, "local-pid:999999999:0")
        executions.set_state(execution.id, "running")
        return execution.id
    finally:
        store.close()


async def test_start_recovers_unfinished_local_executions(orphan: str, api: Any) -> None:
    code, _, body = await api("GET", f"eflows/api/executions/{orphan}")
    assert code == 200 and body["state"] == "failed" and body["error"]
    code, _, status = await api("GET", "eflows/api/status")
    assert status["executor_started"] is True
    code, _, body = await api("GET", f"eflows/hpcwaas/executions/{orphan}")
    assert body == {"id": orphan, "status": "FAILED", "outputs": {}}


async def test_executor_is_created_lazily_and_services_closed_on_stop(
        api: Any, jp_serverapp: Any) -> None:
    _, _, status = await api("GET", "eflows/api/status")
    assert status["executor_started"] is False
    services = jp_serverapp.web_app.settings["eflows"]
    assert services.store.url.endswith("state.sqlite")
    apps = jp_serverapp.extension_manager.extension_apps["eflows_extension"]
    assert len(apps) == 1
    for ext in apps:
        assert ext.settings["eflows"] is services
        await ext.stop_extension()
        assert "eflows" not in ext.settings
        await ext.stop_extension()  # stopping twice is harmless
