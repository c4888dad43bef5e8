"""A site whose login asks the user (password / one-time code): asked once, not per step."""

from __future__ import annotations

import pytest

from eflows_kernel.services.errors import ValidationError
from tests.deploy.stack import APPS, Stack, seqs_are_gap_free


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
