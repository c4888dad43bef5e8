"""The test cluster's queue guard (tests/plugins/slurm_queue.py) on the real Slurm.

A job a test leaves queued or running would hold the node for every test after it; the
guard finds the jobs a test submitted and did not end (not those that were there before,
not a hub's single-user servers) and cancels them.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.plugins.slurm_queue import SlurmQueue


def _submit(name: str) -> str:
    return subprocess.run(["sbatch", "--parsable", f"--job-name={name}", "--output=/dev/null",
                           "--wrap=sleep 600"], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def test_the_jobs_a_test_left_are_found_and_cancelled(slurm_cluster: str) -> None:
    queue = SlurmQueue()
    before = queue.active()
    assert before is not None, "the test cluster's squeue does not answer"
    left = _submit("eflows-guard-left")
    hub = _submit("jupyterhub-guard-kept")
    try:
        behind = queue.left_behind(before)
        assert [job.job_id for job in behind] == [left]
        assert behind[0].name == "eflows-guard-left" and behind[0].user == "root"
        queue.cancel(behind, "the guard's own test")
        active = {job.job_id for job in queue.active() or []}
        assert left not in active and hub in active
    finally:
        subprocess.run(["scancel", left, hub], check=False, timeout=60)


def test_a_cluster_that_does_not_answer_has_no_queue() -> None:
    assert SlurmQueue("/nonexistent/slurm.conf").active() is None


def test_clearing_cancels_everything_queued_and_says_so(slurm_cluster: str,
                                                        recwarn: pytest.WarningsRecorder
                                                        ) -> None:
    queue = SlurmQueue()
    jobs = [_submit("eflows-guard-old-1"), _submit("jupyterhub-guard-old-2")]
    try:
        queue.clear("the guard's own test")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and set(jobs) & {
                job.job_id for job in queue.active() or []}:
            time.sleep(0.5)
        assert not set(jobs) & {job.job_id for job in queue.active() or []}
        said = [str(w.message) for w in recwarn.list]
        assert any("cancelled" in text and jobs[0] in text for text in said), said
    finally:
        subprocess.run(["scancel", *jobs], check=False, timeout=60)


LEFT_NAME = "eflows-guard-left-for-the-next-test"


def test_a_test_that_leaves_a_job_queued(slurm_cluster: str) -> None:
    """Leaves a job behind on purpose; the guard cancels it after this test, and the next
    test (pytest keeps a module's order) finds it gone."""
    job = _submit(LEFT_NAME)
    assert job in {j.job_id for j in SlurmQueue().active() or []}


def test_the_job_the_previous_test_left_is_gone(slurm_cluster: str) -> None:
    assert [str(j) for j in SlurmQueue().active() or [] if j.name == LEFT_NAME] == []
