"""The remote stack the deployment tests drive, and the workflows they deploy (helpers).

The fixtures that build it are in ``conftest.py``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eflows_kernel.events import read_events
from eflows_kernel.services.credentials import CredentialVault
from eflows_kernel.services.deploy import RemoteExecutor
from eflows_kernel.services.deploy.site_copies import SiteCopies
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions import Execution, ExecutionState, ExecutionStore
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.hpc.connections import ConnectionPool
from eflows_kernel.services.hpc.transfer import UrlPolicy
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import DataLogistics, TransfersService
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry
from tests.plugins.cluster import REPO, SshdInfo

APPS = REPO / "tests" / "apps"


class RemoteServer(ExecutionsService):
    """What one server builds for remote runs: the executions service over a remote executor.

    ``pool`` and ``_deployments`` look into the executor (its connections, the runs it
    follows), for the tests about sharing connections and about who follows a run.
    """

    def __init__(self, executions: ExecutionStore, registry: WorkflowRegistry,
                 vault: CredentialVault, sites: SiteService, runs_dir: Path,
                 cache: Path, protected: tuple[Path, ...] = (),
                 logistics: DataLogistics | None = None,
                 allow_private_urls: bool = False) -> None:
        self.remote = RemoteExecutor(executions, registry, sites, runs_dir, cache_dir=cache,
                                     poll_interval=0.2, protected=protected,
                                     allow_private_urls=allow_private_urls,
                                     logistics=logistics)
        copies = SiteCopies(executions, lambda: sites, runs_dir)
        super().__init__(executions, registry, ExecutorRouter(remote=self.remote),
                         credentials=vault.get, runs_dir=runs_dir, copier=lambda: copies)

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

    def add_login_site(self, name: str, login: str, workdir: str | None = None,
                       **config: Any) -> Site:
        """A Slurm site for another login of the test sshd (its own home, no file of the
        other seen), host key trusted and the stack's credential authorized there."""
        site = self.add_site(name, login=login, scheduler="slurm",
                             python={"path": "/usr/bin/python3"},
                             **({"workdir": workdir} if workdir else {}), **config)
        self.sites.authorize(site.id, self.credential, password=self.sshd.password)
        return site

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


def local_site_config(workdir: Path, **config: Any) -> dict[str, Any]:
    """This host's Slurm as a site: sbatch, squeue and files here, the server's Python."""
    return {"name": "centre", "connection": "local", "scheduler": "slurm",
            "workdir": str(workdir), "python": {"mode": "existing", "path": sys.executable},
            **config}


def seqs_are_gap_free(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs


def cleanup_runs(account: SshdInfo) -> None:
    shutil.rmtree(account.home / "eflows" / "runs", ignore_errors=True)

def run_registered(stack: Stack, workflow: Workflow, inputs: dict[str, Any],
                   site: str | dict[str, str] = "cluster") -> tuple[Execution, dict[str, str]]:
    """Register ``workflow``, trigger it on ``site`` and wait: its final record (done, or
    the test fails showing every step's log) and each step's log ("" for a single step)."""
    registered = stack.registry.register(workflow)
    execution = stack.executor.submit(registered.id, inputs, site, stack.credential)
    final = stack.wait(execution.id, 600)
    logs = {s.name: _step_log(stack, execution.id, s.name)
            for s in stack.executor.steps(execution.id)} if final.step_sites else {
        "": stack.executor.logs(execution.id)[0]}
    assert final.state == ExecutionState.DONE, f"{final.error}\n{logs}"
    seqs_are_gap_free(read_events(final.event_log))
    return final, logs



def _step_log(stack: Stack, execution_id: str, step: str) -> str:
    """A step's log, or why there is none (a step a failure cancelled never started):
    a failed run's test then shows every step instead of failing on the first missing."""
    try:
        return stack.executor.logs(execution_id, step=step)[0]
    except ValidationError as error:
        return f"(no log: {error})"


def step_result(stack: Stack, execution_id: str, step: str) -> dict[str, Any]:
    """The ``RESULT {json}`` line a step's program printed (tests/apps/where_tasks_run.py)."""
    text = stack.executor.logs(execution_id, step=step)[0]
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, text
    return json.loads(line[len("RESULT "):])


@contextmanager
def serving_data_logistics(stack: Stack, logins: Any,
                           image_store: str | None) -> Iterator[TransfersService]:
    """The stack's executor replaced by one doing data movements through the data-service
    ``logins`` (and reading images from ``image_store``), its transfers service running.

    The loopback servers stand for data servers on the centre's network, which the
    operator allows (every request of the relays is still checked against the policy).
    """
    policy = UrlPolicy(allow_private=True)
    transfers = TransfersService(stack.store, lambda: logins, lambda: stack.sites,
                                 url_policy=policy)
    logistics = DataLogistics(lambda: logins, stack.runs_dir, image_store, transfers, policy)
    stack.executor.shutdown()
    stack.executor = RemoteServer(stack.executions, stack.registry, stack.vault, stack.sites,
                                  stack.runs_dir, stack.cache, logistics=logistics,
                                  allow_private_urls=True)
    transfers.start()
    try:
        yield transfers
    finally:
        transfers.stop()
