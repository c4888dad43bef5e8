"""The local executor: real ``eflows-run`` subprocesses with real Dask, on this host.

Driven through the executions service, as the REST API and the clients drive it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from eflows_kernel.services.errors import ConflictError, ValidationError
from eflows_kernel.services.executions import ExecutionState, ExecutionStore
from eflows_kernel.services.executions.local import RESTART_ERROR, LocalExecutor
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.registry import WorkflowRegistry

APPS = Path(__file__).resolve().parents[2] / "apps"
TIMEOUT = 60.0

SPIN_APP = '''"""A task that never ends, until it is cancelled."""
import time
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=int)
def spin(n):
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    print("spinning", flush=True)
    compss_wait_on(spin(1))
'''

ECHO_APP = '''"""Writes its arguments (JSON) to the file named by the first one, prints lines."""
import json
import sys

if __name__ == "__main__":
    with open(sys.argv[1], "w") as f:
        json.dump(sys.argv[2:], f)
    for i in range(200):
        print(f"line {i} é")
'''


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield store


@pytest.fixture
def registry(state: StateStore) -> WorkflowRegistry:
    return WorkflowRegistry(state)


@pytest.fixture
def executions(state: StateStore) -> ExecutionStore:
    return ExecutionStore(state)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def local_service(executions: ExecutionStore, registry: WorkflowRegistry, runs_dir: Path,
                  **options: object) -> ExecutionsService:
    """The executions service of a process whose only site is this host."""
    local = LocalExecutor(executions, runs_dir, **options)  # type: ignore[arg-type]
    return ExecutionsService(executions, registry, ExecutorRouter(local=local))


@pytest.fixture
def executor(executions: ExecutionStore, registry: WorkflowRegistry,
             runs_dir: Path) -> Iterator[ExecutionsService]:
    executor = local_service(executions, registry, runs_dir, workers=2, grace_period=3.0)
    yield executor
    executor.shutdown()


def _app(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "apps" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _pid(job_id: str | None) -> int:
    assert job_id is not None and job_id.startswith("local-pid:")
    return int(job_id.split(":")[1])


def _group(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def _until(condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_wordcount_runs_to_done(tmp_path: Path, registry: WorkflowRegistry,
                                executor: ExecutionsService, runs_dir: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.txt").write_text("the cat, the dog\n")
    (data / "b.txt").write_text("The end.\n")
    out = tmp_path / "out" / "counts.json"
    out.parent.mkdir()
    wf = registry.register_python_file(APPS / "wordcount.py", inputs=[
        {"name": "input_dir", "type": "path"}, {"name": "output_file", "type": "path"}])

    started = executor.submit(wf.id, {"input_dir": str(data), "output_file": str(out)},
                              credential_id="c1")
    assert started.site == "local" and started.credential_id == "c1"
    assert started.state == ExecutionState.RUNNING
    assert [c.state for c in started.state_history] == [ExecutionState.QUEUED,
                                                        ExecutionState.RUNNING]
    run_dir = runs_dir / started.id
    assert started.event_log == str(run_dir / "events.jsonl")

    done = executor.wait(started.id, TIMEOUT)
    assert done.state == ExecutionState.DONE, executor.logs(started.id)[0]
    assert done.error is None
    assert json.loads(out.read_text()) == {"cat": 1, "dog": 1, "end": 1, "the": 3}
    text, _ = executor.logs(started.id)
    assert '"same": true' in text
    events = executor.events(started.id)
    assert events[-1]["type"] == "run" and events[-1]["state"] == "done"
    assert {e["run"] for e in events} == {started.id}
    later = executor.events(started.id, from_seq=events[-3]["seq"])
    assert [e["seq"] for e in later] == [e["seq"] for e in events[-2:]]
    with pytest.raises(ConflictError):
        executor.cancel(started.id)


def test_failing_app_records_the_error(registry: WorkflowRegistry,
                                       executor: ExecutionsService) -> None:
    wf = registry.register_python_file(APPS / "failing_main.py")
    execution = executor.wait(executor.submit(wf.id, {}).id, TIMEOUT)
    assert execution.state == ExecutionState.FAILED
    assert execution.error is not None
    assert "exited with status 1" in execution.error
    assert "RuntimeError: main broke" in execution.error
    assert executor.events(execution.id)[-1]["state"] == "failed"


def test_bad_inputs_create_nothing(registry: WorkflowRegistry, executor: ExecutionsService,
                                   executions: ExecutionStore, runs_dir: Path) -> None:
    wf = registry.register_python_file(APPS / "wordcount.py", inputs=[
        {"name": "input_dir", "type": "path"}, {"name": "blocks", "type": "integer"}])
    with pytest.raises(ValidationError) as caught:
        executor.submit(wf.id, {"blocks": "many", "colour": "red"})
    fields = caught.value.details["fields"]
    assert set(fields) == {"input_dir", "blocks", "colour"}
    assert "integer" in fields["blocks"]
    assert caught.value.status == 400
    assert executions.list().total == 0
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_cancel_kills_the_process_group(tmp_path: Path, registry: WorkflowRegistry,
                                        executor: ExecutionsService) -> None:
    wf = registry.register_python_file(_app(tmp_path, "spin.py", SPIN_APP))
    execution = executor.submit(wf.id, {})
    pgid = _pid(execution.remote_job_id)
    _until(lambda: any(e["type"] == "task" and e["state"] == "running"
                       for e in executor.events(execution.id)))
    members = _group(pgid)
    assert len(members) >= 3  # the runner and its Dask workers (nannies, workers)

    cancelling = executor.cancel(execution.id)
    assert cancelling.state == ExecutionState.CANCELLING
    assert executor.cancel(execution.id).state == ExecutionState.CANCELLING  # idempotent
    started = time.monotonic()
    final = executor.wait(execution.id, 20)
    assert final.state == ExecutionState.CANCELLED
    assert [c.state for c in final.state_history][-2:] == [ExecutionState.CANCELLING,
                                                           ExecutionState.CANCELLED]
    assert time.monotonic() - started < 10
    assert _group(pgid) == []
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in members)
    with pytest.raises(ConflictError):
        executor.cancel(execution.id)


def test_cancel_escalates_to_sigkill(tmp_path: Path, registry: WorkflowRegistry,
                                     executions: ExecutionStore, runs_dir: Path) -> None:
    app = _app(tmp_path, "stubborn.py", "import signal, time\n"
               "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
               "print('ignoring SIGTERM', flush=True)\n"
               "while True:\n    time.sleep(0.1)\n")
    executor = local_service(executions, registry, runs_dir, workers=1, grace_period=1.0)
    wf = registry.register_python_file(app)
    execution = executor.submit(wf.id, {})
    pgid = _pid(execution.remote_job_id)
    _until(lambda: "ignoring SIGTERM" in executor.logs(execution.id)[0])
    executor.cancel(execution.id)
    time.sleep(0.5)
    assert executions.get(execution.id).state == ExecutionState.CANCELLING  # still alive
    assert executor.wait(execution.id, 10).state == ExecutionState.CANCELLED
    assert _group(pgid) == []
    executor.shutdown()


def test_logs_are_incremental(tmp_path: Path, registry: WorkflowRegistry,
                              executor: ExecutionsService) -> None:
    wf = registry.register_python_file(_app(tmp_path, "echo.py", ECHO_APP),
                                       inputs=[{"name": "out", "type": "path"}])
    execution = executor.wait(executor.submit(wf.id, {"out": str(tmp_path / "a.json")}).id,
                              TIMEOUT)
    assert execution.state == ExecutionState.DONE
    whole, end = executor.logs(execution.id)
    assert "line 0 é\n" in whole and "line 199 é\n" in whole
    pieces, offset = [], 0
    while True:
        text, offset_next = executor.logs(execution.id, offset, size=7)  # cuts through é
        assert offset_next - offset <= 7
        if offset_next == offset:
            break
        pieces.append(text)
        offset = offset_next
    assert "".join(pieces) == whole and offset == end
    assert executor.logs(execution.id, end) == ("", end)
    accent = whole.index("é")
    offset = len(whole[:accent].encode())
    assert executor.logs(execution.id, offset, size=1) == ("é", offset + 2)
    with pytest.raises(ValidationError):
        executor.logs(execution.id, -1)


def test_inputs_are_arguments_never_shell(tmp_path: Path, registry: WorkflowRegistry,
                                          executor: ExecutionsService) -> None:
    marker = tmp_path / "x"
    hostile = [f"; touch {marker}", f"$(touch {marker})", f"`touch {marker}`",
               f"'\"; touch {marker}; echo \"'", f"a\nb\ntouch {marker}", "${HOME} $$ $1"]
    wf = registry.register_python_file(
        _app(tmp_path, "echo.py", ECHO_APP),
        inputs=[{"name": "out", "type": "path"}] + [{"name": f"v{i}"}
                                                    for i in range(len(hostile))])
    out = tmp_path / "argv.json"
    given = {"out": str(out), **{f"v{i}": v for i, v in enumerate(hostile)}}
    execution = executor.wait(executor.submit(wf.id, given).id, TIMEOUT)
    assert execution.state == ExecutionState.DONE, execution.error
    assert json.loads(out.read_text()) == hostile
    assert not marker.exists()


def test_recover_fails_stale_runs(tmp_path: Path, registry: WorkflowRegistry,
                                  executions: ExecutionStore, executor: ExecutionsService) -> None:
    wf = registry.register_python_file(_app(tmp_path, "spin.py", SPIN_APP))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = executions.create(wf.id, {}, "local")
    executions.set_remote_job(stale.id, f"local-pid:{gone.pid}:{time.time():.3f}")
    executions.set_state(stale.id, ExecutionState.RUNNING)
    never_started = executions.create(wf.id, {}, "local")
    remote = executions.create(wf.id, {}, "hpc")
    executions.set_state(remote.id, ExecutionState.RUNNING)
    # One the previous server started that still runs: adopted, so it can be cancelled.
    alive = subprocess.Popen(["sleep", "60"], start_new_session=True)
    adopted = executions.create(wf.id, {}, "local")
    executions.set_remote_job(
        adopted.id, f"local-pid:{alive.pid}:{psutil.Process(alive.pid).create_time():.3f}")
    executions.set_state(adopted.id, ExecutionState.RUNNING)
    try:
        executor.recover()
        for failed in (stale, never_started):
            record = executions.get(failed.id)
            assert record.state == ExecutionState.FAILED
            assert record.error == RESTART_ERROR
        assert executions.get(remote.id).state == ExecutionState.RUNNING
        assert executions.get(adopted.id).state == ExecutionState.RUNNING
        executor.recover()  # again: harmless
        assert executor.cancel(adopted.id).state == ExecutionState.CANCELLING
        alive.wait(10)
        assert executor.wait(adopted.id, 10).state == ExecutionState.CANCELLED
    finally:
        if alive.poll() is None:
            os.killpg(alive.pid, signal.SIGKILL)
            alive.wait()


def test_shutdown_cancels_running(tmp_path: Path, registry: WorkflowRegistry,
                                  executions: ExecutionStore, executor: ExecutionsService) -> None:
    wf = registry.register_python_file(_app(tmp_path, "spin.py", SPIN_APP))
    execution = executor.submit(wf.id, {})
    pgid = _pid(execution.remote_job_id)
    _until(lambda: executor.events(execution.id))
    executor.shutdown()
    assert executions.get(execution.id).state == ExecutionState.CANCELLED
    assert _group(pgid) == []
    with pytest.raises(ConflictError):
        executor.submit(wf.id, {})


def test_application_not_on_this_host(registry: WorkflowRegistry, executor: ExecutionsService,
                                      executions: ExecutionStore) -> None:
    wf = registry.register_spec({"name": "remote", "steps": [
        {"name": "s", "application": "/nowhere/src/app.py"}]})
    with pytest.raises(ValidationError, match="not on this host"):
        executor.submit(wf.id, {})
    assert executions.list().total == 0


@pytest.mark.parametrize("application", ["/etc/hostname", "../outside.py",
                                         "src/../../outside.py"])
def test_an_imported_workflow_runs_only_what_is_in_its_folder(
        executor: ExecutionsService, registry: WorkflowRegistry, tmp_path: Path,
        application: str) -> None:
    """Any file of the server once ran as the application (its SyntaxError showed a line
    of /etc/shadow); a workflow from a folder now runs only a file inside that folder."""
    from eflows_kernel.services.workflows import Step, Workflow, workflow_from_folder
    from eflows_kernel.services.workflows.errors import WorkflowImportError

    folder = tmp_path / "imported"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.py").write_text(ECHO_APP)
    (tmp_path / "outside.py").write_text("this is not the workflow's = python\n")
    workflow = Workflow(name="imported", steps=[Step(name="s", application=application)],
                        source={"kind": "folder", "folder": str(folder)})
    registered = registry.register(workflow)
    with pytest.raises(ValidationError, match="runs only what is inside it"):
        executor.submit(registered.id, {}, "local")
    assert executor.list().total == 0
    (folder / "workflow.yaml").write_text(f"name: imported\napplication: {application}\n")
    with pytest.raises(WorkflowImportError, match="does not exist in the folder"):
        workflow_from_folder(folder)


def test_resume_runs_only_what_the_checkpoint_lacks(tmp_path: Path, registry: WorkflowRegistry,
                                                    executor: ExecutionsService,
                                                    runs_dir: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    step = {"name": "squares", "application": str(APPS / "flaky_squares.py"),
            "arguments": [str(ledger)],
            "extra_compss_opts": "--checkpoint=FT --checkpoint_params=finished.tasks:1"}
    wf = registry.register_spec({"name": "flaky", "steps": [step]})
    plain = registry.register_spec({"name": "plain", "steps": [
        {k: v for k, v in step.items() if k != "extra_compss_opts"}]})

    first = executor.wait(executor.submit(wf.id, {}).id, TIMEOUT)
    assert first.state == ExecutionState.FAILED and "node was lost" in (first.error or "")
    assert (runs_dir / first.id / "checkpoint" / "checkpoint.jsonl").is_file()
    assert executor.checkpoint_tasks(first.id) == 4
    (ledger / "ran.txt").write_text("")

    resumed = executor.resume(first.id)
    assert resumed.resumed_from == first.id and resumed.inputs == first.inputs
    done = executor.wait(resumed.id, TIMEOUT)
    assert done.state == ExecutionState.DONE, executor.logs(resumed.id)[0]
    assert "RESULT 55" in executor.logs(resumed.id)[0]
    # the four saved squares came back from the checkpoint: only the last two ran
    assert sorted((ledger / "ran.txt").read_text().split()) == ["4", "5"]
    restored = [e for e in executor.events(resumed.id)
                if e.get("type") == "task" and e.get("restored")]
    assert len(restored) == 4
    # the earlier run keeps its own checkpoint (the new one worked on a copy)
    assert executor.checkpoint_tasks(first.id) == 4
    assert executor.checkpoint_tasks(resumed.id) == 6

    # A run whose step asks for no checkpoint has nothing to resume from: refused, and
    # so is a run still going.
    (ledger / "crashed").unlink()
    other = executor.wait(executor.submit(plain.id, {}).id, TIMEOUT)
    assert other.state == ExecutionState.FAILED
    assert executor.checkpoint_tasks(other.id) == 0
    with pytest.raises(ConflictError, match="no checkpoint"):
        executor.resume(other.id)
    assert not (runs_dir / other.id / "checkpoint").exists()
