"""A remote run's folder on its site, over the real sshd: listed and downloaded, nothing
outside it reachable (no '..', no link followed)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import CredentialVault
from eflows_kernel.services.deploy.site_run_files import SiteRunFiles
from eflows_kernel.services.errors import NotFoundError, ValidationError
from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry
from tests.plugins.cluster import SshdInfo


@pytest.fixture
def executions(tmp_path: Path) -> Iterator[ExecutionStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield ExecutionStore(store)


def _remote_run(executions: ExecutionStore, site: Site, credential: str,
                home: Path) -> tuple[str, Path]:
    wf = WorkflowRegistry(executions.store).register(Workflow(name="remote"))
    execution = executions.create(wf.id, {}, site.name, credential)
    folder = home / "eflows" / "runs" / execution.id
    (folder / "compss" / "jobs").mkdir(parents=True)
    (folder / "job.sh").write_text("#!/bin/sh\nsrun app\n")
    (folder / "compss" / "jobs" / "job1_NEW.out").write_text("task output\n")
    (folder / "secret-link").symlink_to("/etc/hostname")
    (folder / "via").symlink_to("/etc")
    for path in [home / "eflows", *(home / "eflows").rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return execution.id, folder


def test_list_and_download(executions: ExecutionStore, service: SiteService,
                           trusted_site: Site, vault: CredentialVault,
                           clean_account: SshdInfo) -> None:
    credential = vault.generate("tester").id
    service.authorize(trusted_site.id, credential, password=clean_account.password)
    run, folder = _remote_run(executions, trusted_site, credential, clean_account.home)
    try:
        files = SiteRunFiles(executions, service)
        listed = files.list(run)
        assert [(f.path, f.kind) for f in listed] == [
            ("compss/jobs/job1_NEW.out", "text"), ("job.sh", "text")]  # no links
        with files.open(run, "compss/jobs/job1_NEW.out") as remote:
            assert remote.bytes == 12 and b"".join(remote.chunks) == b"task output\n"
        for path in ("../../.ssh/authorized_keys", "/etc/passwd", "secret-link",
                     "via/hostname"):
            with pytest.raises(ValidationError), files.open(run, path):
                pass
        with pytest.raises(NotFoundError), files.open(run, "nope.txt"):
            pass
        shutil.rmtree(folder)
        assert files.list(run) == []  # cleaned up on the site: nothing to browse
    finally:
        shutil.rmtree(clean_account.home / "eflows", ignore_errors=True)


def test_a_local_run_is_refused(executions: ExecutionStore, service: SiteService) -> None:
    wf = WorkflowRegistry(executions.store).register(Workflow(name="here"))
    execution = executions.create(wf.id, {}, "local")
    with pytest.raises(ValidationError, match="ran on this host"):
        SiteRunFiles(executions, service).list(execution.id)
