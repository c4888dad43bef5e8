"""pytest plugin: the multi-node Slurm test cluster (tests/cluster/setup_slurm_multinode.sh).

Registered in tests/conftest.py, so any test can ask for ``multinode_cluster`` (session
scope): the script is run once (it is idempotent and quick when the cluster is up) and
the fixture says how to reach it. Root is needed; without it the test fails, never
skips. Tests submitting to it directly set ``SLURM_CONF`` from the fixture; over SSH, the
login node's sessions have it already.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.plugins.slurm_queue import SlurmQueue

SCRIPT = Path(__file__).resolve().parent.parent / "cluster" / "setup_slurm_multinode.sh"
CONF = "/etc/slurm-eflows-multi/slurm.conf"


@dataclass(frozen=True)
class MultiNodeCluster:
    conf: str  # SLURM_CONF of this cluster
    nodes: tuple[str, ...]
    partition: str
    cores_per_node: int
    host: str  # the login node (sshd)
    port: int
    login: str
    password: str
    home: Path
    env: dict[str, str] = field(default_factory=dict)  # os.environ + SLURM_CONF
    # What its accounting (slurmdbd) lets the login use; any other QOS/account is refused.
    account: str = "eflows-proj"
    qos: tuple[str, ...] = ("normal", "eflows-high")

    def sbatch(self, script: str, cwd: str | os.PathLike[str]) -> str:
        """Submit a batch script (as root, from this process); its job id."""
        out = subprocess.run(["sbatch", "--parsable"], input=script, text=True,
                             capture_output=True, cwd=cwd, env=self.env, check=True)
        return out.stdout.strip().split(";")[0]

    def wait(self, job_id: str, timeout: float = 300.0) -> str:
        """Wait for the job to end; its final state (COMPLETED, FAILED...)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
                                 capture_output=True, text=True, env=self.env).stdout.strip()
            if out and out not in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING"):
                return out
            time.sleep(0.5)
        subprocess.run(["scancel", job_id], env=self.env, check=False)
        raise AssertionError(f"job {job_id} still running after {timeout} s (cancelled)")


@pytest.fixture(scope="session")
def multinode_cluster() -> MultiNodeCluster:
    if os.geteuid() != 0:
        pytest.fail("the multi-node cluster (tests/cluster/setup_slurm_multinode.sh) needs "
                    "root: network namespaces and daemons; run the tests as root (as CI does)")
    result = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        pytest.fail(f"setup_slurm_multinode.sh failed:\n{result.stdout}\n{result.stderr}")
    conf = CONF
    env = {**os.environ, "SLURM_CONF": conf}
    SlurmQueue(conf).clear("what an earlier test session left on the multi-node cluster")
    lines = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %c"], capture_output=True,
                           text=True, env=env, check=True).stdout.split("\n")
    nodes = tuple(sorted({line.split()[0] for line in lines if line.strip()}))
    cores = min(int(line.split()[1]) for line in lines if line.strip())
    import pwd

    login = "eflows-site2"
    return MultiNodeCluster(conf, nodes, "multi", cores, "127.0.0.1",
                            int(os.environ.get("EFLOWS_MULTI_SSHD_PORT", "2223")), login,
                            os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw"),
                            Path(pwd.getpwnam(login).pw_dir), env)


@pytest.fixture(autouse=True)
def _multinode_jobs_left_by_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test on the multi-node cluster, the jobs it left there are cancelled (as
    tests/plugins/cluster.py does for the single-node one)."""
    if "multinode_cluster" not in request.fixturenames:
        yield
        return
    queue = SlurmQueue(CONF)
    before = queue.active()
    yield
    queue.cancel(queue.left_behind(before), f"the jobs {request.node.name} left")
