"""Each HPC task type end to end through ``eflows-run``, with real programs.

The applications are in tests/apps/hpc/; their expected values are PyCOMPSs'
(those of its own test applications where they exist).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.events import validate_event
from tests.hpc import HPC_APPS

pytestmark = pytest.mark.slow


def result_of(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\n" \
                                 f"stderr:\n{proc.stderr}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1, proc.stdout + proc.stderr
    return json.loads(lines[0][len("RESULT "):])


def task_events(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Task events by task name, every event validated against the schema."""
    events = [json.loads(line) for line in path.read_text().splitlines()]
    for event in events:
        validate_event(event)
    names = {e["task"]: e["name"] for e in events if e["type"] == "task" and "name" in e}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["type"] == "task":
            by_name.setdefault(names[event["task"]], []).append(event)
    return by_name


def test_binary_tasks(run_app, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    proc = run_app(str(HPC_APPS / "hpc_binary.py"), str(tmp_path / "work"),
                   extra=("--threads-per-worker", "2", "--event-log", str(log)))
    result = result_of(proc)
    infile = str(tmp_path / "work" / "infile.txt")
    assert result["grep"] == ["Hi there", "Hi again"]  # FILE_IN_STDIN, FILE_OUT_STDOUT
    # Order of the signature; Prefix glued to the value, a collection one per argument,
    # Prefix "#" left out, a string with a space kept as one argument, the STDOUT one
    # redirected, not passed.
    assert result["args"] == ["[-l]", f"[--hide={infile}]", "[--sort=time]", "[1]", "[2]",
                              "[3]", "[two words]"]
    assert result["date"] == "2024-02-29" and result["date_wd"]  # args template, {{}} wd
    assert result["codes"] == [0, 7]  # fail_by_exit_value=False: the exit value returned
    assert result["failed"] == -1  # exit 3 failed the task (default); IGNOREd
    assert result["failed_stderr"] == "to-stderr"  # FILE_OUT_STDERR
    assert result["env"] == ["2", "2", "1"]  # COMPSS_NUM_THREADS, OMP_NUM_THREADS, nodes
    assert result["env_code"] == 0 and result["sandbox_cwd"]
    assert result["timed_out"] is None  # time_out=1 on sleep 30: killed, IGNOREd
    events = task_events(log)
    failing = events["failing"]
    assert failing[0]["task_type"] == "binary"
    last = failing[-1]
    assert last["state"] == "failed" and last["final"]
    assert last["exit_value"] == 3 and last["command"][:2] == ["sh", "-c"]
    assert "exited with value 3" in last["error"] and "to-stderr" in last["error"]
    done = [e for e in events["exit_with"] if e["state"] == "done"]
    assert sorted(e["exit_value"] for e in done) == [0, 7]
    assert "exceeded its time_out of 1 s" in events["too_long"][-1]["error"]


def test_mpi_mpmd_and_multinode_tasks(run_app, tmp_path: Path, mpi_hello: Path) -> None:
    log = tmp_path / "events.jsonl"
    proc = run_app(str(HPC_APPS / "hpc_mpi.py"), str(tmp_path / "work"), str(mpi_hello),
                   extra=("--threads-per-worker", "4", "--event-log", str(log)),
                   timeout=300)
    result = result_of(proc)
    assert result["exit"] == 0
    assert len(result["hello"]) == 6  # 6 ranks, each with its arguments (Prefix glued)
    for rank, line in enumerate(result["hello"]):
        assert line.startswith(f"rank {rank} of 6 on ") and line.endswith(
            ": [alpha] [--level=3]"), line
    assert result["template"][0].endswith("[-x] [beta]") and result["template_exit"] == 0
    assert result["failed"] == -1 and result["exit_code"] == 4
    assert result["mpmd"] == ["first A", "second B", "second B"]
    # PyCOMPSs' expected values for its Python MPI tests (test_mpi_layouts, return_rank).
    assert result["ranks"] == [10, 11, 12, 13]
    assert result["omp"] == [12, 13]  # OMP_NUM_THREADS = computing_units per process
    assert result["layout_normal"] == [2, 12, 22, 32]
    assert result["layout_all"] == [3, 6, 9, 12]
    assert result["layout_nested"] == [0, 10, 24, 42]
    multi = result["multinode"]
    assert multi["COMPSS_NUM_NODES"] == "2" and multi["COMPSS_NUM_THREADS"] == "1"
    assert len(multi["COMPSS_HOSTNAMES"].split(",")) == 2
    events = task_events(log)
    first = events["hello"][0]
    assert (first["task_type"], first["processes"], first["nodes"]) == ("mpi", 6, 6)
    running = [e for e in events["hello"] if e["state"] == "running"]
    assert len(running[0]["hosts"]) == 2  # the task held both workers
    done = events["hello"][-1]
    assert done["state"] == "done" and done["exit_value"] == 0
    assert done["command"][0] == "mpirun" and "-n" in done["command"]
    assert done["command"][done["command"].index("-n") + 1] == "6"
    assert events["ranks"][0]["task_type"] == "python_mpi"
    assert events["two_programs"][0]["task_type"] == "mpmd_mpi"
    assert ":" in events["two_programs"][-1]["command"]
    node_task = events["multi_node_task"]
    assert (node_task[0]["task_type"], node_task[0]["nodes"]) == ("multinode", 2)
    assert len({w for w in [e.get("worker") for e in node_task] if w}) == 1


def test_container_tasks_run_in_a_local_image(run_app, tmp_path: Path,
                                              python_image: Path) -> None:
    log = tmp_path / "events.jsonl"
    proc = run_app(str(HPC_APPS / "hpc_container.py"), "CHARLIECLOUD", str(python_image),
                   str(tmp_path / "work"), extra=("--event-log", str(log)))
    result = result_of(proc)
    # The Python body ran with the image's Python and saw the image's files, and the
    # host's input and output files at their own paths.
    assert result["seen"] == {"lines": 3, "marker": "inside the eflows test image",
                              "python": "/usr/bin/python3"}
    assert result["count"] == "15"
    assert result["cat"] == "inside the eflows test image" and result["exit"] == 0
    events = task_events(log)
    assert events["inside"][0]["container"] == {"engine": "CHARLIECLOUD",
                                               "image": str(python_image)}
    command = events["cat_in_image"][-1]["command"]
    assert command[0].endswith("ch-run") and command[-2:] == ["cat",
                                                             "/etc/eflows-image-marker"]


def test_software_tasks_from_json_descriptions(run_app, tmp_path: Path, mpi_hello: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPI_HELLO", str(mpi_hello))
    monkeypatch.setenv("COUNT_CUS", "2")
    proc = run_app(str(HPC_APPS / "hpc_software.py"), str(tmp_path / "work"),
                   extra=("--threads-per-worker", "2"))
    result = result_of(proc)
    assert result["hello_exit"] == 0
    assert [line.split(":")[1] for line in result["hello"]] == [" [-n] [gamma]"] * 2
    assert result["epilog"] == ["epilog.txt"]  # the prolog made the working dir
    assert result["count"] == 3 and result["cores"] == 2  # "$COUNT_CUS"
    assert result["grep"] == "2" and result["grep_exit"] == 0
