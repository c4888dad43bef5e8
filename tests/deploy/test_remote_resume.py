"""A failed remote run resumed from its checkpoint on the real cluster (sshd + Slurm).

The step checkpoints (``extra_compss_opts``), so the run's checkpoint is in its folder on
the site; the resumed run starts from a copy of it there and runs only the tasks it lacks.
The record keeps Slurm's last word on each job (state, time limit) for the jobs table.
"""

from __future__ import annotations

import os
import pwd
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError
from tests.deploy.stack import APPS, Stack


@pytest.fixture
def ledger(stack: Stack) -> Iterator[Path]:
    """A folder of the site's login that outlives its runs (the app notes its tasks there)."""
    folder = stack.sshd.home / f"ledger-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    user = pwd.getpwnam(stack.sshd.login)
    os.chown(folder, user.pw_uid, user.pw_gid)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_failed_run_resumes_from_its_checkpoint_on_the_site(stack: Stack,
                                                             ledger: Path) -> None:
    workflow = stack.registry.register_spec({"name": "flaky", "steps": [{
        "name": "squares", "application": str(APPS / "flaky_squares.py"),
        "arguments": [str(ledger)], "time_limit": "10",
        "extra_compss_opts": "--checkpoint=FT --checkpoint_params=finished.tasks:1"}]})
    first = stack.wait(stack.executor.submit(workflow.id, {}, "cluster",
                                             credential_id=stack.credential).id, 600)
    assert first.state.value == "failed" and "node was lost" in (first.error or "")
    assert first.queue == {"state": "FAILED", "reason": "NonZeroExitCode",
                           "time_limit": "10:00"}, first.queue
    assert stack.executor.checkpoint_tasks(first.id) == 4  # read on the site

    resumed = stack.executor.resume(first.id)
    assert resumed.resumed_from == first.id and resumed.site == "cluster"
    done = stack.wait(resumed.id, 600)
    assert done.state.value == "done", done.error
    assert done.queue is not None and done.queue["state"] == "COMPLETED"
    assert "RESULT 55" in stack.executor.logs(resumed.id)[0]
    # squares 0-3 ran once (first run), 4 and 5 once (the resumed one)
    assert sorted((ledger / "ran.txt").read_text().split()) == ["0", "1", "2", "3", "4", "5"]
    events = stack.executor.events(resumed.id)
    assert len([e for e in events if e.get("type") == "task" and e.get("restored")]) == 4
    assert any("resuming from the checkpoint" in str(e.get("message")) for e in events)
    assert stack.executor.checkpoint_tasks(first.id) == 4  # the first run kept its own

    # Its checkpoint removed on the site: a resume fails saying so, never starts afresh.
    run_dir = stack.sshd.home / "eflows" / "runs" / first.id
    assert (run_dir / "checkpoint").is_dir(), list(run_dir.parent.iterdir())[:5]
    shutil.rmtree(run_dir / "checkpoint")
    with pytest.raises(ConflictError, match="no checkpoint"):
        stack.executor.resume(first.id)
