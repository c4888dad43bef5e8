"""The Slurm client against a real single-node Slurm (tests/cluster/setup_slurm.sh) over the
real test sshd: jobs are submitted as the unprivileged login ``eflows`` through SSH.

Needs root (it starts munged, slurmctld, slurmd and sshd) and fails, never skips, without it.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.hpc import slurm
from eflows_kernel.services.sites import InMemorySiteRepository, SiteService
from tests.plugins.cluster import SshdInfo

MARKER = Path("/tmp/pwned")
HOSTILE = [
    "a;touch /tmp/pwned",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "x' ; touch /tmp/pwned ; '",
    'x" ; touch /tmp/pwned ; "',
    "line1\ntouch /tmp/pwned\n",
    "--wrap=touch /tmp/pwned",
    "a b | touch /tmp/pwned &",
]


@pytest.fixture(scope="module")
def client(slurm_cluster: str, sshd: SshdInfo) -> Iterator[paramiko.SSHClient]:
    """An SSH session as ``eflows``, the way the kernel gets one: a vault key authorized on a
    trusted site, then SiteService.connect."""
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))
    sites = SiteService(InMemorySiteRepository(), vault, timeout=10)
    site = sites.add({"name": "slurm-loopback", "host": sshd.host, "port": sshd.port,
                      "login": sshd.login, "scheduler": "slurm",
                      "python": {"mode": "bootstrap"}})
    sites.trust(site.id, sites.scan(site.id).fingerprint)
    credential = vault.generate("slurm-tests").id
    sites.authorize(site.id, credential, password=sshd.password)
    connection = sites.connect(site.id, credential)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def workdir(sshd: SshdInfo) -> str:
    """A fresh directory (relative to the login's home) for one test's jobs."""
    return f"eflows-slurm-tests/{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def no_marker() -> Iterator[None]:
    MARKER.unlink(missing_ok=True)
    yield
    assert not MARKER.exists(), "a hostile value was run by a shell"


def wait_for(client: paramiko.SSHClient, job_id: str, done: set[str] | None = None,
             timeout: float = 30.0) -> slurm.JobState:
    deadline = time.monotonic() + timeout
    while True:
        current = slurm.state(client, job_id)
        if (current.state in done) if done else current.finished:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {current} after {timeout} s")
        time.sleep(0.2)


def test_job_runs_as_login_and_writes_a_file(client: paramiko.SSHClient, sshd: SshdInfo,
                                             workdir: str) -> None:
    job_id = slurm.submit(client, "#!/bin/bash\necho \"hello from $SLURM_JOB_ID\" > out.txt\n",
                          workdir, "write-a-file", partition="debug", nodes=1,
                          time_limit=5, cpus_per_task=1)
    assert job_id.isdigit()
    final = wait_for(client, job_id)
    assert final.state == "COMPLETED"
    assert final.execution_state is ExecutionState.DONE
    assert final.exit_code == 0 and final.signal is None
    # squeue's TimeLimit, for the jobs table's walltime (one poll for all the site's runs too)
    assert final.time_limit == "5:00"
    assert final.queue() == {"state": "COMPLETED", "time_limit": "5:00"}
    assert slurm.states(client, [job_id])[job_id].time_limit == "5:00"
    out = sshd.home / workdir / "out.txt"
    assert out.read_text() == f"hello from {job_id}\n"
    assert out.stat().st_uid == pwd.getpwnam(sshd.login).pw_uid


def test_nonzero_exit_is_failed_with_its_code(client: paramiko.SSHClient, workdir: str) -> None:
    job_id = slurm.submit(client, "#!/bin/sh\nexit 3\n", workdir, "exit-three")
    final = wait_for(client, job_id)
    assert final.state == "FAILED"
    assert final.execution_state is ExecutionState.FAILED
    assert final.exit_code == 3
    assert final.reason == "NonZeroExitCode"


def test_cancel_a_sleeping_job(client: paramiko.SSHClient, workdir: str) -> None:
    job_id = slurm.submit(client, "#!/bin/sh\nsleep 300\n", workdir, "sleeper")
    running = wait_for(client, job_id, {"RUNNING"})
    assert running.execution_state is ExecutionState.RUNNING
    assert running.exit_code is None
    slurm.cancel(client, job_id)
    final = wait_for(client, job_id)
    assert final.state == "CANCELLED"
    assert final.execution_state is ExecutionState.CANCELLED
    assert final.reason is not None and "cancelled through eflows" in final.reason
    slurm.cancel(client, job_id)  # cancelling a finished job again is harmless


def test_job_killed_outside_eflows_is_cancelled_with_a_reason(client: paramiko.SSHClient,
                                                               workdir: str) -> None:
    job_id = slurm.submit(client, "#!/bin/sh\nsleep 300\n", workdir, "killed-by-admin")
    wait_for(client, job_id, {"RUNNING"})
    subprocess.run(["scancel", job_id], check=True, capture_output=True, timeout=30)
    final = wait_for(client, job_id)
    assert final.state == "CANCELLED"
    assert final.execution_state is ExecutionState.CANCELLED
    assert final.reason is not None and "outside eflows" in final.reason


def test_unknown_job_is_not_found(client: paramiko.SSHClient) -> None:
    with pytest.raises(slurm.JobNotFound, match="Invalid job id"):
        slurm.state(client, "987654321")
    with pytest.raises(slurm.JobNotFound, match="Invalid job id"):
        slurm.cancel(client, "987654321")


def test_invalid_partition_raises_with_slurms_message(client: paramiko.SSHClient,
                                                      workdir: str) -> None:
    with pytest.raises(slurm.JobRejected, match=r"(?i)invalid partition"):
        slurm.submit(client, "#!/bin/sh\ntrue\n", workdir, "bad-partition",
                     partition="no-such-partition")


def job_name(job_id: str) -> str:
    """The name slurmctld stored, read as root (not through the code under test)."""
    return subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-O", "Name:500"],
                          capture_output=True, text=True, check=True, timeout=30
                          ).stdout.rstrip(" \n")


def test_hostile_values_are_passed_literally(client: paramiko.SSHClient, sshd: SshdInfo,
                                             workdir: str) -> None:
    submitted = []
    for value in HOSTILE:
        # As a job name: sbatch takes it as data (or refuses it), a shell never runs it.
        try:
            job_id = slurm.submit(client, "#!/bin/sh\ntrue\n", workdir, value)
        except slurm.JobRejected:
            pass
        else:
            submitted.append(job_id)
            assert "touch /tmp/pwned" in job_name(job_id), value
        # As a partition: Slurm refuses it with its own message.
        with pytest.raises(slurm.JobRejected) as caught:
            slurm.submit(client, "#!/bin/sh\ntrue\n", workdir, "ok", partition=value)
        assert "invalid partition" in caught.value.message.lower()
        # As a QOS or account: without accounting Slurm does not check them; either way the
        # value is data (refused, or stored as given).
        for option in ("qos", "account"):
            try:
                submitted.append(slurm.submit(client, "#!/bin/sh\ntrue\n", workdir, "ok",
                                              **{option: value}))
            except slurm.JobRejected as error:
                assert "sbatch refused the job" in error.message
    # As a working directory: created and used literally.
    odd_dir = f"{workdir}/$(touch /tmp/pwned);`touch /tmp/pwned`'\""
    job_id = slurm.submit(client, "#!/bin/sh\npwd > here.txt\n", odd_dir, "odd-workdir")
    submitted.append(job_id)
    for jid in submitted[:-1]:
        slurm.cancel(client, jid)  # only their stored values mattered
    wait_for(client, job_id)
    assert (sshd.home / odd_dir / "here.txt").read_text().strip() == str(sshd.home / odd_dir)
    assert not MARKER.exists()


def test_find_a_job_by_name_and_poll_many_at_once(client: paramiko.SSHClient,
                                                 workdir: str) -> None:
    """A server that crashed between sbatch and saving the id finds its job again; one
    squeue answers for many jobs, and an id that is not Slurm's does not spoil it."""
    name = "eflows-find-me-" + os.urandom(4).hex()
    assert slurm.find_job(client, name) is None
    job_id = slurm.submit(client, "#!/bin/bash\nsleep 30\n", workdir, name, time_limit=2,
                          cpus_per_task=1)
    try:
        assert slurm.find_job(client, name) == job_id
        other = slurm.submit(client, "#!/bin/bash\ntrue\n", workdir, "other", cpus_per_task=1)
        wait_for(client, other)
        found = slurm.states(client, [job_id, other, "pid:123", "99999999"])
        assert set(found) == {job_id, other}
        assert found[other].state == "COMPLETED" and not found[job_id].finished
    finally:
        slurm.cancel(client, job_id)
