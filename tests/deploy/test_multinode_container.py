"""A step of num_nodes 2 in a container image: its main program and the Dask workers of
both nodes run inside the image, on the real multi-node Slurm (two slurmd nodes, each its
own hostname; tests/cluster/setup_slurm_multinode.sh).

The image is a Charliecloud directory in the login's home (``multinode_image``, with a
marker file in its ``/etc`` that the host does not have). The application's tasks report
their host and whether they see the marker (tests/apps/where_tasks_run.py): tasks ran on
both nodes, and every one of them, as the main program, inside the image; the step's
``container_opts`` reached the engine on both nodes (ch-run ``--set-env``). The step
before it, without an image, sees no marker.
"""

from __future__ import annotations

import subprocess
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
