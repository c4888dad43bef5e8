"""Each task's stdout/stderr from a COMPSs log directory's job files.

The files here are written by the test, shaped as the runtime writes them (its
``jobs/job<J>_<HISTORY>.out|.err`` and the job lines of ``runtime.log``), since the
runtime itself cannot be installed on this machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eflows_kernel.compss.job_output import OUTPUT_LIMIT, JobOutputs
from eflows_kernel.compss.monitor import CompssMonitorReader
from eflows_kernel.events import EventStream, validate_event
from tests.compss.test_monitor import GRAPHS, STATE_XML, WHITE, current_graph, write

# Job lines as runtime.log has them at log level info (prefixes vary by version).
RUNTIME_LOG = """\
[(812)    API]  -  Registering CoreElement taskGroups.write_one
[(1022)    TaskProcessor]  -  New method task(taskGroups.write_one, ID = 1)
[(1090)    JobManager]  -  New Job 1 (Task: 1)
[(1090)    JobManager]  -    * Method name: write_one
[(1090)    JobManager]  -    * Target host: COMPSsWorker01
[(1091)    JobManager]  -  Submitted Task: 1 Job: 1 Method: write_one Resource: COMPSsWorker01
[(1400)    JobManager]  -  New Job 2 (Task: 23)
[(1500)    JobManager]  -  Job 2, running Task 23 on worker COMPSsWorker01, has failed.
[(1501)    JobManager]  -  Resubmitting job to the same worker.
[(1700)    JobManager]  -  Job 2, running Task 23 on worker COMPSsWorker01, has failed.
[(1750)    JobManager]  -  Rescheduled Job 5 (Task: 23)
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "taskGroups_01"
    (app / "jobs").mkdir(parents=True)
    (app / "runtime.log").write_text(RUNTIME_LOG)
    return app


def job_files(app: Path, job: int, history: str, out: str, err: str = "") -> None:
    (app / "jobs" / f"job{job}_{history}.out").write_text(out)
    (app / "jobs" / f"job{job}_{history}.err").write_text(err)


def test_a_tasks_output_is_its_last_attempts_files(app_dir: Path) -> None:
    job_files(app_dir, 1, "NEW", "wrote one\n")
    job_files(app_dir, 2, "NEW", "first try\n", "Traceback: first\n")
    job_files(app_dir, 2, "RESUBMITTED", "second try\n", "Traceback: second\n")
    job_files(app_dir, 7, "NEW", "another task's job\n")  # no job line names it
    outputs = JobOutputs(app_dir)
    assert outputs.jobs_of(23) == [2, 5]
    assert outputs.output(1) == {"stdout": "wrote one\n"}  # an empty .err is left out
    # job 5 (rescheduled) left no files yet: the retry on the same worker is the last
    assert outputs.output(23) == {"stdout": "second try\n", "stderr": "Traceback: second\n"}
    job_files(app_dir, 5, "RESCHEDULED", "third try\n", "Traceback: third\n")
    assert outputs.output(23)["stderr"] == "Traceback: third\n"
    assert outputs.output(99) == {}


def test_the_log_is_followed_as_it_grows(app_dir: Path) -> None:
    """Only complete lines count; a line the runtime is still writing waits."""
    (app_dir / "runtime.log").write_text("[(10) JobManager]  -  New Job 3 (Ta")
    outputs = JobOutputs(app_dir)
    assert outputs.jobs_of(4) == []
    with (app_dir / "runtime.log").open("a") as log:
        log.write("sk: 4)\n")
    assert outputs.jobs_of(4) == [3]


def test_long_output_keeps_its_end_and_missing_folders_are_no_error(tmp_path: Path,
                                                                   app_dir: Path) -> None:
    job_files(app_dir, 1, "NEW", "x" * (OUTPUT_LIMIT * 5) + "the end\n")
    out = JobOutputs(app_dir).output(1)["stdout"]
    assert out.startswith("[...]\n") and out.endswith("the end\n")
    assert len(out) <= OUTPUT_LIMIT + 10
    assert JobOutputs(tmp_path / "nowhere").output(1) == {}
    shutil.rmtree(app_dir / "jobs")
    assert JobOutputs(app_dir).output(1) == {}


def test_the_monitor_reader_puts_the_output_on_the_tasks_end(app_dir: Path) -> None:
    """A failed task's event carries what its job printed: the graph's details show it
    for runs under the real runtime too."""
    tick = [1000]
    monitor = app_dir / "monitor"
    monitor.mkdir()
    shutil.copy(GRAPHS / "2_task_groups.dot", monitor / "complete_graph.dot")
    job_files(app_dir, 1, "NEW", "wrote one\n")
    job_files(app_dir, 2, "NEW", "", "ValueError: bad input\n")
    write(monitor / "current_graph.dot", current_graph({}, [(22, WHITE), (23, WHITE)]), tick)
    stream = EventStream("compss-run")
    reader = CompssMonitorReader(app_dir, stream, app="taskGroups.py")
    reader.poll()
    write(monitor / "COMPSs_state.xml", STATE_XML, tick)  # 23 failed
    reader.poll()
    events = stream.events()
    for event in events:
        validate_event(event)
    ends = {e["task"]: e for e in events if e["type"] == "task" and e["state"] in (
        "done", "failed")}
    assert ends[1]["stdout"] == "wrote one\n" and "stderr" not in ends[1]
    assert ends[23]["state"] == "failed" and ends[23]["stderr"] == "ValueError: bad input\n"
    assert "stdout" not in ends[2]  # no job files: nothing made up
