"""Scale-out from a deployment: the run's Dask workers are Slurm jobs of their own."""

from __future__ import annotations

import subprocess

from tests.deploy.stack import APPS, Stack, seqs_are_gap_free


def test_a_deployed_run_places_its_workers_as_slurm_jobs(stack: Stack) -> None:
    workflow = stack.registry.register_spec({
        "name": "scaled", "inputs": [{"name": "n", "type": "integer"}],
        "steps": [{"name": "sleep", "application": str(APPS / "parallel_sleep.py"),
                   "arguments": ["${n}", "1.0"], "options": {"slurm_workers": 1}}]})
    execution = stack.executor.submit(workflow.id, {"n": 2}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    assert done.state.value == "done", done.error
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)
    running = next(e for e in events if e["type"] == "run" and e["state"] == "running")
    worker_jobs = list(running["info"]["worker_jobs"].values())  # {worker name: job id}
    assert len(worker_jobs) == 1 and worker_jobs[0] != done.remote_job_id
    workers = {e["worker"] for e in events if e["type"] == "task" and e.get("worker")}
    assert len(workers) == 1
    left = subprocess.run(["squeue", "-h", "-j", str(worker_jobs[0]), "-o", "%T"],
                          capture_output=True, text=True).stdout.strip()
    assert left in ("", "COMPLETED", "CANCELLED", "COMPLETING"), left
