"""A job whose application is a launcher script (the registry's esm
``launch_fesom2.sh``): the runner runs it as a program inside the run, and its own
``enqueue_compss`` call runs the ``.py`` on this run's Dask workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from eflows_kernel.events import validate_event

pytestmark = pytest.mark.slow

LAUNCHER = r"""#!/bin/bash
set -o errexit -o nounset
options=$(getopt --name launch --options c: --longoptions hpc:,cores: -- "$@")
eval set -- "$options"
while [ $# -gt 0 ]; do
  case "$1" in --hpc) HPC="$2"; shift ;; -c|--cores) CORES="$2"; shift ;; --) break ;; esac
  shift
done
[ "${EXIT:-0}" = 0 ] || exit "$EXIT"
DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
enqueue_compss --qos=debug --num_nodes=3 --exec_time=5 --pythonpath="$DIR" \
    "$DIR/simulate.py" --hpc "$HPC" --cores "$CORES"
"""

APP = """import json, sys
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def member(i, hpc):
    return f"{hpc}-{i}"


if __name__ == "__main__":
    found = compss_wait_on([member(i, sys.argv[2]) for i in range(int(sys.argv[4]))])
    json.dump({"members": found, "argv": sys.argv[1:]}, open("ensemble.json", "w"))
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "launch.sh").write_text(LAUNCHER)
    (src / "launch.sh").chmod(0o755)
    (src / "simulate.py").write_text(APP)
    return subprocess.run(
        [sys.executable, "-m", "eflows_kernel.engine.runner", "--workers", "1",
         "--event-log", str(tmp_path / "events.jsonl"), "--submitted-job",
         str(src / "launch.sh"), "--hpc", "mn4", "--cores", "3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={**os.environ, **env})


def test_a_launcher_script_runs_and_its_enqueue_compss_runs_the_py_here(
        tmp_path: Path) -> None:
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = json.loads((tmp_path / "ensemble.json").read_text())
    assert found == {"members": ["mn4-0", "mn4-1", "mn4-2"],
                     "argv": ["--hpc", "mn4", "--cores", "3"]}
    assert "--num_nodes has no effect here" in proc.stderr  # as for the step's own job
    states = [json.loads(line).get("state") for line in
              (tmp_path / "events.jsonl").read_text().splitlines()
              if json.loads(line).get("type") == "run"]
    assert states[-1] == "done"
    inner = [p for p in tmp_path.glob(".eflows-script-*/events-*.jsonl")]
    assert len(inner) == 1 and "task" in inner[0].read_text()


TWICE = r"""#!/bin/bash
set -o errexit -o nounset
DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
runcompss --pythonpath="$DIR" "$DIR/chain.py" first 2
# Before the second call (the run goes on): the first one's tasks are in the run's log.
for _ in $(seq 200); do
  [ "$(grep -c '"type":"task".*"state":"done"' "$OUTER_LOG")" = 2 ] && break
  sleep 0.05
done
{ grep -c '"type":"task"' "$OUTER_LOG" || true; } > seen_between.txt
enqueue_compss --num_nodes=2 "$DIR/chain.py" second 3
"""

CHAIN = """import json, sys
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def step(previous, label):
    return previous + [label]


if __name__ == "__main__":
    label, length = sys.argv[1], int(sys.argv[2])
    value = []
    for i in range(length):
        value = step(value, f"{label}{i}")
    json.dump(compss_wait_on(value), open(f"{label}.json", "w"))
"""


def test_the_tasks_of_a_launchers_two_inner_runs_are_the_runs_live_and_gap_free(
        tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "twice.sh").write_text(TWICE)
    (src / "chain.py").write_text(CHAIN)
    log = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "eflows_kernel.engine.runner", "--workers", "1",
         "--event-log", str(log), "--submitted-job", str(src / "twice.sh")],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={**os.environ, "OUTER_LOG": str(log)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "second.json").read_text()) == ["second0", "second1",
                                                                  "second2"]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    runs = [e for e in events if e["type"] == "run"]
    assert [e["state"] for e in runs] == ["starting", "running", "done"]  # the run's own
    assert runs[-1]["counts"] == {"done": 5}
    tasks = [e for e in events if e["type"] == "task"]
    firsts = [e for e in tasks if "name" in e]  # a task's first event
    assert [(e["task"], e["name"], e.get("deps")) for e in firsts] == [
        (1, "step", []), (2, "step", [1]), (3, "step", []), (4, "step", [3]),
        (5, "step", [4])]
    for task_id in range(1, 6):
        states = [e["state"] for e in tasks if e["task"] == task_id]
        assert states[-1] == "done", (task_id, states)
        (done,) = [e for e in tasks if e["task"] == task_id and e["state"] == "done"]
        assert done["started"] <= done["ended"] and done.get("worker")
    # live: the first run's tasks were in the run's log while the script still ran
    first_run = [e for e in tasks if e["task"] in (1, 2)]
    assert int((tmp_path / "seen_between.txt").read_text()) == len(first_run)
    lines = [e["message"] for e in events if e["type"] == "log"]
    assert "runcompss chain.py (inner run 1): done (2 done)" in lines
    assert "runcompss chain.py (inner run 2): done (3 done)" in lines
    assert runs[-1]["seq"] == events[-1]["seq"]  # nothing after the run's end


def test_a_launcher_scripts_exit_status_is_the_runs(tmp_path: Path) -> None:
    proc = _run(tmp_path, EXIT="3")
    assert proc.returncode == 3
    last = (tmp_path / "events.jsonl").read_text().splitlines()[-1]
    assert json.loads(last)["state"] == "failed"
    assert "status 3" in json.loads(last).get("error", "")


SPIN = """from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def spin():
    import time
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    compss_wait_on(spin())
"""


def test_a_cancelled_launcher_cancels_its_inner_run_and_logs_its_tasks_end(
        tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "spin.sh").write_text('#!/bin/bash\nruncompss "$(dirname "$0")'
                                 '/spin.py"\necho "not reached" > after.txt\n')
    (src / "spin.py").write_text(SPIN)
    log = tmp_path / "events.jsonl"
    runner = subprocess.Popen(
        [sys.executable, "-m", "eflows_kernel.engine.runner", "--workers", "1",
         "--event-log", str(log), "--submitted-job", str(src / "spin.sh")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while '"state":"running","attempt"' not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline and runner.poll() is None, "no running task"
            time.sleep(0.1)
        family = psutil.Process(runner.pid).children(recursive=True)
        runner.send_signal(signal.SIGTERM)
        _out, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 143, err
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        validate_event(event)
    assert events[-1]["type"] == "run" and events[-1]["state"] == "cancelled"
    assert events[-1]["counts"] == {"cancelled": 1}
    assert [e["state"] for e in events if e["type"] == "task"][-1] == "cancelled"
    assert any(e["type"] == "log" and e["message"].startswith(
        "runcompss spin.py (inner run 1): cancelled") for e in events)
    assert not (tmp_path / "after.txt").exists()
    _gone, alive = psutil.wait_procs(family, timeout=15)
    assert alive == []  # the script, its inner run and the workers all ended


def test_an_executable_launcher_without_a_shebang_runs_as_a_shell_runs_it(
        tmp_path: Path) -> None:
    """``exec`` of such a file fails (ENOEXEC); a shell runs it itself, so do we."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "plain.sh").write_text('runcompss "$(dirname "$0")/chain.py" plain 2\n')
    (src / "plain.sh").chmod(0o755)
    (src / "chain.py").write_text(CHAIN)
    proc = subprocess.run(
        [sys.executable, "-m", "eflows_kernel.engine.runner", "--workers", "1",
         "--event-log", str(tmp_path / "events.jsonl"), "--submitted-job",
         str(src / "plain.sh")],
        cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "plain.json").read_text()) == ["plain0", "plain1"]


def test_each_inner_run_gets_a_log_of_its_own_even_under_the_same_pid(tmp_path: Path) -> None:
    """The shim names an inner run's log before the run starts, unique in the folder: two
    calls from shells with the same pid (a pid handed out again) still get two logs."""
    from eflows_kernel.engine.script_app import _shim_dir

    logs = tmp_path / "logs"
    logs.mkdir()
    shim = Path(_shim_dir("tcp://127.0.0.1:1", str(logs))) / "runcompss"
    # The shim as it is, with the runner it execs replaced by a program that says which
    # log it was given; run twice in subshells of one shell, where $$ is that shell's pid
    # both times.
    text = shim.read_text().replace("exec ", "exec echo ", 1)
    probe = tmp_path / "probe.sh"
    probe.write_text(text)
    said = subprocess.run(["sh", "-c", f"( . {probe} ); ( . {probe} )"], capture_output=True,
                          text=True, timeout=30, check=True).stdout.split("\n")
    given = [line.split("--event-log ")[1].split()[0] for line in said if "--event-log" in line]
    assert len(given) == 2 and given[0] != given[1], said
    assert all(Path(path).parent == logs and path.endswith(".jsonl") for path in given)
    # the names are reserved: a later call cannot be handed the same one
    assert all(Path(path.removesuffix(".jsonl")).is_file() for path in given)


def test_a_script_is_told_and_run_by_its_first_line_read_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which programs are scripts, and how each is run, from one read of its first line."""
    from eflows_kernel.engine import script_app

    files = {"launch.sh": "#!/bin/bash\n", "plain.sh": "runcompss x.py\n",
             "tool": "#!/bin/sh\n", "pytool": "#!/usr/bin/env python3\n",
             "data": "no line of a program\n", "app.py": "#!/bin/bash\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    (tmp_path / "readable.sh").write_text("#!/bin/sh\n")  # not executable: bash runs it
    opened: list[str] = []
    real_open = open

    def counting_open(path: str, *args: object, **kwargs: object) -> object:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(script_app, "open", counting_open, raising=False)
    shebangs = {name: script_app.script_shebang(str(tmp_path / name))
                for name in [*files, "readable.sh", "gone.sh", "gone"]}
    assert shebangs == {"launch.sh": b"#!/bin/bash\n", "plain.sh": b"", "tool": b"#!/bin/sh\n",
                        "pytool": None, "data": None, "app.py": None,
                        "readable.sh": b"#!/bin/sh\n", "gone.sh": b"", "gone": None}
    commands = {name: script_app._command(str(tmp_path / name), ["a"], shebang)
                for name, shebang in shebangs.items() if shebang is not None}
    assert commands == {
        "launch.sh": [str(tmp_path / "launch.sh"), "a"],
        "plain.sh": ["bash", str(tmp_path / "plain.sh"), "a"],  # ENOEXEC: a shell's way
        "tool": [str(tmp_path / "tool"), "a"],
        "readable.sh": ["bash", str(tmp_path / "readable.sh"), "a"],
        "gone.sh": ["bash", str(tmp_path / "gone.sh"), "a"]}
    assert sorted(opened) == sorted(str(tmp_path / n) for n in shebangs if n != "app.py")
