"""Environments on the site: offline bootstrap from a wheelhouse, and direct runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.deploy.stack import APPS, Stack


def test_offline_site_bootstraps_from_an_uploaded_wheelhouse(stack: Stack,
                                                             tmp_path: Path) -> None:
    """No index is reachable from the install (PIP_CONFIG_FILE=/dev/null, --no-index)."""
    workdir = stack.sshd.home / "eflows-offline"
    shutil.rmtree(workdir, ignore_errors=True)
    stack.add_site("offline", scheduler="slurm", workdir="~/eflows-offline",
                   python={"path": "/usr/bin/python3", "offline": True})
    workflow = stack.registry.register_spec({
        "name": "chain", "inputs": [{"name": "n", "type": "integer"}],
        "steps": [{"name": "chain", "application": str(APPS / "increment_chain.py"),
                   "arguments": ["${n}"]}]})
    execution = stack.executor.submit(workflow.id, {"n": 3}, "offline",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    assert done.state.value == "done", done.error
    events = stack.executor.events(execution.id)
    messages = [e["message"] for e in events if e["type"] == "log"]
    assert any("wheelhouse" in m for m in messages), messages
    houses = list((workdir / "wheelhouses").iterdir())
    assert houses and any(p.name.startswith("eflows4hpc_jupyter") for p in houses[0].iterdir())
    env = next((workdir / "envs").iterdir())
    assert (env / ".eflows-ready").is_file()
    # A second run finds the environment ready: no second bootstrap.
    again = stack.executor.submit(workflow.id, {"n": 2}, "offline",
                                  credential_id=stack.credential)
    assert stack.wait(again.id).state.value == "done"
    details = [e.get("detail") or "" for e in stack.executor.events(again.id)
               if e["type"] == "stage" and e["stage"] == "environment"]
    assert any("is ready" in d for d in details), details


def test_site_without_scheduler_runs_directly(stack: Stack) -> None:
    stack.add_site("direct", scheduler="none", python={"path": "/usr/bin/python3"})
    workflow = stack.registry.register_spec({
        "name": "chain", "inputs": [{"name": "n", "type": "integer"}],
        "steps": [{"name": "chain", "application": str(APPS / "increment_chain.py"),
                   "arguments": ["${n}"]}]})
    execution = stack.executor.submit(workflow.id, {"n": 3}, "direct",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id)
    assert done.state.value == "done", done.error
    assert (done.remote_job_id or "").startswith("pid:")
    text, _ = stack.executor.logs(execution.id)
    assert "RESULT" in text


def test_a_registry_pip_list_with_standard_library_backports_bootstraps(
        stack: Stack) -> None:
    """Caelestis_DT's ``training/eflows4hpc.yaml`` lists ``pickle5`` (which does not build
    on the site's Python 3.11) and ``contextvars``: pip skips both by their marker, the
    environment is built and the run says what was skipped and why."""
    stack.add_site("backports", scheduler="none", python={"path": "/usr/bin/python3"})
    workflow = stack.registry.register_spec({
        "name": "chain", "inputs": [{"name": "n", "type": "integer"}],
        "software": {"pip": ["pickle5", "contextvars"]},
        "steps": [{"name": "chain", "application": str(APPS / "increment_chain.py"),
                   "arguments": ["${n}"]}]})
    execution = stack.executor.submit(workflow.id, {"n": 3}, "backports",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    assert done.state.value == "done", done.error
    messages = [str(e.get("message") or "") + str(e.get("detail") or "")
                for e in stack.executor.events(execution.id)]
    assert any("pickle5 (in the standard library since Python 3.8)" in m
               for m in messages), messages
    created = [m for m in messages if "was created" in m]
    assert created, messages
    env_text = created[0].split("environment ", 1)[1].split(" was created")[0]
    env = Path(env_text.replace("~", str(stack.sshd.home), 1))
    site_packages = list(env.glob("lib/python3*/site-packages"))
    assert site_packages and not list(site_packages[0].glob("pickle5*")), site_packages
