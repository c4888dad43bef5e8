"""WorkflowsWidget: import a registry folder, register a file, see details, errors shown."""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.deploy import DeployForm
from eflows_kernel.ui.workflows import WorkflowsWidget
from tests.ui.conftest import APPS, INCREMENT_CHAIN, MINIMAL


def test_import_registry_folder_shows_inputs_of_the_workflow(client: LocalClient) -> None:
    widget = WorkflowsWidget(client)
    widget.folder_path.value = str(MINIMAL)
    ids = widget.import_folder()
    assert len(ids) == 2, widget.message.text
    assert widget.message.kind == "info" and "Imported" in widget.message.text
    assert {v for _l, v in widget.listing.options} == set(ids)
    assert widget.listing.value == ids[0]
    registered = client.workflows.get(ids[0])
    details = widget.details.value
    assert "Inputs" in details and "Steps" in details
    for item in registered.workflow.inputs:
        assert f"<code>{item.name}</code>" in details
        assert item.type in details
    # an imported topology's steps with their role (the site each is bound to) and order
    assert "Roles" in details
    for role in registered.workflow.environments:
        assert f"<code>{role}</code>" in details
    for step in registered.workflow.steps:
        assert f"<code>{step.name}</code> on <code>{step.environment}</code>" in details
        if step.depends_on:
            assert "after " + ", ".join(f"<code>{d}</code>" for d in step.depends_on) in details
    assert not widget.deploy_button.disabled


def test_import_errors_are_shown_not_raised(client: LocalClient, tmp_path: Path) -> None:
    widget = WorkflowsWidget(client)
    assert widget.import_folder(str(tmp_path / "nowhere")) == []
    assert widget.message.kind == "error" and widget.message.text
    assert widget.import_folder("") == [] and "path" in widget.message.text



def test_a_refused_topology_is_shown_with_its_reason(client: LocalClient,
                                                     tmp_path: Path) -> None:
    for name, extra in (("good", ""), ("bad", "    Up: {type: dls.ansible.nodes.SSH2SSH}\n")):
        tosca = tmp_path / name / "tosca"
        tosca.mkdir(parents=True)
        (tosca / "topology.yml").write_text(
            "topology_template:\n  node_templates:\n    Job:\n"
            "      type: org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob\n"
            "      properties: {application: {command: /app/run.py}}\n" + extra)
    widget = WorkflowsWidget(client)
    assert len(widget.import_folder(str(tmp_path))) == 1
    assert "Imported good" in widget.message.text
    assert "Refused:" in widget.message.text and "SSH2SSH" in widget.message.text

def test_register_python_file_and_delete(client: LocalClient) -> None:
    deployed: list[str] = []
    widget = WorkflowsWidget(client, on_deploy=deployed.append)
    widget.python_path.value = str(INCREMENT_CHAIN)
    widget.python_name.value = "chain"
    workflow_id = widget.register_python_file()
    assert workflow_id is not None, widget.message.text
    assert widget.selected.name == "chain" and "chain" in widget.details.value
    widget.deploy_button.click()
    assert deployed == [workflow_id]
    widget.delete()
    assert client.workflows.list().total == 0 and widget.listing.options == ()
    assert widget.register_python_file(str(INCREMENT_CHAIN) + ".nope") is None
    assert widget.message.kind == "error"


def test_register_spec_from_yaml_shows_inputs_and_errors(client: LocalClient) -> None:
    widget = WorkflowsWidget(client)
    widget.spec_text.value = (
        "name: counting\n"
        "inputs:\n  - {name: texts, type: path}\n"
        f"steps:\n  - {{name: count, application: {INCREMENT_CHAIN}, "
        "arguments: ['${texts}']}\n")
    workflow_id = widget.register_spec()
    assert workflow_id is not None, widget.message.text
    assert widget.spec_text.value == "" and widget.listing.value == workflow_id
    assert "<code>texts</code>" in widget.details.value
    assert widget.register_spec("[1, 2]") is None and "mapping" in widget.message.text
    assert widget.register_spec("name: y\nsteps: [{name: s}]\n") is None  # no application
    assert widget.message.kind == "error"
    assert widget.register_spec("a: [") is None and "not valid" in widget.message.text


def test_published_workflows_are_marked_and_cannot_be_deleted(tmp_path: Path) -> None:
    client = LocalClient(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                         vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                         catalogue_paths=(MINIMAL,), hub_user="owner",
                         catalogue_access={"minimal_workflow.classic": {"users": ["other"]}})
    try:
        widget = WorkflowsWidget(client)
        widget.python_path.value = str(INCREMENT_CHAIN)
        widget.python_name.value = "chain"
        own = widget.register_python_file()
        labels = [label for label, _v in widget.listing.options]
        assert labels == ["minimal_workflow.parallel 1.0.0-SNAPSHOT (centre, read-only)",
                          "chain 0.1.0"], labels  # classic: not granted to owner
        published = widget.listing.options[0][1]
        widget.listing.value = published
        assert "Published by the centre" in widget.details.value
        assert widget.delete_button.disabled and not widget.deploy_button.disabled
        widget.listing.value = own
        assert not widget.delete_button.disabled
    finally:
        client.close(cancel_runs=True)


def test_a_docstrings_literals_show_as_code_not_backquotes(client: LocalClient) -> None:
    """failing_task.py's docstring is reStructuredText (``broken``): the details and the
    deploy form show its literals as code, not as raw double backquotes."""
    workflow = client.workflows.register_python_file(str(APPS / "failing_task.py"))
    widget = WorkflowsWidget(client)
    widget.listing.value = workflow.id
    assert "<code>broken</code>" in widget.details.value and "``" not in widget.details.value
    form = DeployForm(client)
    form.workflow_picker.value = workflow.id
    assert "<code>long_task</code>" in form.description.value
    assert "``" not in form.description.value
