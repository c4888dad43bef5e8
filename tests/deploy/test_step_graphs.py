"""Step graphs on the real cluster: steps on two sites, a parallel branch, failure, cancel,
restart, and templates reaching sbatch (read back with ``scontrol show job``).

The two sites are two site records on the test sshd with their own work directories
(``front`` in ``~/eflows``, ``back`` in ``~/eflows-back``), each step a Slurm job of
its own sized at 1 CPU (the test node has 2), so the two branch steps can run at once.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from eflows_kernel.events import read_events
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack, seqs_are_gap_free

pytestmark = pytest.mark.timeout(600)

APP = str(APPS / "graph_step.py")
ONE_CPU = {"workers": 1}


def graph_spec(first: list[str], branch_seconds: float) -> dict[str, Any]:
    """prepare (Front) -> left, right (Back, at once) -> join (Front)."""
    return {
        "name": "graph",
        "inputs": [{"name": "minutes", "type": "integer", "default": 7},
                   {"name": "nodes", "type": "integer", "default": 1},
                   {"name": "greeting", "type": "string", "default": "hello"}],
        "steps": [
            {"name": "prepare", "application": APP, "environment": "Front",
             "arguments": first, "options": ONE_CPU},
            {"name": "left", "application": APP, "environment": "Back",
             "depends_on": ["prepare"], "options": ONE_CPU,
             "arguments": ["--read", "${steps.prepare.dir}/data.txt", "--sleep",
                           str(branch_seconds), "--write", "left.txt", "left saw: "]},
            {"name": "right", "application": APP, "environment": "Back",
             "depends_on": ["prepare"], "options": ONE_CPU,
             "time_limit": "${minutes}", "num_nodes": "${nodes}",
             "env": {"GREETING": "${greeting} from ${steps.prepare.dir}"},
             "arguments": ["--sleep", str(branch_seconds)]},
            {"name": "join", "application": APP, "environment": "Front",
             "depends_on": ["left", "right"], "options": ONE_CPU,
             "arguments": ["--read", "${steps.left.dir}/left.txt"]},
        ],
    }


WRITE = ["--write", "data.txt", "from prepare"]


@pytest.fixture
def two_sites(stack: Stack) -> Stack:
    stack.add_site("back", scheduler="slurm", python={"path": "/usr/bin/python3"},
                   workdir="~/eflows-back")
    return stack


def trigger(stack: Stack, spec: dict[str, Any], **inputs: Any) -> str:
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, inputs,
                                      {"Front": "cluster", "Back": "back"},
                                      stack.credential)
    return execution.id


def steps(stack: Stack, execution_id: str) -> dict[str, Any]:
    return {s.name: s for s in stack.executor.steps(execution_id)}


def squeue_running(job_ids: list[str]) -> set[str]:
    out = subprocess.run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T"],
                         capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.split()[1:] == ["RUNNING"]}


def wait_both_running(stack: Stack, execution_id: str, timeout: float = 180) -> list[str]:
    """The two branch jobs, once Slurm runs both at the same time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = steps(stack, execution_id)
        jobs = [current[n].job_id for n in ("left", "right")]
        if all(jobs) and squeue_running(jobs) == set(jobs):  # type: ignore[arg-type]
            return jobs  # type: ignore[return-value]
        assert not stack.executions.get(execution_id).finished, current
        time.sleep(0.3)
    raise AssertionError(f"the branch never ran at once: {steps(stack, execution_id)}")


def scontrol(job_id: str) -> str:
    return subprocess.run(["scontrol", "show", "job", job_id], capture_output=True,
                          text=True, check=True).stdout


def output(stack: Stack, execution_id: str, step: str) -> str:
    return stack.executor.logs(execution_id, step=step)[0]


def test_two_sites_a_concurrent_branch_data_between_steps_and_templates(
        two_sites: Stack) -> None:
    stack = two_sites
    execution_id = trigger(stack, graph_spec(WRITE, 8), minutes="7", greeting="hi")
    jobs = wait_both_running(stack, execution_id)  # the branch runs at once
    right = scontrol(jobs[1])
    assert "TimeLimit=00:07:00" in right and "NumNodes=1" in right and "NumCPUs=1" in right
    final = stack.wait(execution_id, 300)
    assert final.state == ExecutionState.DONE, final.error
    current = steps(stack, execution_id)
    assert {n: (s.state, s.site) for n, s in current.items()} == {
        "prepare": ("done", "cluster"), "left": ("done", "back"), "right": ("done", "back"),
        "join": ("done", "cluster")}
    assert len({s.job_id for s in current.values()}) == 4  # a Slurm job each
    prepare_dir = stack.executor.graphs.step_dir(
        stack.executions.get(current["prepare"].execution_id))
    assert prepare_dir.startswith(str(stack.sshd.home / "eflows" / "runs"))
    left_dir = stack.executor.graphs.step_dir(
        stack.executions.get(current["left"].execution_id))
    assert "/eflows-back/runs/" in left_dir  # the other site's work directory
    assert "read: 'from prepare'" in output(stack, execution_id, "left")
    assert "read: 'left saw: from prepare'" in output(stack, execution_id, "join")
    events = read_events(final.event_log)
    seqs_are_gap_free(events)
    for name in current:
        states = [e["state"] for e in events if e["type"] == "step" and e["step"] == name]
        assert states[-1] == "done" and "running" in states, (name, states)
        assert any(e.get("step") == name and e["type"] == "stage" for e in events)
    submitted = [e["info"]["job_id"] for e in events if e["type"] == "stage"
                 and e.get("stage") == "submit" and e["state"] == "done"]
    assert sorted(submitted) == sorted(s.job_id for s in current.values())


def test_a_failed_first_step_cancels_every_successor(two_sites: Stack) -> None:
    stack = two_sites
    execution_id = trigger(stack, graph_spec(["--exit", "3"], 1))
    final = stack.wait(execution_id, 240)
    assert final.state == ExecutionState.FAILED
    assert "step prepare failed" in final.error
    current = steps(stack, execution_id)
    assert current["prepare"].state == "failed"
    for name in ("left", "right", "join"):
        assert current[name].state == "cancelled" and current[name].job_id is None
    assert [c.step for c in stack.executions.steps(execution_id)] == ["prepare"]


def test_cancelling_mid_graph_cancels_each_running_slurm_job(two_sites: Stack) -> None:
    stack = two_sites
    execution_id = trigger(stack, graph_spec(WRITE, 300))
    jobs = wait_both_running(stack, execution_id)
    stack.executor.cancel(execution_id)
    final = stack.wait(execution_id, 120)
    assert final.state == ExecutionState.CANCELLED
    assert squeue_running(jobs) == set()
    current = steps(stack, execution_id)
    assert [current[n].state for n in ("prepare", "left", "right", "join")] == [
        "done", "cancelled", "cancelled", "cancelled"]


def test_a_restart_mid_graph_re_attaches_every_running_step(two_sites: Stack) -> None:
    stack = two_sites
    execution_id = trigger(stack, graph_spec(WRITE, 15))
    jobs = wait_both_running(stack, execution_id)
    stack.executor.shutdown()  # the server stops; the jobs go on
    stack.executor = stack.new_executor()
    stack.executor.router  # noqa: B018 - the new server re-attaches as it starts
    followed = set(stack.executor._deployments)
    assert {steps(stack, execution_id)[n].execution_id for n in ("left", "right")} <= followed
    assert squeue_running(jobs) == set(jobs)
    final = stack.wait(execution_id, 300)
    assert final.state == ExecutionState.DONE, final.error
    assert "read: 'left saw: from prepare'" in output(stack, execution_id, "join")
    seqs_are_gap_free(read_events(final.event_log))


def test_an_unbound_environment_is_refused_naming_it(two_sites: Stack) -> None:
    workflow = two_sites.registry.register(workflow_from_spec(graph_spec(WRITE, 1)))
    with pytest.raises(ValidationError, match="environment 'Back' is not bound"):
        two_sites.executor.submit(workflow.id, {}, {"Front": "cluster"},
                                  two_sites.credential)


def test_compss_modules_are_loaded_and_env_templates_set_before_the_step_runs(
        two_sites: Stack, test_module: str) -> None:
    stack = two_sites
    spec = {"name": "modules",
            "inputs": [{"name": "module", "type": "string"}],
            "steps": [
                {"name": "loads", "application": APP, "options": ONE_CPU,
                 "compss_modules": ["${module}"], "env": {"WHO": "step ${module}"},
                 "arguments": ["--env", "EFLOWS_TEST_MODULE", "--env", "WHO"]},
                {"name": "missing", "application": APP, "options": ONE_CPU,
                 "depends_on": ["loads"], "compss_modules": ["no-such-module"]}]}
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, {"module": test_module}, "cluster",
                                      stack.credential)
    final = stack.wait(execution.id, 300)
    assert final.state == ExecutionState.FAILED  # the second step's module does not exist
    text = output(stack, execution.id, "loads")
    assert "env EFLOWS_TEST_MODULE='loaded-1.0'" in text
    assert f"env WHO='step {test_module}'" in text
    assert "module load no-such-module failed" in output(stack, execution.id, "missing")
    assert steps(stack, execution.id)["missing"].state == "failed"
