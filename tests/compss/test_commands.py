"""The runcompss / enqueue_compss command lines: argv lists, safe to render."""

from __future__ import annotations

import shlex

import pytest

from eflows_kernel.compss.commands import (
    CompssLaunch,
    enqueue_compss_argv,
    render,
    runcompss_argv,
)

NASTY = ["two words", "it's \"quoted\"", "a;rm -rf ~", "$(touch /tmp/pwned)", "`id`", "*", ""]


def test_runcompss_argv() -> None:
    launch = CompssLaunch(app="/apps/wf/main.py", args=["--n", "10"],
                          base_log_dir="/scratch/u/logs", pythonpath=["/apps/wf", "/opt/lib"])
    assert runcompss_argv(launch) == [
        "runcompss", "--lang=python", "--monitoring=2000", "--graph=true",
        "--base_log_dir=/scratch/u/logs", "--pythonpath=/apps/wf:/opt/lib",
        "/apps/wf/main.py", "--n", "10",
    ]


def test_enqueue_compss_argv() -> None:
    launch = CompssLaunch(app="main.py", monitoring_ms=500, log_dir="/l/app_01",
                          extra={"worker_in_master_cpus": 0, "summary": True, "tracing": False})
    argv = enqueue_compss_argv(launch, num_nodes=2, exec_time_min=30, qos="debug",
                               account="ehpc01", cpus_per_node=48, job_name="wf")
    assert argv == [
        "enqueue_compss", "--num_nodes=2", "--exec_time=30", "--cpus_per_node=48",
        "--qos=debug", "--project_name=ehpc01", "--job_name=wf",
        "--lang=python", "--monitoring=500", "--graph=true", "--log_dir=/l/app_01",
        "--worker_in_master_cpus=0", "--summary", "main.py",
    ]


def test_monitoring_off() -> None:
    argv = runcompss_argv(CompssLaunch(app="a.py", monitoring_ms=None, graph=False))
    assert argv == ["runcompss", "--lang=python", "a.py"]


def test_dangerous_values_stay_single_items_and_round_trip() -> None:
    launch = CompssLaunch(app="/my apps/main.py", args=NASTY, base_log_dir="/tmp/$(whoami) x")
    argv = enqueue_compss_argv(launch, qos="a b;c", account="$(id)")
    assert argv[-len(NASTY):] == NASTY
    assert "--qos=a b;c" in argv and "--project_name=$(id)" in argv
    assert "--base_log_dir=/tmp/$(whoami) x" in argv
    assert "/my apps/main.py" in argv
    line = render(argv)
    assert shlex.split(line) == argv
    assert "$(id)" not in line.replace("'--project_name=$(id)'", "")  # only inside quotes
    assert shlex.split(render(runcompss_argv(launch))) == runcompss_argv(launch)


@pytest.mark.parametrize(
    ("kwargs", "launch"),
    [
        ({"num_nodes": 0}, CompssLaunch(app="a.py")),
        ({"exec_time_min": 0}, CompssLaunch(app="a.py")),
        ({}, CompssLaunch(app="--evil")),
        ({}, CompssLaunch(app="a.py", monitoring_ms=0)),
        ({}, CompssLaunch(app="a.py", extra={"x; rm": "1"})),
    ],
)
def test_rejects_bad_input(kwargs: dict, launch: CompssLaunch) -> None:
    with pytest.raises(ValueError):
        enqueue_compss_argv(launch, **kwargs)
