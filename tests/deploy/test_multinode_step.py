"""A step of num_nodes 2 in a step graph: a Dask worker on each node of its allocation.

On the multi-node test cluster (two slurmd nodes in network namespaces, each its own
hostname; its own login on sshd 2223; accounting in slurmdbd), a one-node step and then
a step whose ``num_nodes``, time limit and ``qos`` are templates filled at trigger: its
job has both nodes, that time limit, that QOS and the site's account (read back with
``scontrol show job``, and from the accounting with ``sacct``) and its tasks report both
hostnames; the first step's report one. A QOS the login's association does not hold is
refused by Slurm: the step fails naming it and saying where the good ones are listed.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack, step_result

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

APP = str(APPS / "where_tasks_run.py")




def running_job(stack: Stack, execution_id: str, step: str, env: dict[str, str],
                timeout: float = 400) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = {s.name: s for s in stack.executor.steps(execution_id)}[step]
        if current.job_id:
            state = subprocess.run(["squeue", "-h", "-j", current.job_id, "-o", "%T"],
                                   capture_output=True, text=True, env=env).stdout.strip()
            if state == "RUNNING":
                return current.job_id
        assert not stack.executions.get(execution_id).finished, current
        time.sleep(0.3)
    raise AssertionError(f"step {step} never ran: {stack.executor.steps(execution_id)}")


def test_a_two_node_step_runs_its_tasks_on_both_nodes(multinode_stack: Stack,
                                                      multinode_cluster) -> None:
    stack, cluster = multinode_stack, multinode_cluster
    assert len(cluster.nodes) >= 2
    spec = {"name": "spread",
            "inputs": [{"name": "nodes", "type": "integer", "default": 1},
                       {"name": "minutes", "type": "integer", "default": 5},
                       {"name": "qos", "type": "string", "default": "normal"}],
            "steps": [
                {"name": "one", "application": APP, "arguments": ["4", "0.2"],
                 "qos": "${qos}", "options": {"workers": 1}},
                {"name": "two", "application": APP, "depends_on": ["one"],
                 "num_nodes": "${nodes}", "time_limit": "${minutes}", "qos": "${qos}",
                 "options": {"workers": 1}, "arguments": ["12", "1.5"]}]}
    high = cluster.qos[-1]  # not the login's default QOS: only the template can ask for it
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, {"nodes": "2", "minutes": "9",
                                                    "qos": high}, "multi", stack.credential)
    job = running_job(stack, execution.id, "two", cluster.env)
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True,
                           env=cluster.env, check=True).stdout
    assert "NumNodes=2 " in shown and "TimeLimit=00:09:00" in shown, shown
    assert re.search(rf"\bQOS={high}\s", shown), shown
    assert re.search(rf"\bAccount={cluster.account}\s", shown), shown
    final = stack.wait(execution.id, 600)
    assert final.state == ExecutionState.DONE, final.error
    first = {s.name: s for s in stack.executor.steps(execution.id)}["one"].job_id
    accounted = subprocess.run(["sacct", "-n", "-P", "-X", "-j", f"{first},{job}", "-o",
                                "JobID,QOS,Account"], capture_output=True, text=True,
                               env=cluster.env, check=True).stdout.split()
    assert sorted(accounted) == sorted(f"{j}|{high}|{cluster.account}" for j in (first, job))
    both = set(cluster.nodes[:2])
    two = step_result(stack, execution.id, "two")
    assert {t["host"] for t in two["tasks"]} == both, two
    one = step_result(stack, execution.id, "one")
    assert len({t["host"] for t in one["tasks"]}) == 1, one


def test_a_qos_the_account_may_not_use_fails_the_step_naming_it(multinode_stack: Stack,
                                                                multinode_cluster) -> None:
    stack = multinode_stack
    spec = {"name": "wrong-qos", "inputs": [{"name": "qos", "type": "string"}],
            "steps": [{"name": "only", "application": APP, "arguments": ["1", "0"],
                       "qos": "${qos}", "options": {"workers": 1}},
                      {"name": "after", "application": APP, "depends_on": ["only"],
                       "arguments": ["1", "0"], "options": {"workers": 1}}]}
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, {"qos": "eflows-nope"}, "multi",
                                      stack.credential)
    final = stack.wait(execution.id, 300)
    assert final.state == ExecutionState.FAILED
    assert "Invalid qos specification" in final.error, final.error  # Slurm's own word
    assert "QOS 'eflows-nope' is not one your account may use" in final.error, final.error
    assert "sacctmgr show assoc" in final.error, final.error
    current = {s.name: s for s in stack.executor.steps(execution.id)}
    assert current["only"].state == "failed" and current["only"].job_id is None
    assert current["after"].state == "cancelled" and current["after"].job_id is None


def test_a_step_asking_more_nodes_than_the_partition_has_says_it_will_not_start(
        multinode_stack: Stack, multinode_cluster) -> None:
    """Slurm takes a job of more nodes than the partition holds and leaves it pending for
    ever (PartitionNodeLimit): the run's log says so, and which field to change; the job
    stays queued (an administrator may raise the limit) until the user cancels the run."""
    stack, cluster = multinode_stack, multinode_cluster
    too_many = len(cluster.nodes) + 1
    spec = {"name": "too-wide", "steps": [
        {"name": "wide", "application": APP, "num_nodes": too_many, "arguments": ["2", "0.1"],
         "options": {"workers": 1}}]}
    workflow = stack.registry.register(workflow_from_spec(spec))
    execution = stack.executor.submit(workflow.id, {}, "multi", stack.credential)
    deadline, said = time.monotonic() + 400, []
    while time.monotonic() < deadline and not said:
        said = [e["message"] for e in stack.executor.events(execution.id)
                if e.get("type") == "log" and "will not start" in e.get("message", "")]
        assert not stack.executions.get(execution.id).finished
        time.sleep(0.5)
    assert said, stack.executor.events(execution.id)[-5:]
    job = stack.executions.get(execution.id).remote_job_id
    # Slurm's word depends on what else the job asks (cores per node: PartitionConfig)
    assert re.search(rf"Slurm job {job} is pending \((PartitionNodeLimit|PartitionConfig)\)",
                     said[0]), said
    assert "num_nodes" in said[0]
    time.sleep(5)  # polls go on; Slurm's schedulers alternate the two words meanwhile
    state = subprocess.run(["squeue", "-h", "-j", str(job), "-o", "%T %r"], capture_output=True,
                           text=True, env=cluster.env).stdout.split()
    assert state[0] == "PENDING" and state[1] in ("PartitionNodeLimit", "PartitionConfig")
    assert sum("will not start" in e.get("message", "") for e in  # said once, not each poll
               stack.executor.events(execution.id)) == 1
    stack.executor.cancel(execution.id)
    assert stack.wait(execution.id, 180).state == ExecutionState.CANCELLED
