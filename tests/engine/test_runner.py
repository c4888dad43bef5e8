"""End-to-end tests of the runner (``eflows-run`` / ``python -m eflows_kernel``).

Every test starts the real runner in a subprocess (see the ``run_app`` fixture), so
these tests see what a user sees: exit codes, stdout's ``RESULT`` line, stderr and
the event log.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eflows_kernel.events import validate_event
from tests.conftest import APPS

pytestmark = pytest.mark.slow

REAL_PYCOMPSS_NOTICE = "the real PyCOMPSs is installed"


# -- helpers ---------------------------------------------------------------------------


def result_of(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    """The JSON of the single ``RESULT`` line an application prints."""
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1, f"expected one RESULT line\nstdout:\n{proc.stdout}\n" \
                            f"stderr:\n{proc.stderr}"
    return json.loads(lines[0][len("RESULT "):])


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\n" \
                                 f"stderr:\n{proc.stderr}"


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every line of an event log, parsed (a line that is not JSON fails the test)."""
    assert path.is_file(), f"no event log at {path}"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, "the event log is empty"
    events = []
    for number, line in enumerate(lines, 1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"line {number} of the event log is not JSON ({exc}): {line!r}")
    return events


def run_events(events: list[dict[str, Any]], state: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "run" and (state is None or e["state"] == state)]


def load_app(name: str) -> ModuleType:
    """Import an application module by path (needs the ``pycompss`` alias installed)."""
    spec = importlib.util.spec_from_file_location(f"eflows_test_app_{name}",
                                                  APPS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# -- 1. every application, with the README's arguments ----------------------------------

WORDCOUNT_INPUTS = {
    "a.txt": "The quick brown fox\njumps over the lazy dog.\n",
    "b.txt": "the dog barks\nThe fox runs!\n",
    "c.txt": "a quick dog\n",
}
WORDCOUNT_RESULT = {
    "counts": {"a": 1, "barks": 1, "brown": 1, "dog": 3, "fox": 2, "jumps": 1, "lazy": 1,
               "over": 1, "quick": 2, "runs": 1, "the": 4},
    "files": 3,
    "same": True,
}


def wordcount_args(tmp_path: Path) -> list[str]:
    data = tmp_path / "data"
    data.mkdir()
    for name, text in WORDCOUNT_INPUTS.items():
        (data / name).write_text(text)
    return [str(data), str(data / "out.json")]


def check_wordcount(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == WORDCOUNT_RESULT
    assert json.loads((tmp_path / "data" / "out.json").read_text()) == \
        WORDCOUNT_RESULT["counts"]


def check_kmeans(result: dict[str, Any], tmp_path: Path) -> None:
    expected = load_app("kmeans").reference(400, 3, 4, 3, 7)
    assert result == expected
    assert result == {"centres": [[0.914424, 1.035879], [8.082073, 2.089272],
                                  [6.54822, 9.008556]]}


def check_matmul(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == load_app("matmul").reference(3, 4, 1)
    assert result == {"checksum": 5.587662}


def check_increment_chain(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == {"final": 20, "middle": 10}


def check_file_pipeline(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == {"exists": True, "lines": 20, "ordered": True, "sum": 210,
                      "tmp_exists": False, "tmp_sum": 615}
    work = tmp_path / "work"
    assert (work / "numbers.txt").is_file()
    assert (work / "numbers.txt").read_text().split() == [str(n) for n in range(1, 21)]
    assert not (work / "scratch.txt").exists()


def check_groups_exceptions(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == {"caught": True, "later": [0, 1, 4, 9, 16],
                      "message": "threshold reached"}


def check_parallel_sleep(result: dict[str, Any], tmp_path: Path) -> None:
    intervals, pids = result["intervals"], result["pids"]
    assert len(intervals) == 2 and len(pids) == 2
    for start, end in intervals:
        assert end - start >= 1.0
    # Real parallelism: the two sleeps overlap in time, in two worker processes.
    assert overlap(intervals[0], intervals[1]), intervals
    assert result["overlap"] is True
    assert pids[0] != pids[1]
    assert result["elapsed"] < 1.9, result


ECHOED = ["$(id)", "a b", "x\ny", ""]


def check_echo_args(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == {"args": ECHOED}
    assert json.loads((tmp_path / "args.json").read_text()) == ECHOED


def flaky_squares_args(tmp_path: Path) -> list[str]:
    (tmp_path / "crashed").touch()  # as after the first, crashed run: this one gets through
    return [str(tmp_path)]


def check_flaky_squares(result: Any, tmp_path: Path) -> None:
    assert result == 55
    assert sorted(int(n) for n in (tmp_path / "ran.txt").read_text().split()) == \
        list(range(6))


def data_logistics_args(tmp_path: Path) -> list[str]:
    for folder, texts in (("in1", ["one two three", "four"]), ("in2", ["five six"])):
        (tmp_path / folder / "sub").mkdir(parents=True)
        for index, text in enumerate(texts):
            (tmp_path / folder / "sub" / f"f{index}.txt").write_text(text)
    return [str(tmp_path / "in1"), str(tmp_path / "in2"), str(tmp_path / "results"), "0.6"]


def check_data_logistics(result: dict[str, Any], tmp_path: Path) -> None:
    assert result["files"] == 3 and result["words"] == 6, result
    assert result["ticks"] >= 1
    assert json.loads((tmp_path / "results" / "summary.json").read_text()) == result
    assert (tmp_path / "results" / "progress.txt").read_text() == f"tick {result['ticks']}\n"


def check_where_tasks_run(result: dict[str, Any], tmp_path: Path) -> None:
    assert sorted(t["index"] for t in result["tasks"]) == [0, 1, 2]
    assert all(t["image"] is None for t in result["tasks"])  # no container here
    assert result["main"]["image"] is None
    assert json.loads((tmp_path / "where.json").read_text()) == result


def graph_step_args(tmp_path: Path) -> list[str]:
    (tmp_path / "earlier.txt").write_text("from before")
    return ["--env", "EFLOWS_GRAPH_STEP_UNSET", "--read", str(tmp_path / "earlier.txt"),
            "--sleep", "0.1", "--write", "out.txt", "new: "]


def check_graph_step(result: dict[str, Any], tmp_path: Path) -> None:
    assert result == {"env": {"EFLOWS_GRAPH_STEP_UNSET": None}, "read": "from before",
                      "wrote": ["out.txt"]}
    assert (tmp_path / "out.txt").read_text() == "new: from before"


def check_step_outputs(result: dict[str, Any], tmp_path: Path) -> None:
    squares, notes, scratch = (Path(p) for p in result["wrote"])
    assert (squares, notes) == (tmp_path / "out" / "squares.txt", tmp_path / "out" / "notes.txt")
    assert squares.read_text() == "1\n4\n9\n16\n"
    assert notes.read_text() == "4 squares\n"
    assert scratch.read_text() == "nobody reads this\n"


AppCase = tuple[Callable[[Path], list[str]], Callable[[dict[str, Any], Path], None]]
APP_CASES: dict[str, AppCase] = {
    "wordcount": (wordcount_args, check_wordcount),
    "kmeans": (lambda _: ["400", "3", "4", "3", "7"], check_kmeans),
    "matmul": (lambda _: ["3", "4", "1"], check_matmul),
    "increment_chain": (lambda _: ["20"], check_increment_chain),
    "file_pipeline": (lambda tmp: [str(tmp / "work")], check_file_pipeline),
    "groups_exceptions": (lambda _: [], check_groups_exceptions),
    "parallel_sleep": (lambda _: ["2", "1.0"], check_parallel_sleep),
    "echo_args": (lambda tmp: [str(tmp / "args.json"), *ECHOED], check_echo_args),
    "flaky_squares": (flaky_squares_args, check_flaky_squares),
    "data_logistics": (data_logistics_args, check_data_logistics),
    "where_tasks_run": (lambda _: ["3", "0.1"], check_where_tasks_run),
    "graph_step": (graph_step_args, check_graph_step),
    "step_outputs": (lambda tmp: ["produce", str(tmp / "out" / "squares.txt"),
                                  str(tmp / "out" / "notes.txt"), "4"], check_step_outputs),
}


def test_every_app_is_covered() -> None:
    """Each application of tests/apps (other than the failing_/shim_ helpers) is run here."""
    apps = {p.stem for p in APPS.glob("*.py")
            if not p.name.startswith(("failing_", "shim_", "_"))}
    assert apps == set(APP_CASES)


@pytest.mark.parametrize("app", sorted(APP_CASES))
@pytest.mark.shared_workers
def test_app_through_runner(app: str, run_app: Callable[..., subprocess.CompletedProcess],
                            tmp_path: Path, pycompss_shim: None) -> None:
    make_args, check = APP_CASES[app]
    proc = run_app(f"{app}.py", *make_args(tmp_path))
    assert_ok(proc)
    check(result_of(proc), tmp_path)


# -- 2. python -m eflows_kernel ----------------------------------------------------------


@pytest.mark.shared_workers
def test_module_entry_point(run_app: Callable[..., subprocess.CompletedProcess],
                            tmp_path: Path) -> None:
    proc = run_app("wordcount.py", *wordcount_args(tmp_path), module=True)
    assert_ok(proc)
    check_wordcount(result_of(proc), tmp_path)


# -- 3. the event log ---------------------------------------------------------------------


@pytest.mark.shared_workers
def test_event_log(run_app: Callable[..., subprocess.CompletedProcess],
                   tmp_path: Path) -> None:
    log = tmp_path / "logs" / "events.jsonl"
    proc = run_app("wordcount.py", *wordcount_args(tmp_path),
                   extra=("--event-log", str(log), "--run-id", "wc-run"))
    assert_ok(proc)
    check_wordcount(result_of(proc), tmp_path)

    events = read_log(log)
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["run"] for e in events} == {"wc-run"}

    first, last = events[0], events[-1]
    assert first["type"] == "run" and first["state"] == "starting"
    assert first["app"] == "wordcount.py"
    assert [e["state"] for e in run_events(events)] == ["starting", "running", "done"]

    task_events = [e for e in events if e["type"] == "task"]
    tasks = {e["task"] for e in task_events}
    # wordcount on 3 files: 3 count_words, 2 merge, 1 write_result.
    names = {e["task"]: e["name"] for e in task_events if e.get("name")}
    assert sorted(names.values()) == sorted(["count_words"] * 3 + ["merge"] * 2
                                            + ["write_result"])
    assert tasks == set(names) == set(range(1, len(tasks) + 1))
    done = {e["task"] for e in task_events if e["state"] == "done"}
    assert done == tasks

    assert last["type"] == "run" and last["state"] == "done"
    assert last["counts"] == {"done": len(tasks)}
    assert last.get("error") is None


# -- 4. an existing scheduler --------------------------------------------------------------


def test_existing_scheduler(run_app: Callable[..., subprocess.CompletedProcess],
                            tmp_path: Path, dask_cluster: Any) -> None:
    address = dask_cluster.scheduler_address
    log = tmp_path / "events.jsonl"
    workers_before = set(dask_cluster.scheduler_info["workers"])
    proc = run_app("increment_chain.py", "20",
                   extra=("--scheduler", address, "--event-log", str(log)))
    assert_ok(proc)
    assert result_of(proc) == {"final": 20, "middle": 10}

    events = read_log(log)
    running = run_events(events, "running")
    assert len(running) == 1
    assert running[0]["info"]["scheduler"] == address
    assert running[0]["info"]["workers"] == len(workers_before)
    workers_ran = {e["worker"] for e in events if e["type"] == "task" and e.get("worker")}
    assert workers_ran and workers_ran <= workers_before
    assert events[-1]["type"] == "run" and events[-1]["state"] == "done"
    # The runner leaves an existing cluster running.
    assert dask_cluster.status.name == "running"
    assert set(dask_cluster.scheduler_info["workers"]) == workers_before


# -- 5. a task fails for good ---------------------------------------------------------------


LONG_TASK_SECONDS = 300  # failing_task.py's independent task


@pytest.fixture(scope="module")
def failing_task_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of failing_task.py (shared: two tests look at different parts of it)."""
    tmp_path = tmp_path_factory.mktemp("failing_task")
    log = tmp_path / "events.jsonl"
    cmd = [str(Path(sys.executable).parent / "eflows-run"), "--workers", "2",
           "--event-log", str(log), str(APPS / "failing_task.py"), str(LONG_TASK_SECONDS)]
    began = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                          timeout=LONG_TASK_SECONDS - 60)  # a runner that waits: raises
    return {"proc": proc, "elapsed": time.monotonic() - began, "log": log}


def test_failing_task(failing_task_run: dict[str, Any]) -> None:
    proc = failing_task_run["proc"]
    assert proc.returncode == 1, proc.stderr
    assert "not reached" not in proc.stdout
    assert "task 'broken'" in proc.stderr
    assert "ValueError: bad input 42" in proc.stderr
    # The independent long task is not waited for: the run ended (the fixture's timeout
    # is shorter than the task) and the task was cancelled (counts below). A bound on
    # its own duration, not on how fast a loaded machine starts the runner.
    elapsed = failing_task_run["elapsed"]
    assert elapsed < LONG_TASK_SECONDS, f"the runner took {elapsed:.1f}s"

    events = read_log(failing_task_run["log"])
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    last_run = run_events(events)[-1]
    assert last_run is events[-1]
    assert last_run["state"] == "failed"
    assert "bad input 42" in (last_run.get("error") or "")
    assert last_run["counts"] == {"failed": 1, "cancelled": 1}
    failed = [e for e in events if e["type"] == "task" and e["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["final"] is True
    assert failed[0]["on_failure"] == "FAIL"
    assert "ValueError: bad input 42" in failed[0]["error"]


def test_failing_task_traceback_shows_source(failing_task_run: dict[str, Any]) -> None:
    proc = failing_task_run["proc"]
    assert 'raise ValueError(f"bad input {value}")  # FAILING_TASK_RAISE_LINE' in proc.stderr
    assert "failing_task.py" in proc.stderr
    assert "Compute Failed" not in proc.stderr  # shown once, without the engine's frames
    events = read_log(failing_task_run["log"])
    failed = [e for e in events if e["type"] == "task" and e["state"] == "failed"]
    assert "FAILING_TASK_RAISE_LINE" in failed[0]["error"]


# -- 6. the main program raises -------------------------------------------------------------


def test_failing_main(run_app: Callable[..., subprocess.CompletedProcess],
                      tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    proc = run_app("failing_main.py", extra=("--event-log", str(log)))
    assert proc.returncode == 1, proc.stderr
    assert "task gave 42" in proc.stdout
    assert "RuntimeError: main broke" in proc.stderr
    assert "failing_main.py" in proc.stderr
    assert 'raise RuntimeError("main broke")  # FAILING_MAIN_RAISE_LINE' in proc.stderr
    assert "runpy" not in proc.stderr
    # The traceback starts at the application: none of the runner's frames above it.
    traceback = proc.stderr[proc.stderr.index("Traceback (most recent call last)"):]
    assert "eflows_kernel" not in traceback
    assert traceback.splitlines()[1].lstrip().startswith(f'File "{APPS / "failing_main.py"}"')
    last = read_log(log)[-1]
    assert last["type"] == "run" and last["state"] == "failed"
    assert "main broke" in last["error"]
    assert last["counts"] == {"done": 1}


# -- 7. no such application -----------------------------------------------------------------


def test_missing_app(run_app: Callable[..., subprocess.CompletedProcess],
                     tmp_path: Path) -> None:
    missing = tmp_path / "no_such_app.py"
    proc = run_app(str(missing))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    assert "not found" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- 8. the real PyCOMPSs is never shadowed --------------------------------------------------


def write_fake_pycompss(root: Path) -> None:
    package = root / "pycompss"
    (package / "api").mkdir(parents=True)
    (package / "__init__.py").write_text("REAL = True\n")
    (package / "api" / "__init__.py").write_text("")
    (package / "api" / "task.py").write_text(
        "def task(*args, **kwargs):\n"
        "    def decorate(function):\n"
        "        return function\n"
        "    return decorate\n")


def run_with_pythonpath(tmp_path: Path, app: str, path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(path), *filter(None, [os.environ.get("PYTHONPATH")])])
    cmd = [str(Path(sys.executable).parent / "eflows-run"), "--workers", "1", str(APPS / app)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)


def test_real_pycompss_is_not_shadowed(tmp_path: Path) -> None:
    write_fake_pycompss(tmp_path)
    proc = run_with_pythonpath(tmp_path, "shim_probe.py", tmp_path)
    assert_ok(proc)
    assert result_of(proc) == {"real": True}
    assert REAL_PYCOMPSS_NOTICE in proc.stderr


def test_compat_layer_without_real_pycompss(tmp_path: Path) -> None:
    # Same PYTHONPATH treatment, but the directory holds no pycompss package.
    proc = run_with_pythonpath(tmp_path, "shim_probe.py", tmp_path)
    assert_ok(proc)
    assert result_of(proc) == {"real": False}
    assert REAL_PYCOMPSS_NOTICE not in proc.stderr


# -- 9. sys.exit in the application ----------------------------------------------------------


def test_app_exit_status(run_app: Callable[..., subprocess.CompletedProcess],
                         tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    proc = run_app("failing_exit.py", extra=("--event-log", str(log)))
    assert proc.returncode == 3, proc.stderr
    assert "exiting with status 3" in proc.stdout
    assert "Traceback" not in proc.stderr
    last = read_log(log)[-1]
    assert last["type"] == "run" and last["state"] == "failed"
