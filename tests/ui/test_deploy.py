"""DeployForm: typed fields, errors at their field with nothing submitted, a real local run."""

from __future__ import annotations

import ipywidgets as widgets

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.deploy import DeployForm
from tests.ui.conftest import INCREMENT_CHAIN

SPEC = {"name": "typed", "inputs": {
    "n": {"type": "integer"}, "x": {"type": "float", "default": 0.5},
    "flag": {"type": "boolean", "default": True}, "items": {"type": "list", "required": False},
    "opts": {"type": "map", "required": False}, "where": {"type": "path"},
    "label": {"type": "string", "default": "hi"}},
    "steps": [{"name": "s", "application": str(INCREMENT_CHAIN), "arguments": ["${n}"]}]}


def test_fields_follow_the_declared_types(client: LocalClient) -> None:
    wf = client.workflows.register_spec(SPEC)
    form = DeployForm(client, wf.id)
    assert isinstance(form.fields["flag"], widgets.Checkbox) and form.fields["flag"].value
    assert isinstance(form.fields["items"], widgets.Textarea)
    assert isinstance(form.fields["opts"], widgets.Textarea)
    assert isinstance(form.fields["n"], widgets.Text) and form.fields["n"].value == ""
    assert form.fields["x"].value == "0.5" and form.fields["label"].value == "hi"
    assert form.workflow_picker.value == wf.id
    assert form.site_picker.options == ("local",)
    labels = {row.children[0].children[0].value for row in form.inputs_box.children}
    assert any(label.startswith("n <b") for label in labels)  # required marker
    assert any(label.startswith("x <small>") for label in labels)  # has a default


def test_bad_values_show_field_errors_and_nothing_is_created(client: LocalClient) -> None:
    wf = client.workflows.register_spec(SPEC)
    form = DeployForm(client, wf.id)
    form.fields["n"].value = "many"
    form.fields["x"].value = "abc"
    form.fields["opts"].value = "[1, 2"
    assert form.submit() is None
    assert "integer" in form.errors["n"].value and "number" in form.errors["x"].value
    assert "map" in form.errors["opts"].value
    assert "required" in form.errors["where"].value
    assert form.errors["label"].value == "" and form.errors["flag"].value == ""
    assert form.message.kind == "error"
    assert client.executions.list().total == 0 and form.progress is None
    form.fields["n"].value = "3"  # fixing a field clears its error at the next submit
    form.submit()
    assert form.errors["n"].value == "" and client.executions.list().total == 0


def test_service_refusal_lands_at_the_site_field(client: LocalClient) -> None:
    client.sites.add({"name": "hpc", "host": "hpc.example.org", "login": "me"})
    wf = client.workflows.register_python_file(str(INCREMENT_CHAIN), inputs=[
        {"name": "length", "type": "integer"}])
    form = DeployForm(client, wf.id)
    assert form.site_picker.options == ("local", "hpc")
    form.fields["length"].value = "2"
    form.site_picker.value = "hpc"
    assert form.submit() is None
    # remote deployment exists now: the refusal says why this site cannot take it
    assert "not trusted" in form.site_error.value and form.message.kind == "error"
    assert client.executions.list().total == 0


def test_deploy_locally_reaches_done_with_task_counts(client: LocalClient) -> None:
    wf = client.workflows.register_python_file(str(INCREMENT_CHAIN), inputs=[
        {"name": "length", "type": "integer"}])
    started: list[object] = []
    form = DeployForm(client, on_deployed=started.append, poll_interval=0.1)
    form.select_workflow(wf.id)
    form.fields["length"].value = "4"
    execution = form.submit()
    assert execution is not None, form.message.text
    assert started == [execution] and execution.inputs == {"length": 4}
    progress = form.progress
    assert progress is not None and progress in form.progress_box.children
    assert progress.wait(60.0), progress.model
    assert progress.model.execution_state == "done", progress.execution.error
    assert progress.labels["run"].value == "5/5 tasks"
    assert progress.bars["run"].value == 1.0 and progress.bars["run"].bar_style == "success"
    assert progress.labels["stage-in"].value == "—"  # local: no staging
    assert "done" in progress.state_label.value
    form.close()


def test_site_password_is_sent_once_and_cleared(client: LocalClient) -> None:
    """The password / code of a login that asks reaches the client once; the form keeps
    neither, and the local site (which needs none) refuses them at the site field."""
    wf = client.workflows.register_python_file(str(INCREMENT_CHAIN), inputs=[
        {"name": "length", "type": "integer"}])
    sent: list[dict] = []
    trigger = client.executions.trigger

    def spy(*args: object, **kwargs: object) -> object:
        sent.append(dict(kwargs))
        return trigger(*args, **kwargs)  # type: ignore[arg-type]

    client.executions.trigger = spy  # type: ignore[method-assign]
    form = DeployForm(client, wf.id)
    form.fields["length"].value = "2"
    form.site_password.value = "s3cret-pw"
    form.one_time_code.value = "123456"
    assert form.submit() is None  # local: no password wanted
    assert sent[-1]["password"] == "s3cret-pw" and sent[-1]["one_time_code"] == "123456"
    assert form.site_password.value == "" and form.one_time_code.value == ""
    assert "s3cret-pw" not in form.message.value and "needs no password" in \
        form.site_error.value


def test_deploy_is_disabled_without_a_workflow_and_preselects_the_only_choices(
        client: LocalClient, tmp_path) -> None:
    form = DeployForm(client)
    assert form.deploy_button.disabled and form.workflow is None
    key = client.credentials.generate("only-key")
    client.sites.add({"name": "cluster", "host": "127.0.0.1", "port": 2222, "login": "u"})
    wf = client.workflows.register_spec(SPEC)
    form.refresh()
    assert form.site_picker.value == "cluster" and form.credential_picker.value == key.id
    form.select_workflow(wf.id)
    assert not form.deploy_button.disabled
    form.workflow_picker.value = None
    assert form.deploy_button.disabled


def test_the_last_site_and_credential_are_remembered(client: LocalClient, tmp_path) -> None:
    memory = tmp_path / "choices.json"
    keys = [client.credentials.generate(f"key-{i}") for i in range(2)]
    wf = client.workflows.register_python_file(str(INCREMENT_CHAIN))
    form = DeployForm(client, wf.id, memory=memory)
    assert form.site_picker.value == "local" and form.credential_picker.value is None
    form.credential_picker.value = keys[1].id
    execution = form.submit()
    assert execution is not None
    form.close()
    again = DeployForm(client, memory=memory)
    assert again.site_picker.value == "local" and again.credential_picker.value == keys[1].id
    client.executions.wait(execution.id, 60)
    again.close()


def test_a_refusal_replaces_the_previous_runs_progress(client: LocalClient) -> None:
    wf = client.workflows.register_python_file(str(INCREMENT_CHAIN))
    form = DeployForm(client, wf.id, poll_interval=0.1)
    first = form.submit()
    assert first is not None and form.progress_box.children
    form.site_picker.options = ["local", "nowhere"]
    form.site_picker.value = "nowhere"
    assert form.submit() is None
    assert form.progress_box.children == () and form.progress is None
    assert form.message.kind == "error" and "nowhere" in form.message.text
    client.executions.wait(first.id, 60)
    form.close()


ROLES = {"name": "two-roles", "steps": [
    {"name": "first", "application": str(INCREMENT_CHAIN), "arguments": ["2"],
     "environment": "Cluster1"},
    {"name": "second", "application": str(INCREMENT_CHAIN), "arguments": ["2"],
     "environment": "Cluster2", "depends_on": ["first"]}]}


def test_a_workflow_with_two_roles_asks_one_site_per_role(client: LocalClient) -> None:
    """The form asks a site for each environment role and sends ``{role: site}``: each
    role's site is what the service checks (a refusal names the role's site), and a run
    bound so has each step on its role's site."""
    client.sites.add({"name": "hpc", "host": "hpc.example.org", "login": "me"})
    wf = client.workflows.register_spec(ROLES)
    form = DeployForm(client, wf.id, poll_interval=0.1)
    assert list(form.role_pickers) == ["Cluster1", "Cluster2"]
    assert form.site_picker.layout.display == "none"  # the one picker would bind both
    assert all(p.options == ("local", "hpc") for p in form.role_pickers.values())
    assert all(p.value == form.site_picker.value for p in form.role_pickers.values())
    form.role_pickers["Cluster1"].value = "local"
    form.role_pickers["Cluster2"].value = "hpc"
    assert form.site_choice() == {"Cluster1": "local", "Cluster2": "hpc"}
    assert form.submit() is None
    assert "hpc" in form.site_error.value and "not trusted" in form.site_error.value
    form.role_pickers["Cluster2"].value = "local"
    execution = form.submit()
    assert execution is not None, form.message.text
    final = client.executions.wait(execution.id, 120)
    assert final.state.value == "done", final.error
    assert final.step_sites == {"first": "local", "second": "local"}

    other = DeployForm(client)
    other.prefill(final)
    assert {r: p.value for r, p in other.role_pickers.items()} == {
        "Cluster1": "local", "Cluster2": "local"}
    one = client.workflows.register_python_file(str(INCREMENT_CHAIN))
    other.select_workflow(one.id)  # no roles: the one site picker again
    assert other.role_pickers == {} and other.site_picker.layout.display is None
    form.close()
    other.close()
