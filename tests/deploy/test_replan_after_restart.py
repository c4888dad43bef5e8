"""A job step of a graph on two sites, re-attached by a restarted server (no cluster).

The remote executor re-plans the step it re-attaches to. Planned alone on its own site
(one site, no places), a DLS ``SSH2SSH`` copy whose hosts name the two sites is refused
(``plan_copies.py:_copy_site``: a host of no bound site), so the re-attach failed; an
image transfer that went to the other site (``movement_sites.py``) was planned onto the
job's site, so a job deployed again would link the image's folder, on the other site,
into its run directory. The re-plan now is its graph's: the sites bound at trigger
(``Execution.site_binding``) and their places. The services run on a real state with
two configured sites; only the threads that would log in to them are replaced by
recorders (the real restart on the cluster: test_step_graphs.py).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.deploy import RemoteExecutor
from eflows_kernel.services.deploy.movement_steps import MovementSteps
from eflows_kernel.services.deploy.runs import RemoteRuns
from eflows_kernel.services.executions import Execution, ExecutionState, ExecutionStore
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.hpc.ssh import HostKey
from eflows_kernel.services.sites import SiteService
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import workflow_from_spec
from eflows_kernel.services.workflows.registry import WorkflowRegistry

SITES = {"hpc1": "login1.example.org", "hpc2": "login2.example.org"}


@dataclass
class State:
    store: StateStore
    executions: ExecutionStore
    registry: WorkflowRegistry
    vault: CredentialVault
    sites: SiteService
    runs_dir: Path
    credential: str

    def services(self) -> ExecutionsService:
        """What a (re)started server builds on this state."""
        remote = RemoteExecutor(self.executions, self.registry, self.sites, self.runs_dir,
                                cache_dir=self.runs_dir.parent / "cache", poll_interval=0.2)
        return ExecutionsService(self.executions, self.registry, ExecutorRouter(remote=remote),
                                 credentials=self.vault.get, runs_dir=self.runs_dir)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(execution id, what its thread would do) for every deployment and movement
    started: none logs in to the (unreachable) sites."""
    calls: list[tuple[str, str]] = []

    def start(runs: RemoteRuns, dep: Any, target: Any, *args: Any) -> None:
        calls.append((dep.execution_id, target.__name__))

    def move(movements: MovementSteps, execution: Execution, *args: Any, **kw: Any) -> None:
        calls.append((execution.id, "move"))

    monkeypatch.setattr(RemoteRuns, "start", start)
    monkeypatch.setattr(MovementSteps, "start", move)
    monkeypatch.setattr(MovementSteps, "check", lambda *args: None)
    return calls


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    sites = SiteService(SiteStore(store), vault, timeout=1)
    key = HostKey.from_dict({"type": "ssh-ed25519",
                             "base64": base64.b64encode(b"not a real key").decode()})
    for name, host in SITES.items():  # configured and trusted; nothing listens there
        site = sites.add({"name": name, "host": host, "login": "u", "scheduler": "slurm"})
        sites.repository.update(site.id, host_key=key.to_dict())
    try:
        yield State(store, ExecutionStore(store), WorkflowRegistry(store), vault, sites,
                    tmp_path / "runs", vault.generate("replan").id)
    finally:
        store.close()


def wait_for_step(services: ExecutionsService, graph: str, name: str,
                  started: list[tuple[str, str]], doing: str) -> Execution:
    """Step ``name``'s record, once its deployment or movement started ``doing``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [c for c in services.store.steps(graph) if c.step == name]
        if found and (found[0].id, doing) in started:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"step {name} of {graph} never started to {doing}")


def submitted(state: State, spec: dict[str, Any], binding: dict[str, str],
              **login: Any) -> tuple[ExecutionsService, Execution]:
    """A server on ``state`` and the graph of ``spec`` it was given, its roles bound to
    ``binding`` (with the test's credential unless ``login`` says how to log in)."""
    first = state.services()
    workflow = state.registry.register(workflow_from_spec(spec))
    login = login or {"credential_id": state.credential}
    return first, first.submit(workflow.id, {}, binding, **login)


@contextmanager
def restarted(state: State, first: ExecutionsService) -> Iterator[ExecutionsService]:
    """The server stops (its runs go on) and a new one starts on the same state, which
    re-attaches as it starts; it stops when the block ends."""
    first.shutdown()
    second = state.services()
    second.router  # noqa: B018 - the new server re-attaches as it starts
    try:
        yield second
    finally:
        second.shutdown()


def running_job(first: ExecutionsService, graph: Execution, name: str,
                started: list[tuple[str, str]]) -> Execution:
    """Step ``name`` of ``graph`` once deployed, recorded as submitted and running."""
    step = wait_for_step(first, graph.id, name, started, "deploy")
    first.store.set_remote_job(step.id, "4242")
    return first.store.set_state(step.id, ExecutionState.RUNNING, "job 4242")


# feature_extraction_wf 0.2.0's shape: a job on each role, the DLS SSH2SSH copy between
# them naming both clusters' hosts, as a registry topology with fixed hosts does.
COPY = {"name": "copy-between-hosts",
        "inputs": [{"name": "out", "default": "model/output"},
                   {"name": "into", "default": "features/input"}],
        "steps": [{"name": "Model", "application": "/apps/model.py",
                   "environment": "Source"},
                  {"name": "Features", "application": "/apps/features.py",
                   "environment": "Target", "depends_on": ["Model"]}],
        "site_copies": [{"name": "Copy", "source_environment": "Source",
                         "environment": "Target", "source_path": "${out}",
                         "target_path": "${into}", "source_host": SITES["hpc1"],
                         "target_host": SITES["hpc2"], "depends_on": ["Model"]}]}


def test_a_running_step_of_a_graph_with_a_copy_between_two_hosts_is_re_attached(
        state: State, started: list[tuple[str, str]]) -> None:
    first, graph = submitted(state, COPY, {"Source": "hpc1", "Target": "hpc2"})
    assert graph.step_sites == {"Model": "hpc1", "Model->hpc2": "hpc2",
                                "Features": "hpc2"}
    model = running_job(first, graph, "Model", started)  # it runs on hpc1
    with restarted(state, first) as second:
        model = state.executions.get(model.id)
        assert model.state == ExecutionState.RUNNING, model.error  # not "re-attach failed"
        assert (model.id, "reattach") in started
        assert model.id in second.router.remote.runs.deployments
        assert state.executions.get(graph.id).state == ExecutionState.RUNNING


def test_a_graph_whose_login_asks_for_a_password_is_planned_again_with_its_places(
        state: State, started: list[tuple[str, str]]) -> None:
    # Triggered with a password, no credential: after the restart no session is open, and
    # a re-plan that asked whether one can log in now knew neither site's host.
    first, graph = submitted(state, COPY, {"Source": "hpc1", "Target": "hpc2"},
                             credential_id=None, password="not stored")
    model = running_job(first, graph, "Model", started)
    with restarted(state, first) as second:
        model = state.executions.get(model.id)
        assert model.state == ExecutionState.RUNNING, model.error  # not "re-attach failed"
        assert model.id in second.router.remote.runs.deployments
        recorded = state.executions.get(graph.id)
        assert recorded.state == ExecutionState.RUNNING, recorded.error


# minimal_workflow.parallel's shape: a job's image transfer to the other cluster's host.
IMAGE = {"name": "image-elsewhere",
         "steps": [{"name": "near", "application": "/apps/near.py", "environment": "Near"},
                   {"name": "far", "application": "/apps/far.py", "environment": "Far"}],
         "data_movements": [
             {"name": "own_image", "direction": "in", "kind": "image", "source": "w/s",
              "target": "/images", "environment": "Near",
              "options": {"target_host": SITES["hpc1"]}},
             {"name": "sent_far", "direction": "in", "kind": "image", "source": "w/s",
              "target": "/images", "environment": "Near",
              "options": {"target_host": SITES["hpc2"]}}]}


def test_a_job_deployed_again_links_only_the_stage_ins_that_came_to_its_site(
        state: State, started: list[tuple[str, str]]) -> None:
    first, graph = submitted(state, IMAGE, {"Near": "hpc1", "Far": "hpc2"})
    assert graph.step_sites == {"near:in:own_image": "hpc1", "near:in:sent_far": "hpc2",
                                "near": "hpc1", "far": "hpc2"}
    for name in ("near:in:own_image", "near:in:sent_far"):  # both images arrived
        moved = wait_for_step(first, graph.id, name, started, "move")
        state.executions.set_state(moved.id, ExecutionState.DONE, "moved")
    near = wait_for_step(first, graph.id, "near", started, "deploy")
    own = [c for c in state.executions.steps(graph.id) if c.step == "near:in:own_image"]
    linked = (str(state.runs_dir / own[0].id),)  # (where a local test's step_dir is)
    assert first.router.remote.runs.deployments[near.id].links == linked
    # The server restarts before the job is submitted: it is deployed again.
    with restarted(state, first) as second:
        near = state.executions.get(near.id)
        assert not near.finished, near.error
        assert started.count((near.id, "deploy")) == 2
        assert second.router.remote.runs.deployments[near.id].links == linked
