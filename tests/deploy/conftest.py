"""A remote deployment stack on the real test cluster (sshd on 127.0.0.1:2222 + Slurm).

Every test gets fresh state (SQLite, vault, registry) and a credential authorized on the
``eflows`` login; the environments bootstrapped on the site are kept between tests
(``~eflows/eflows/envs``), as on a real cluster, so the first test pays for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.sites import SiteService
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.registry import WorkflowRegistry
from tests.deploy.servers import Server
from tests.deploy.stack import RemoteServer, Stack, local_site_config
from tests.hpc.images import build_python_image
from tests.plugins.cluster import SshdInfo
from tests.plugins.multinode_cluster import MultiNodeCluster


def open_stack(tmp_path: Path, wheel_cache: Path, login: SshdInfo,
               **site: object) -> Stack:
    """Fresh state (SQLite, vault, registry), one site on ``login`` trusted, and a
    credential authorized there with the login's password."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    registry = WorkflowRegistry(store)
    executions = ExecutionStore(store)
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    sites = SiteService(SiteStore(store), vault, timeout=10)
    runs = tmp_path / "runs"
    executor = RemoteServer(executions, registry, vault, sites, runs, wheel_cache)
    record = sites.add({"host": login.host, "port": login.port, "login": login.login,
                        "scheduler": "slurm", "python": {"path": "/usr/bin/python3"},
                        **site})
    record = sites.trust(record.id, sites.scan(record.id).fingerprint)
    credential = vault.generate("deploy-tests").id
    sites.authorize(record.id, credential, password=login.password)
    return Stack(store, registry, executions, vault, sites, executor, runs, wheel_cache,
                 record, credential, login)


def close_stack(stack: Stack) -> None:
    stack.executor.shutdown()
    stack.store.close()


@pytest.fixture
def stack(tmp_path: Path, clean_account: SshdInfo, slurm_cluster: str,
          wheel_cache: Path) -> Iterator[Stack]:
    result = open_stack(tmp_path, wheel_cache, clean_account, name="cluster")
    try:
        yield result
    finally:
        close_stack(result)


@pytest.fixture
def multinode_stack(tmp_path: Path, multinode_cluster: MultiNodeCluster,
                    wheel_cache: Path) -> Iterator[Stack]:
    """The stack with one site, ``multi``: the multi-node Slurm's own login (sshd on
    2223, tests/cluster/setup_slurm_multinode.sh) charging the login's account there,
    its environment kept between tests."""
    cluster = multinode_cluster
    login = SshdInfo(cluster.host, cluster.port, cluster.login, cluster.password,
                     cluster.home)
    result = open_stack(tmp_path, wheel_cache, login, name="multi",
                        partition=cluster.partition, account=cluster.account)
    try:
        yield result
    finally:
        close_stack(result)


REGISTRY_IMAGE_FILES = Path(__file__).resolve().parents[1] / "apps" / "registry" / "image"


def _login_image(home: Path, login: str) -> str:
    root = home / "images" / "python-image"
    shutil.rmtree(root.parent, ignore_errors=True)
    root.parent.mkdir(parents=True)
    build_python_image(root, [Path(sysconfig.get_paths()["purelib"])])
    shutil.copytree(REGISTRY_IMAGE_FILES, root, dirs_exist_ok=True)
    subprocess.run(["chown", "-R", f"{login}:", str(root.parent)], check=True)
    return str(root)


@pytest.fixture(scope="session")
def site_image(sshd: SshdInfo) -> str:
    """A Charliecloud image on the test site (``~/images/python-image`` of the login, its
    own): this host's Debian Python, with the libraries the site's environment links to
    (the same packages as this virtualenv's), and the stand-ins of the registry
    workflows' applications at the paths their topologies name (tests/apps/registry).
    Built once per session."""
    return _login_image(sshd.home, sshd.login)


@pytest.fixture(scope="session")
def multinode_image(multinode_cluster: MultiNodeCluster) -> str:
    """The same image in the multi-node cluster login's home (every node sees it: the
    nodes share this machine's file system, as a cluster's nodes share theirs)."""
    return _login_image(multinode_cluster.home, multinode_cluster.login)


@pytest.fixture(scope="session")
def local_site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The work directory of the local site (this host), shared by the session's tests."""
    return tmp_path_factory.mktemp("local-site")


@pytest.fixture
def local_stack(tmp_path: Path, sshd: SshdInfo, slurm_cluster: str, wheel_cache: Path,
                local_site_dir: Path) -> Iterator[Stack]:
    """The deployment stack with one site, ``centre``: this host's own Slurm, no SSH.

    The server's Python (this virtualenv, which has the package) is the site's, as on a
    centre's login node where the server runs; no key, no host key.
    """
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    registry = WorkflowRegistry(store)
    executions = ExecutionStore(store)
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    sites = SiteService(SiteStore(store), vault, timeout=10)
    executor = RemoteServer(executions, registry, vault, sites, tmp_path / "runs", wheel_cache)
    site = sites.add(local_site_config(local_site_dir))
    result = Stack(store, registry, executions, vault, sites, executor, tmp_path / "runs",
                   wheel_cache, site, "", sshd)
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


@pytest.fixture
def servers(tmp_path: Path, wheel_cache: Path) -> Iterator[tuple[Server, Server]]:
    first, second = Server(tmp_path, wheel_cache), Server(tmp_path, wheel_cache)
    try:
        yield first, second
    finally:
        first.kill()
        second.kill()
