"""The run files of every step of a step graph, each read on its own site with its own
credential: listed together by step, one step's listed or opened by name, the local
folders too; a step that never started, whose site is gone or cannot be reached says so
and the others are listed all the same. Paths stay confined to the step's folder.

The sites are this host (``connection: local``) with a work directory each, so the
listing is read through the same SFTP calls as on a cluster, without sshd (the e2e test
``tests/deploy/test_step_files.py`` does it on two logins of the real one).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.deploy.site_run_files import (
    LISTED,
    NO_FOLDER,
    NOT_STARTED,
    SITE_GONE,
    UNREACHABLE,
    SiteRunFiles,
)
from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.executions.run_files import RunFiles
from eflows_kernel.services.sites import SiteService
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry

STEPS = {"make": "front", "read": "back", "here": "local", "lost": "old",
         "barred": "refused", "empty": "back", "later": "back"}


class World:
    def __init__(self, tmp_path: Path, state: StateStore) -> None:
        self.executions = ExecutionStore(state)
        self.vault = CredentialVault(SqlCredentialRepository(state), master_key=os.urandom(32))
        self.sites = SiteService(SiteStore(state), self.vault, timeout=5)
        self.runs_dir = tmp_path / "runs"
        self.local = RunFiles(self.executions, self.runs_dir)
        self.files = SiteRunFiles(self.executions, self.sites, self.local)
        self.workdirs: dict[str, Path] = {}
        for name in ("front", "back", "old"):
            self.workdirs[name] = tmp_path / name
            self.sites.add(site_config(name, tmp_path / name))
        self.sites.add(site_config("refused", tmp_path / "refused", login="not-the-server"))
        self.workflow = WorkflowRegistry(state).register(Workflow(name="steps"))
        self.connected: list[tuple[str, str | None]] = []
        connect = self.sites.connect

        def spy(site_id: str, credential_id: str | None = None, **kw: Any) -> Any:
            self.connected.append((self.sites.get(site_id).name, credential_id))
            return connect(site_id, credential_id, **kw)

        self.sites.connect = spy  # type: ignore[method-assign]

    def folder(self, site: str, execution_id: str) -> Path:
        path = self.workdirs[site] / "runs" / execution_id
        path.mkdir(parents=True)
        return path


def site_config(name: str, workdir: Path, **config: Any) -> dict[str, Any]:
    return {"name": name, "connection": "local", "scheduler": "slurm",
            "workdir": str(workdir), "python": {"mode": "existing", "path": sys.executable},
            **config}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        yield World(tmp_path, state)


def graph(world: World) -> tuple[str, dict[str, str]]:
    """A graph with a record for each step but ``later`` (which never started), ``make``
    with the first credential and the others with a second one; files in the folders of
    ``make`` (front), ``read`` (back) and ``here`` (this host)."""
    first, second = world.vault.generate("first").id, world.vault.generate("second").id
    parent = world.executions.create(world.workflow.id, {}, "front", first, step_sites=STEPS)
    ids = {}
    for step, site in STEPS.items():
        if step != "later":
            ids[step] = world.executions.create(
                world.workflow.id, {}, site, first if step == "make" else second,
                parent_id=parent.id, step=step).id
    make = world.folder("front", ids["make"])
    (make / "compss" / "jobs").mkdir(parents=True)
    (make / "job.sh").write_text("#!/bin/sh\nsrun make\n")
    (make / "compss" / "jobs" / "job1_NEW.out").write_text("made\n")
    (make / "secret-link").symlink_to("/etc/hostname")
    (make / "via").symlink_to("/etc")
    read = world.folder("back", ids["read"])
    (read / "job.sh").write_text("#!/bin/sh\nsrun read\n")
    (read / "got.txt").write_text("read it\n")
    here = world.runs_dir / ids["here"]
    here.mkdir(parents=True)
    (here / "output.log").write_text("ran here\n")
    world.sites.delete(world.sites.get_by_name("old").id)  # the site of "lost" is gone
    return parent.id, ids


def test_every_steps_folder_is_listed_on_its_own_site_saying_why_when_it_cannot(
        world: World) -> None:
    parent, ids = graph(world)
    listed = {f.step: f for f in world.files.steps(parent)}
    assert list(listed) == list(STEPS)  # plan order, every step
    assert [(f.path, f.kind) for f in listed["make"].files] == [
        ("compss/jobs/job1_NEW.out", "text"), ("job.sh", "text")]  # no links
    assert (listed["make"].site, listed["make"].status, listed["make"].where) == (
        "front", LISTED, "site")
    assert [f.path for f in listed["read"].files] == ["got.txt", "job.sh"]
    assert listed["read"].site == "back" and listed["read"].execution_id == ids["read"]
    assert (listed["here"].where, [f.path for f in listed["here"].files]) == (
        "local", ["output.log"])
    assert listed["lost"].status == SITE_GONE and "'old'" in listed["lost"].message
    assert listed["barred"].status == UNREACHABLE and "'refused'" in listed["barred"].message
    assert listed["empty"].status == NO_FOLDER and listed["empty"].files == []
    assert listed["later"].status == NOT_STARTED and listed["later"].execution_id is None
    assert "has not started" in listed["later"].message
    for name in ("make", "read", "empty"):
        assert listed[name].state == "queued"
    # one connection per site and credential, each step's own credential
    make_cred = world.executions.get(ids["make"]).credential_id
    read_cred = world.executions.get(ids["read"]).credential_id
    assert sorted(world.connected) == sorted([("front", make_cred), ("back", read_cred),
                                              ("refused", read_cred)])
    as_json = listed["make"].to_dict()
    assert as_json["step"] == "make" and as_json["files"][1] == {
        "path": "job.sh", "bytes": 20, "kind": "text"}


def test_one_steps_folder_is_listed_and_opened_by_name_confined_to_it(world: World) -> None:
    parent, _ids = graph(world)
    files = world.files
    assert [f.path for f in files.list(parent, step="read")] == ["got.txt", "job.sh"]
    with files.open(parent, "got.txt", step="read") as remote:
        assert remote.name == "got.txt" and b"".join(remote.chunks) == b"read it\n"
    with files.open(parent, "compss/jobs/job1_NEW.out", step="make") as remote:
        assert remote.bytes == 5 and b"".join(remote.chunks) == b"made\n"
    for path in ("../../front/runs", "/etc/passwd", "secret-link", "via/hostname"):
        with pytest.raises(ValidationError), files.open(parent, path, step="make"):
            pass
    with pytest.raises(NotFoundError, match="step 'read' of execution"), \
            files.open(parent, "job1_NEW.out", step="read"):
        pass
    with pytest.raises(NotFoundError, match=r"no step 'nope'.*make, read"):
        files.list(parent, step="nope")
    with pytest.raises(ConflictError, match=r"'later'.*has not started"):
        files.list(parent, step="later")
    with pytest.raises(ConflictError, match="no longer configured"):
        files.list(parent, step="lost")
    with pytest.raises(ValidationError, match="ran on this host"):
        files.list(parent, step="here")
    with pytest.raises(ValidationError, match=r"runs a step graph.*name the step"):
        files.list(parent)  # the graph's own record has no folder on a site
    assert files.list(parent, step="empty") == []


def test_the_local_folder_of_a_step_is_read_by_name(world: World) -> None:
    parent, ids = graph(world)
    local = world.local
    assert local.folder(parent, "here") == world.runs_dir / ids["here"]
    assert [f.path for f in local.list(parent, step="here")] == ["output.log"]
    assert local.resolve(parent, "output.log", step="here").read_text() == "ran here\n"
    assert local.preview(parent, "output.log", step="here").text == "ran here\n"
    assert local.list(parent, step="make") == []  # nothing copied home for it
    with pytest.raises(NotFoundError, match="step 'make' of execution"):
        local.resolve(parent, "output.log", step="make")
    with pytest.raises(ValidationError):
        local.resolve(parent, "../" + ids["make"] + "/x", step="here")
    with pytest.raises(ConflictError):
        local.list(parent, step="later")


def test_a_run_of_one_step_is_listed_as_before(world: World) -> None:
    credential = world.vault.generate("solo").id
    run = world.executions.create(world.workflow.id, {}, "front", credential)
    (world.folder("front", run.id) / "job.sh").write_text("#!/bin/sh\n")
    assert [f.path for f in world.files.list(run.id)] == ["job.sh"]
    (only,) = world.files.steps(run.id)
    assert (only.step, only.site, only.status, [f.path for f in only.files]) == (
        None, "front", LISTED, ["job.sh"])
    with pytest.raises(ValidationError, match="runs no step graph"):
        world.files.list(run.id, step="main")
    with pytest.raises(ValidationError, match="runs no step graph"):
        world.local.list(run.id, step="main")
    here = world.executions.create(world.workflow.id, {}, "local")
    with pytest.raises(ValidationError, match="ran on this host"):
        world.files.steps(here.id)  # as list(): one run on this host has no site folder
