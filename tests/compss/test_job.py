"""The COMPSs part of a run's job script: options, quoting, and a real bash run of it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from eflows_kernel.compss.job import EXIT_FILE, compss_job_lines
from eflows_kernel.events import read_events, validate_event
from eflows_kernel.services.deploy.jobs import JobRequest, job_script
from tests.compss.fake_runtime import install_fake

HERE = Path(__file__).resolve().parent
GRAPHS = HERE.parents[0] / "fixtures" / "compss-graphs"
NASTY = ["plain", "two words", "a;b", "$(touch pwned)", "`touch pwned2`", "it's", '"dq"',
         "line1\nline2", "--looks-like-an-option", "*", "~", ""]


def request(run_dir: str, **changes: object) -> JobRequest:
    values: dict[str, object] = dict(
        run_dir=run_dir, python=sys.executable, application=f"{run_dir}/app/my app.py",
        arguments=NASTY, run_id="run-1", first_seq=5, runtime="compss",
        runcompss="/opt/compss/bin/runcompss")
    values.update(changes)
    return JobRequest(**values)  # type: ignore[arg-type]


def runcompss_line(lines: list[str]) -> list[str]:
    line = next(ln for ln in lines if ln.endswith(" < /dev/null &") and "runcompss" in ln)
    return shlex.split(line.removesuffix(" < /dev/null &"))


def test_runcompss_options_and_literal_arguments(tmp_path: Path) -> None:
    run_dir = str(tmp_path / "run $(x) dir")
    argv = runcompss_line(compss_job_lines(request(run_dir)))
    assert argv[0] == "/opt/compss/bin/runcompss"
    assert "--lang=python" in argv and "--graph=true" in argv
    assert any(a.startswith("--monitoring=") for a in argv)
    assert f"--base_log_dir={run_dir}/compss" in argv
    assert f"--log_dir={run_dir}/compss/my app" in argv
    assert f"--pythonpath={run_dir}/app" in argv
    app = argv.index(f"{run_dir}/app/my app.py")
    assert argv[app + 1:] == NASTY


def test_bash_reads_every_value_back_literally(tmp_path: Path) -> None:
    """No expansion at all: bash is given the lines with a stand-in printing its argv."""
    run_dir = tmp_path / "r;un $(touch pwned0)"
    run_dir.mkdir()
    printer = tmp_path / "print-argv"
    printer.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done\n')
    printer.chmod(0o755)
    lines = compss_job_lines(request(str(run_dir), runcompss=str(printer)))
    line = next(ln for ln in lines if "print-argv" in ln).removesuffix(" < /dev/null &")
    out = subprocess.run(["bash", "-c", line], cwd=run_dir, capture_output=True, check=True)
    argv = out.stdout.decode().split("\0")[:-1]
    assert argv[-len(NASTY):] == NASTY
    assert not list(tmp_path.rglob("pwned*")) and not list(Path.cwd().glob("pwned*"))


def test_job_script_dispatches_to_compss(tmp_path: Path) -> None:
    script = job_script(request(str(tmp_path)))
    assert script.startswith("#!/bin/bash\n")
    assert "eflows_kernel.compss.follow" in script
    assert "eflows_kernel.engine.runner" not in script
    assert script.rstrip().endswith('exit "$status"')
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)


@pytest.mark.parametrize(("name", "status"), [("runcompss", 0), ("runcompss-fail", 3)])
def test_the_script_runs_compss_and_its_sidecar(tmp_path: Path, name: str,
                                                status: int) -> None:
    """The whole job script in bash with a fake runtime: events, exit codes, argv."""
    fake = install_fake(tmp_path / "compss bin", name)
    run_dir = tmp_path / "run dir"
    (run_dir / "app").mkdir(parents=True)
    (run_dir / "app" / "my app.py").write_text("print('never run by the fake')\n")
    (run_dir / "job.sh").write_text(job_script(request(str(run_dir), runcompss=str(fake))))
    env = {**os.environ, "FAKE_COMPSS_TICK": "0.2", "FAKE_COMPSS_STEPS": "3"}
    done = subprocess.run(["bash", str(run_dir / "job.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == status, done.stderr
    assert (run_dir / EXIT_FILE).read_text().strip() == str(status)
    assert (run_dir / "exit_code").read_text().strip() == str(status)
    dumped = json.loads((run_dir / "runcompss_argv.json").read_text())
    assert dumped["args"] == NASTY and dumped["app"] == f"{run_dir}/app/my app.py"
    events = read_events(run_dir / "events.jsonl")
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(5, 5 + len(events)))
    assert events[0]["type"] == "run" and events[0]["state"] == "starting"
    tasks = {e["task"]: e["state"] for e in events if e["type"] == "task"}
    assert len(tasks) == 24
    final = events[-1]
    assert final["type"] == "run"
    if status == 0:
        assert final["state"] == "done" and set(tasks.values()) == {"done"}
    else:
        assert final["state"] == "failed"
        assert "runcompss exited with status 3" in final["error"]
        assert str(run_dir / "compss") in final["error"]


def test_a_steps_python_interpreter_and_extra_options_reach_runcompss() -> None:
    lines = compss_job_lines(request("/r", arguments=["x"], python_interpreter="python3",
                                     compss_options=["--pythonpath=/w/src", "--exec_time=20"]))
    argv = runcompss_line(lines)
    app = argv.index("/r/app/my app.py")
    assert "--python_interpreter=python3" in argv[:app]
    assert argv[app - 2:app] == ["--pythonpath=/w/src", "--exec_time=20"]
    assert argv[app + 1:] == ["x"]
