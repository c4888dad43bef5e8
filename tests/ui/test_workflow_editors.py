"""Registering from the portal: a .py's inputs from argparse or declared in the input
editor; a spec checked against the API's schema while it is typed."""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.workflows import WorkflowsWidget

ARGPARSE_APP = '''import argparse
p = argparse.ArgumentParser()
p.add_argument("input_dir")
p.add_argument("--block", type=int, default=4)
p.parse_args()
'''


def test_a_file_with_argparse_declares_its_inputs(client: LocalClient, tmp_path: Path) -> None:
    app = tmp_path / "wordcount.py"
    app.write_text(ARGPARSE_APP)
    widget = WorkflowsWidget(client)
    wf_id = widget.register_python_file(str(app))
    assert wf_id is not None and "(2 inputs)" in widget.message.text
    inputs = client.workflows.get(wf_id).workflow.inputs
    assert [(i.name, i.type) for i in inputs] == [("input_dir", "string"), ("block", "integer")]


def test_the_input_editor_declares_them_otherwise(client: LocalClient, tmp_path: Path) -> None:
    app = tmp_path / "plain.py"
    app.write_text("import sys\nprint(sys.argv)\n")
    widget = WorkflowsWidget(client)
    widget.input_editor.add_button.click()
    row = widget.input_editor.rows[0]
    row.name.value, row.type.value, row.description.value = "n", "integer", "how many"
    extra = widget.input_editor.add("label", "string", default="x")
    gone = widget.input_editor.add("gone")
    gone.remove_button.click()
    assert widget.input_editor.rows == [row, extra]
    wf_id = widget.register_python_file(str(app))
    assert wf_id is not None and widget.input_editor.rows == []  # cleared for the next
    inputs = client.workflows.get(wf_id).workflow.inputs
    assert [(i.name, i.type, i.required, i.default) for i in inputs] == [
        ("n", "integer", True, None), ("label", "string", False, "x")]
    assert inputs[0].description == "how many"


def test_the_spec_is_checked_while_typed(client: LocalClient) -> None:
    widget = WorkflowsWidget(client)
    widget.spec_text.value = "name: x\nsteps:\n  - name: s\n"
    assert "steps.0: &#x27;application&#x27; is a required property" in \
        widget.spec_problems.value
    widget.spec_text.value = "name: x\ninputs: {n: {type: int}}\n"
    assert "inputs.n.type" in widget.spec_problems.value
    widget.spec_text.value = "name: [x\n"
    assert "not valid YAML/JSON at line" in widget.spec_problems.value
    widget.spec_text.value = "name: x\nsteps:\n  - {name: s, application: a.py}\n"
    assert widget.spec_problems.value == ""
    assert widget.register_spec() is not None
