"""Pytest plugin: the real test cluster of tests/cluster (sshd on 127.0.0.1:2222, Slurm).

Registered by the root conftest, so any test may ask for ``sshd``, ``clean_account``,
``rotated_host_key``, ``slurm_cluster``, or ``site_client`` / ``site_dir`` (a password
session and a fresh folder on the site); nothing starts unless a test asks. The
daemons run as root; these fixtures need root to start them and to reset the login's
``~/.ssh`` between tests, and they fail (never skip) without it so CI cannot go green blind.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from eflows_kernel.services.hpc import ssh
from tests.plugins.slurm_queue import SlurmQueue

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "tests" / "cluster"
HOST_KEY_DIR = Path("/etc/eflows-test-sshd")


@dataclass(frozen=True)
class SshdInfo:
    host: str
    port: int
    login: str
    password: str
    home: Path


@pytest.fixture(scope="session")
def sshd() -> SshdInfo:
    if os.geteuid() != 0:
        pytest.fail("the site tests start a real sshd (tests/cluster/setup_sshd.sh) and need "
                    "root; run them as root (as CI does)")
    password = os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw")
    result = subprocess.run(["bash", str(CLUSTER / "setup_sshd.sh")], capture_output=True,
                            text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"setup_sshd.sh failed:\n{result.stdout}\n{result.stderr}")
    home = Path(pwd.getpwnam("eflows").pw_dir)
    return SshdInfo("127.0.0.1", 2222, "eflows", password, home)


@pytest.fixture(scope="session")
def slurm_cluster(sshd: SshdInfo) -> str:
    """The single-node Slurm of tests/cluster/setup_slurm.sh, reached through the sshd."""
    if os.geteuid() != 0:
        pytest.fail("the Slurm tests start a real Slurm (tests/cluster/setup_slurm.sh) and need "
                    "root; run them as root (as CI does)")
    result = subprocess.run(["bash", str(CLUSTER / "setup_slurm.sh")], capture_output=True,
                            text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"setup_slurm.sh failed:\n{result.stdout}\n{result.stderr}")
    SlurmQueue().clear("what an earlier test session left on the test cluster")
    return result.stdout


@pytest.fixture(autouse=True)
def _slurm_jobs_left_by_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test on the test cluster, the jobs it left queued or running are cancelled:
    they would hold the node's cores for the tests after it (tests/plugins/slurm_queue.py)."""
    if "slurm_cluster" not in request.fixturenames:
        yield
        return
    queue = SlurmQueue()
    before = queue.active()
    yield
    queue.cancel(queue.left_behind(before), f"the jobs {request.node.name} left")


@pytest.fixture(scope="session")
def test_module(slurm_cluster: str) -> str:
    """``eflows-test/1.0``, a module file of tests/cluster/setup_modules.sh: the module a
    step's ``compss_modules`` loads on the test cluster (it sets EFLOWS_TEST_MODULE)."""
    result = subprocess.run(["bash", str(CLUSTER / "setup_modules.sh")], capture_output=True,
                            text=True, timeout=60)
    if result.returncode != 0:
        pytest.fail(f"setup_modules.sh failed:\n{result.stdout}\n{result.stderr}")
    return "eflows-test/1.0"


@pytest.fixture
def clean_account(sshd: SshdInfo) -> SshdInfo:
    """The login with no ~/.ssh at all, as on a fresh cluster account."""
    shutil.rmtree(sshd.home / ".ssh", ignore_errors=True)
    return sshd


@pytest.fixture
def rotated_host_key(sshd: SshdInfo) -> Iterator[None]:
    """The sshd with a brand-new host key for one test; the old key is put back after."""
    saved = {p.name: p.read_bytes() for p in HOST_KEY_DIR.glob("ssh_host_*")}
    subprocess.run(["bash", str(CLUSTER / "rotate_host_key.sh")], check=True,
                   capture_output=True, timeout=120)
    try:
        yield
    finally:
        for name, data in saved.items():
            path = HOST_KEY_DIR / name
            path.write_bytes(data)
            path.chmod(0o600 if not name.endswith(".pub") else 0o644)
        subprocess.run(["bash", str(CLUSTER / "setup_sshd.sh"), "restart"], check=True,
                       capture_output=True, timeout=120)


def seed_authorized_keys(sshd: SshdInfo, text: str) -> Path:
    """Write ~/.ssh/authorized_keys as the login would own it (we are root)."""
    account = pwd.getpwnam(sshd.login)
    ssh_dir = sshd.home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    path = ssh_dir / "authorized_keys"
    path.write_text(text)
    path.chmod(0o600)
    for p in (ssh_dir, path):
        os.chown(p, account.pw_uid, account.pw_gid)
    return path


def password_login(sshd: SshdInfo) -> paramiko.SSHClient:
    """A new SSH session to the test sshd by password, its host key pinned.

    Password on purpose: other site tests reset ``~/.ssh``, which must not break these.
    """
    key = ssh.HostKey.from_line((HOST_KEY_DIR / "ssh_host_ed25519_key.pub").read_text())
    return ssh.connect(sshd.host, sshd.port, sshd.login, key, password=sshd.password)


@pytest.fixture
def site_client(sshd: SshdInfo) -> Iterator[paramiko.SSHClient]:
    """One password session to the test sshd for a test, closed after it."""
    client = password_login(sshd)
    yield client
    client.close()


@pytest.fixture
def site_dir(site_client: paramiko.SSHClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh folder in the login's home (relative to it), removed after the test."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"{module.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    yield name
    ssh.run(site_client, f"rm -rf {shlex.quote(name)}")
