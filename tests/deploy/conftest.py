"""A remote deployment stack on the real test cluster (sshd on 127.0.0.1:2222 + Slurm).

Every test gets fresh state (SQLite, vault, registry) and a credential authorized on the
``eflows`` login; the environments bootstrapped on the site are kept between tests
(``~eflows/eflows/envs``), as on a real cluster, so the first test pays for them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.deploy import RemoteExecutor
from eflows_kernel.services.executions import Execution, ExecutionStore
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.hpc.connections import ConnectionPool
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.registry import WorkflowRegistry
from tests.services.hpc.test_slurm import slurm_cluster  # noqa: F401 (fixture)
from tests.services.sshd_fixtures import (  # noqa: F401 (fixtures)
    REPO,
    SshdInfo,
    clean_account,
    rotated_host_key,
    sshd,
)

APPS = REPO / "tests" / "apps"


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels and wheelhouses built on this side, shared by the session's tests."""
    return tmp_path_factory.mktemp("eflows-remote-cache")


class RemoteServer(ExecutionsService):
    """What one server builds for remote runs: the executions service over a remote executor.

    ``pool`` and ``_deployments`` look into the executor (its connections, the runs it
    follows), for the tests about sharing connections and about who follows a run.
    """

    def __init__(self, executions: ExecutionStore, registry: WorkflowRegistry,
                 vault: CredentialVault, sites: SiteService, runs_dir: Path,
                 cache: Path) -> None:
        self.remote = RemoteExecutor(executions, registry, sites, runs_dir, cache_dir=cache,
                                     poll_interval=0.5)
        super().__init__(executions, registry, ExecutorRouter(remote=self.remote),
                         credentials=vault.get)

    @property
    def pool(self) -> ConnectionPool:
        return self.remote.pool

    @property
    def _deployments(self) -> dict[str, Any]:
        return self.remote.runs.deployments


@dataclass
class Stack:
    store: StateStore
    registry: WorkflowRegistry
    executions: ExecutionStore
    vault: CredentialVault
    sites: SiteService
    executor: RemoteServer
    runs_dir: Path
    cache: Path
    site: Site
    credential: str
    sshd: SshdInfo

    def new_executor(self) -> RemoteServer:
        """What a restarted server builds: new services on the same state."""
        return RemoteServer(self.executions, self.registry, self.vault, self.sites,
                            self.runs_dir, self.cache)

    def add_site(self, name: str, **config: Any) -> Site:
        site = self.sites.add({"name": name, "host": self.sshd.host, "port": self.sshd.port,
                               "login": self.sshd.login, **config})
        return self.sites.trust(site.id, self.sites.scan(site.id).fingerprint)

    def wait(self, execution_id: str, timeout: float = 180.0) -> Execution:
        execution = self.executor.wait(execution_id, timeout)
        assert execution.finished, (
            f"still {execution.state.value} after {timeout} s: "
            f"{[(c.state.value, c.detail) for c in execution.state_history]}")
        return execution

    def wait_for_state(self, execution_id: str, states: set[str],
                       timeout: float = 120.0) -> Execution:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self.executions.get(execution_id)
            if execution.state.value in states or execution.finished:
                return execution
            time.sleep(0.1)
        raise AssertionError(f"{execution_id} never reached {states}: "
                             f"{self.executions.get(execution_id).state.value}")


@pytest.fixture
def stack(tmp_path: Path, clean_account: SshdInfo, slurm_cluster: str,  # noqa: F811
          wheel_cache: Path) -> Iterator[Stack]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    registry = WorkflowRegistry(store)
    executions = ExecutionStore(store)
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    sites = SiteService(SiteStore(store), vault, timeout=10)
    runs = tmp_path / "runs"
    executor = RemoteServer(executions, registry, vault, sites, runs, wheel_cache)
    site = sites.add({"name": "cluster", "host": clean_account.host,
                      "port": clean_account.port, "login": clean_account.login,
                      "scheduler": "slurm", "python": {"path": "/usr/bin/python3"}})
    site = sites.trust(site.id, sites.scan(site.id).fingerprint)
    credential = vault.generate("deploy-tests").id
    sites.authorize(site.id, credential, password=clean_account.password)
    result = Stack(store, registry, executions, vault, sites, executor, runs, wheel_cache,
                   site, credential, clean_account)
    try:
        yield result
    finally:
        result.executor.shutdown()
        store.close()


@pytest.fixture
def text_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("the quick brown fox\njumps over the lazy dog\n")
    (folder / "b.txt").write_text("The dog sleeps. The fox runs!\n")
    return folder


EXPECTED_COUNTS = {"the": 4, "quick": 1, "brown": 1, "fox": 2, "jumps": 1, "over": 1,
                   "lazy": 1, "dog": 2, "sleeps": 1, "runs": 1}


def wordcount_spec() -> dict[str, Any]:
    """Word count: a local folder of texts staged in, counts.json staged out."""
    return {
        "name": "wordcount",
        "inputs": [{"name": "texts", "type": "path"},
                   {"name": "result", "type": "string", "default": "counts.json",
                    "required": False}],
        "steps": [{"name": "count", "application": str(APPS / "wordcount.py"),
                   "arguments": ["${texts}", "${result}"]}],
        "data_movements": [{"name": "counts", "direction": "out", "kind": "local",
                            "source": "${result}"}],
    }


def sleep_spec() -> dict[str, Any]:
    return {"name": "sleeper",
            "inputs": [{"name": "n", "type": "integer", "default": 2, "required": False},
                       {"name": "seconds", "type": "float", "default": 60,
                        "required": False}],
            "steps": [{"name": "sleep", "application": str(APPS / "parallel_sleep.py"),
                       "arguments": ["${n}", "${seconds}"]}]}


def seqs_are_gap_free(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs


def cleanup_runs(account: SshdInfo) -> None:
    shutil.rmtree(account.home / "eflows" / "runs", ignore_errors=True)
