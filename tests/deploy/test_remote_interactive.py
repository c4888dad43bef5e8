"""A site whose login asks the user (password / one-time code): asked once, not per step."""

from __future__ import annotations

import pytest

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import ValidationError
from tests.deploy.stack import (
    APPS,
    Stack,
    seqs_are_gap_free,
    serving_data_logistics,
    step_result,
)
from tests.plugins.data_services import B2ShareServer


def _chain(stack: Stack) -> str:
    return stack.registry.register_spec({
        "name": "chain", "inputs": [{"name": "n", "type": "integer"}],
        "steps": [{"name": "chain", "application": str(APPS / "increment_chain.py"),
                   "arguments": ["${n}"]}]}).id


def test_a_password_login_is_asked_once_for_every_step_and_run(stack: Stack) -> None:
    workflow = _chain(stack)
    with pytest.raises(ValidationError, match="password / one-time code"):
        stack.executor.submit(workflow, {"n": 2}, "cluster")  # neither key nor password
    first = stack.executor.submit(workflow, {"n": 2}, "cluster",
                                  password=stack.sshd.password)
    assert stack.wait(first.id).state.value == "done"
    # The same connection serves the next run: no password this time.
    second = stack.executor.submit(workflow, {"n": 3}, "cluster")
    done = stack.wait(second.id)
    assert done.state.value == "done", done.error
    seqs_are_gap_free(stack.executor.events(second.id))
    connections = stack.executor.pool._connections
    assert list(connections) == [(stack.site.id, None)]  # one login; the tails share it
    assert connections[(stack.site.id, None)].reconnects == 0
    text = repr(stack.executions.get(first.id).model_dump())
    assert stack.sshd.password not in text  # never stored

    # Once that connection is gone, the login has to be given again: refused up front.
    connections[(stack.site.id, None)].drop()
    with pytest.raises(ValidationError, match="password / one-time code"):
        stack.executor.submit(workflow, {"n": 1}, "cluster")


def test_a_password_login_whose_first_step_is_a_data_movement(
        stack: Stack, b2share_server: B2ShareServer) -> None:
    """The stage-in step opens the site before any job does: with the password given at
    trigger (the job after it reuses that session; nothing asks again)."""
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("b2share", "b2share", b2share_server.url, token=b2share_server.token)
    b2share_server.add_record("pwrec1", {"data.txt": b"one two three four\n"})
    with serving_data_logistics(stack, logins, None):
        workflow = stack.registry.register_spec({
            "name": "password-stage-in", "inputs": [{"name": "record"}],
            "steps": [{"name": "count", "application": str(APPS / "data_logistics.py"),
                       "arguments": ["inputs/regions", "inputs/record", "results", "0"]}],
            "data_movements": [
                {"name": "record_in", "direction": "in", "kind": "dls",
                 "source": "${record}", "target": "inputs/record"},
                {"name": "regions_in", "direction": "in", "kind": "dls",
                 "source": "${record}", "target": "inputs/regions"}]})
        execution = stack.executor.submit(workflow.id, {"record": "pwrec1"}, "cluster",
                                          password=stack.sshd.password)
        done = stack.wait(execution.id, timeout=240)
        assert done.state.value == "done", done.error
        steps = {s.name: s.state for s in stack.executor.steps(execution.id)}
        assert steps == {"count:in:record_in": "done", "count:in:regions_in": "done",
                         "count": "done"}
        assert step_result(stack, execution.id, "count")["words"] == 8  # both copies read
    text = repr(stack.executions.get(execution.id).model_dump())
    assert stack.sshd.password not in text
