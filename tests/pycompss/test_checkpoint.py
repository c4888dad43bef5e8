"""--checkpoint*: a rerun skips the tasks the checkpoint holds and gives the same results.

tests/apps/checkpoint_app logs every task body it runs to runs.log, so each test can
tell which tasks a run executed and which it restored.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.engine.checkpoint_policy import (
    FINISHED,
    INSTANTIATED,
    NONE,
    PERIODIC,
    CheckpointOptionError,
    parse_checkpoint,
)
from tests.pycompss.conftest import app_path, assert_exit, read_events, result_of

pytestmark = pytest.mark.slow

APP = app_path("checkpoint_app", "checkpoint_app.py")
FULL_RESULT = {"counter": 3, "file": 6, "middle": 3, "square": 81}
ALL_TASKS = ["increment_file", "square", "increment_file", "Counter.increment",
             "Counter.increment", "increment_file", "increment_file", "increment_file",
             "Counter.increment", "square"]


def runs(tmp_path: Path) -> list[str]:
    """The task bodies run since the last call (and forget them)."""
    log = tmp_path / "runs.log"
    if not log.exists():
        return []
    lines = log.read_text().split()
    log.unlink()
    return lines


@pytest.fixture
def rerun(run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path):
    def run(*args: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        return run_app(APP, *args, extra=("--checkpoint_folder=cp", *options))
    return run


def ran_to_the_end(proc: subprocess.CompletedProcess, tmp_path: Path) -> list[str]:
    """Check a run that completes gives the full result; the task bodies it ran."""
    assert_exit(proc)
    assert result_of(proc) == FULL_RESULT
    return sorted(runs(tmp_path))


def crash_then_recover(rerun, tmp_path: Path, policy: tuple[str, ...],
                       crash: str = "fail") -> list[str]:
    """A run crashing after five tasks, then a complete rerun: the tasks it ran."""
    crashed = rerun(crash, options=policy)
    assert_exit(crashed, 1)
    assert "the main program crashed" in crashed.stderr
    assert sorted(runs(tmp_path)) == sorted(ALL_TASKS[:5])
    return ran_to_the_end(rerun("ok", options=policy), tmp_path)


def test_snapshot_then_recovery(rerun, tmp_path: Path) -> None:
    assert_exit(rerun("fail", "snapshot"), 1)
    assert sorted(runs(tmp_path)) == sorted(ALL_TASKS[:5])
    recovered = rerun("ok", "snapshot", options=("--event-log", "run.jsonl"))
    # Only the five tasks after the snapshot ran; the first five came from the checkpoint.
    assert ran_to_the_end(recovered, tmp_path) == sorted(ALL_TASKS[5:])
    events = read_events(tmp_path / "run.jsonl")
    restored = sorted(e["task"] for e in events if e["type"] == "task" and e.get("restored"))
    assert restored == [1, 2, 3, 4, 5]
    started = [e for e in events if e["type"] == "run" and e["state"] == "running"]
    assert started[0]["info"]["checkpoint"]["committed"] == 5
    # The snapshot commits the tasks called before it, not the later ones.
    assert ran_to_the_end(rerun("ok", "snapshot"), tmp_path) == sorted(ALL_TASKS[5:])


def test_finished_tasks_policy(rerun, tmp_path: Path) -> None:
    policy = ("--checkpoint=es.bsc.compss.checkpoint.policies.CheckpointPolicyFinishedTasks",
              "--checkpoint_params=finished.tasks:1")
    assert crash_then_recover(rerun, tmp_path, policy) == sorted(ALL_TASKS[5:])
    # Every task is committed now: a third run runs none and still gets the results.
    assert ran_to_the_end(rerun("ok", options=policy), tmp_path) == []


def test_instantiated_group_policy_commits_whole_groups(rerun, tmp_path: Path) -> None:
    policy = ("--checkpoint_policy=CheckpointPolicyInstantiatedGroup",
              "--checkpoint_params=instantiated.group:2")
    # Groups {1,2} and {3,4} were complete; task 5's group was still open: it runs again.
    assert crash_then_recover(rerun, tmp_path, policy) == \
        sorted([ALL_TASKS[4], *ALL_TASKS[5:]])


def test_periodic_time_policy(rerun, tmp_path: Path) -> None:
    policy = ("--checkpoint=PT", "--checkpoint_params=period.time:1s")
    assert crash_then_recover(rerun, tmp_path, policy, crash="fail-late") == \
        sorted(ALL_TASKS[5:])


def test_a_different_run_does_not_reuse_the_checkpoint(rerun, tmp_path: Path) -> None:
    policy = ("--checkpoint=FT", "--checkpoint_params=finished.tasks:1,"
              "avoid.checkpoint:[counters.square]")
    # avoid.checkpoint: square is never saved, so it runs again; the rest is restored.
    assert crash_then_recover(rerun, tmp_path, policy) == sorted(["square", *ALL_TASKS[5:]])
    # The task order changes at task 1: recovery stops there, every task runs.
    other = rerun("other", options=policy)
    assert "differs from the checkpoint" in other.stderr
    assert ran_to_the_end(other, tmp_path) == sorted(ALL_TASKS)
    manifest = [json.loads(line)["task"] for line in
                (tmp_path / "cp" / "checkpoint.jsonl").read_text().splitlines()]
    assert len(manifest) == len(set(manifest))


@pytest.mark.parametrize(("policy", "params", "expected"), [
    ("es.bsc.compss.checkpoint.policies.CheckpointPolicyPeriodicTime", "period.time:2m",
     (PERIODIC, 120.0, None)),
    ("CheckpointPolicyFinishedTasks", "finished.tasks:4", (FINISHED, None, 4)),
    ("ITG", "instantiated.group:3", (INSTANTIATED, None, 3)),
    ("es.bsc.compss.checkpoint.policies.NoCheckpoint", "", (NONE, None, None)),
    (None, None, (NONE, None, None)),
])
def test_policy_spellings(policy, params, expected) -> None:
    config = parse_checkpoint(policy, params, "folder")
    assert (config.policy, config.period, config.every) == expected


def test_avoid_checkpoint_list() -> None:
    config = parse_checkpoint("FT", "finished.tasks:2,avoid.checkpoint:[a.b, c.d]", "f")
    assert config.avoid == {"a.b", "c.d"} and config.every == 2


@pytest.mark.parametrize(("policy", "params", "folder", "message"), [
    ("FT", "finished.tasks:2", None, "--checkpoint_folder"),
    ("FT", "", "f", "finished.tasks:<value>"),
    ("FT", "period.time:3s", "f", "unknown checkpoint parameter"),
    ("PT", "period.time:soon", "f", "positive duration"),
    ("FT", "finished.tasks:0", "f", "positive whole number"),
    ("Sometimes", "", "f", "unknown checkpoint policy"),
])
def test_bad_checkpoint_options(policy, params, folder, message) -> None:
    with pytest.raises(CheckpointOptionError, match=message):
        parse_checkpoint(policy, params, folder)
    assert parse_checkpoint(None, None, None) is None
