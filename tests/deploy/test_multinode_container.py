"""A step of num_nodes 2 in a container image: its main program and the Dask workers of
both nodes run inside the image, on the real multi-node Slurm (two slurmd nodes, each its
own hostname; tests/cluster/setup_slurm_multinode.sh).

The image is a Charliecloud directory in the login's home (``multinode_image``, with a
marker file in its ``/etc`` that the host does not have). The application's tasks report
their host and whether they see the marker (tests/apps/where_tasks_run.py): tasks ran on
both nodes, and every one of them, as the main program, inside the image; the step's
``container_opts`` reached the engine on both nodes (ch-run ``--set-env``). The step
before it, without an image, sees no marker. Cancelled while its tasks run, such a step
ends cancelled and leaves no process of its run on the nodes.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack, step_result
from tests.deploy.test_multinode_step import running_job
from tests.hpc.images import IMAGE_MARKER

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

APP = str(APPS / "where_tasks_run.py")
MARKER = "/etc/eflows-image-marker"  # in the image only


def test_a_two_node_step_in_a_container_runs_main_and_workers_in_the_image_on_both(
        multinode_stack: Stack, multinode_cluster, multinode_image: str) -> None:
    stack, cluster = multinode_stack, multinode_cluster
    assert len(cluster.nodes) >= 2
    assert not Path(MARKER).exists()  # outside the image, nobody sees it
    spec = {"name": "contained-spread", "inputs": [{"name": "image", "type": "string"}],
            "steps": [{"name": "outside", "application": APP, "arguments": ["2", "0"],
                       "options": {"workers": 1}},
                      {"name": "two", "application": APP, "arguments": ["12", "1.5"],
                       "depends_on": ["outside"], "num_nodes": 2, "options": {"workers": 1},
                       "container_image": "${image}", "container_opts": {
                           "engine": "charliecloud",
                           "container_opts": "--set-env=EFLOWS_IN_IMAGE=yes"}}]}
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, {"image": multinode_image}, "multi",
                                      stack.credential)
    job = running_job(stack, execution.id, "two", cluster.env)
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True,
                           env=cluster.env, check=True).stdout
    assert "NumNodes=2 " in shown, shown
    final = stack.wait(execution.id, 600)
    log = stack.executor.logs(execution.id, step="two")[0]
    assert final.state == ExecutionState.DONE, f"{final.error}\n{log}"
    result = step_result(stack, execution.id, "two")
    both = set(cluster.nodes[:2])
    assert {t["host"] for t in result["tasks"]} == both, result
    assert [(t["image"], t["env"]) for t in result["tasks"]] == [(IMAGE_MARKER, "yes")] * 12
    assert result["main"]["image"] == IMAGE_MARKER and result["main"]["host"] in both
    assert "eflows: running in the container: " in log and "ch-run" in log
    outside = step_result(stack, execution.id, "outside")  # the step before, no image
    assert [t["image"] for t in outside["tasks"]] == [None, None]


def test_cancelling_a_two_node_step_in_a_container_leaves_nothing_running(
        multinode_stack: Stack, multinode_cluster, multinode_image: str) -> None:
    stack, cluster = multinode_stack, multinode_cluster
    spec = {"name": "contained-long", "inputs": [{"name": "image", "type": "string"}],
            "steps": [{"name": "long", "application": APP, "arguments": ["8", "120"],
                       "num_nodes": 2, "options": {"workers": 1},
                       "container_image": "${image}",
                       "container_opts": {"engine": "charliecloud"}}]}
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, {"image": multinode_image}, "multi",
                                      stack.credential)
    deadline = time.monotonic() + 300
    while not any(e["type"] == "task" and e["state"] == "running"
                  for e in stack.executor.events(execution.id)):
        assert time.monotonic() < deadline, stack.executor.logs(execution.id)[0]
        assert not stack.executions.get(execution.id).finished, \
            stack.executions.get(execution.id).error
        time.sleep(0.3)
    run_dir = f"{cluster.home}/eflows/runs/{execution.id}"
    assert _processes_of(run_dir), "the run's processes are not to be seen"
    assert stack.executor.cancel(execution.id).state.value == "cancelling"
    done = stack.wait(execution.id, timeout=180)
    assert done.state.value == "cancelled", (done.state, done.error)
    job = subprocess.run(["squeue", "-h", "-j", done.remote_job_id or "", "-o", "%T"],
                         capture_output=True, text=True, env=cluster.env).stdout.strip()
    assert job in ("", "CANCELLED"), job
    deadline = time.monotonic() + 60  # Slurm's KillWait, then SIGKILL
    while _processes_of(run_dir) and time.monotonic() < deadline:
        time.sleep(1)
    assert _processes_of(run_dir) == []


def _processes_of(run_dir: str) -> list[str]:
    """Command lines on this machine (every node's processes) naming the run directory."""
    # -ww: whole command lines (ps cuts them to COLUMNS, which pytest may set)
    out = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if run_dir in line]
