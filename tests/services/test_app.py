"""The composition root: one place that builds the services, with the shared defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.services.app import Services, ServicesConfig, eflows_data_dir
from eflows_kernel.services.executions.local import RESTART_ERROR, LocalExecutor


def test_defaults_live_in_the_jupyter_data_dir(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    config = ServicesConfig()
    assert eflows_data_dir() == tmp_path / "data" / "eflows"
    assert config.vault_key_path == tmp_path / "data" / "eflows" / "vault.key"
    assert config.runs_path == tmp_path / "data" / "eflows" / "runs"
    assert config.cache_path == tmp_path / "data" / "eflows" / "cache"
    elsewhere = ServicesConfig(runs_dir=tmp_path / "r" / "runs", remote_cache_dir=None)
    assert elsewhere.cache_path == tmp_path / "r" / "cache"
    assert config.executor_classes[0] is LocalExecutor


def test_what_has_side_effects_is_made_on_first_use(tmp_path: Path) -> None:
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs")
    services = Services(config)
    try:
        workflow = services.registry.register_spec({"name": "w", "steps": [
            {"name": "s", "application": "/nowhere.py"}]})
        assert services.executions.list().total == 0
        assert not (tmp_path / "vault.key").exists() and not services.executor_started
        services.start()  # a server starting: the vault is ready, nothing to re-attach
        assert (tmp_path / "vault.key").exists() and not services.executor_started
        assert services.status()["executor_started"] is False
        stale = services.execution_store.create(workflow.id, {}, "local")
        services.execution_store.set_remote_job(stale.id, "local-pid:999999999:0")
        services.execution_store.set_state(stale.id, "running")
    finally:
        services.close()
    restarted = Services(config)
    try:
        restarted.start()  # runs left unfinished: the executors are made and re-attach
        assert restarted.executor_started
        assert restarted.executions.get(stale.id).error == RESTART_ERROR
    finally:
        restarted.close()


def test_the_remote_executor_never_uploads_the_servers_own_secrets(tmp_path: Path) -> None:
    """The composition root hands the deployer every path that must never leave: the
    vault key and state database where the operator put them, and the Jupyter dirs."""
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'db' / 'state.sqlite'}",
                            vault_key_file=tmp_path / "keys" / "vault.key",
                            runs_dir=tmp_path / "runs", allow_private_urls=True)
    services = Services(config)
    try:
        remote = services.executions.router.remote
        assert {tmp_path / "keys" / "vault.key", tmp_path / "db" / "state.sqlite",
                tmp_path / "db" / "state.sqlite-wal", tmp_path / "runs",
                eflows_data_dir().parent, Path.home() / ".ssh"} <= set(remote.protected)
        assert remote.url_policy.allow_private
    finally:
        services.close()
