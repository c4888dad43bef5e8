"""Pytest plugin: a real Jupyter server with the extension, its state in a temporary folder.

Registered by the root conftest: ``jp_server_config`` (pytest-jupyter's) enables the
extension on a fresh state per test and a wheel cache for remote sites shared by the
whole session; no ``EFLOWS_*`` variable of the caller's reaches a test, or outlives one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

EFLOWS_ENV_VARS = ("EFLOWS_URL", "EFLOWS_TOKEN", "EFLOWS_CONFIG", "EFLOWS_STATE_URL",
                   "EFLOWS_VAULT_KEY")


@pytest.fixture(autouse=True)
def _no_eflows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # setenv-then-delenv, not delenv alone: monkeypatch only restores a variable it saw
    # set, and the server under test exports EFLOWS_URL/TOKEN for its kernels; this
    # way they are removed after the test, so no later test reaches a dead server.
    for name in EFLOWS_ENV_VARS:
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)


@pytest.fixture
def eflows_dir(tmp_path: Path) -> Path:
    path = tmp_path / "eflows-state"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels and wheelhouses for remote sites, built once per session and shared by the
    test servers and the deployment tests (each test has its own state)."""
    return tmp_path_factory.mktemp("eflows-remote-cache")


@pytest.fixture
def jp_server_config(eflows_dir: Path, wheel_cache: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"eflows_extension": True}},
        "EflowsExtensionApp": {
            "state_url": f"sqlite:///{eflows_dir / 'state.sqlite'}",
            "vault_key_file": str(eflows_dir / "vault.key"),
            "runs_dir": str(eflows_dir / "runs"),
            "local_workers": 1,
            "remote_cache_dir": str(wheel_cache),
            "job_poll_interval": 0.2,
        },
    }
