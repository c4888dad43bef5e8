"""A step with container_image runs its whole job in that image, on the real Slurm.

The image is a Charliecloud directory on the site (``site_image``: this host's Debian
Python and the libraries the site's environment needs, with a marker file in
``/etc``); the step before it runs outside. Both steps' programs and tasks say
whether they see the marker: only the container step's do, and the step's
``container_opts`` reach the engine (ch-run ``--set-env``).
"""

from __future__ import annotations

from typing import Any

import pytest

from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack, step_result
from tests.hpc.images import IMAGE_MARKER

pytestmark = pytest.mark.timeout(600)

APP = str(APPS / "where_tasks_run.py")
ONE_CPU = {"workers": 1}




def contained_spec(image: str = "${image}") -> dict[str, Any]:
    return {"name": "contained", "inputs": [{"name": "image", "type": "string"}],
            "steps": [
                {"name": "outside", "application": APP, "arguments": ["2", "0"],
                 "options": ONE_CPU},
                {"name": "inside", "application": APP, "arguments": ["2", "0"],
                 "depends_on": ["outside"], "options": ONE_CPU,
                 "container_image": image, "container_opts": {
                     "engine": "charliecloud",
                     "container_opts": "--set-env=EFLOWS_IN_IMAGE=yes"}}]}


def test_a_container_step_runs_its_program_and_tasks_in_the_image(
        stack: Stack, site_image: str) -> None:
    workflow = stack.registry.register(workflow_from_spec(contained_spec()))
    execution = stack.executor.submit(workflow.id, {"image": site_image}, "cluster",
                                      stack.credential)
    final = stack.wait(execution.id, 400)
    inside_log = stack.executor.logs(execution.id, step="inside")[0]
    assert final.state == ExecutionState.DONE, f"{final.error}\n{inside_log}"
    outside = step_result(stack, execution.id, "outside")
    assert outside["main"]["image"] is None
    assert [t["image"] for t in outside["tasks"]] == [None, None]
    inside = step_result(stack, execution.id, "inside")
    assert inside["main"]["image"] == IMAGE_MARKER
    assert [(t["image"], t["env"]) for t in inside["tasks"]] == [(IMAGE_MARKER, "yes")] * 2
    assert "eflows: running in the container: " in inside_log and "ch-run" in inside_log


def test_a_container_image_missing_on_the_site_fails_the_step_saying_so(
        stack: Stack) -> None:
    workflow = stack.registry.register(workflow_from_spec(contained_spec()))
    execution = stack.executor.submit(workflow.id, {"image": "/no/such/image"}, "cluster",
                                      stack.credential)
    final = stack.wait(execution.id, 300)
    assert final.state == ExecutionState.FAILED
    steps = {s.name: s for s in stack.executor.steps(execution.id)}
    assert steps["outside"].state == "done" and steps["inside"].state == "failed"
    assert steps["inside"].job_id is None  # refused before anything was submitted
    assert "the container image /no/such/image of step 'inside' is not on site" in (
        steps["inside"].error or final.error)
