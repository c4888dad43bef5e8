"""Workflows from a Python file, a folder with src/, or a notebook spec; model rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from eflows_kernel.services.workflows import (
    Step,
    Workflow,
    WorkflowImportError,
    WorkflowInput,
    validate_inputs,
    workflow_from_folder,
    workflow_from_python_file,
    workflow_from_spec,
)

APP = '''"""Counts words in a file."""
import sys
from pycompss.api.task import task

@task(returns=int)
def count(path):
    return len(open(path).read().split())

if __name__ == "__main__":
    print(count(sys.argv[1]))
'''


def test_python_file(tmp_path: Path) -> None:
    app = tmp_path / "word-count.py"
    app.write_text(APP)
    wf = workflow_from_python_file(
        app, inputs=[WorkflowInput(name="path", type="path"),
                     {"name": "blocks", "type": "integer", "required": False, "default": 4}],
        num_nodes=2)
    assert wf.name == "word-count"
    assert wf.description == "Counts words in a file."
    (step,) = wf.steps
    assert step.application == str(app.resolve())
    assert step.arguments == ["${path}", "${blocks}"]
    assert step.num_nodes == 2
    assert wf.source == {"kind": "python_file", "file": str(app.resolve())}
    assert validate_inputs(wf, {"path": "/d.txt"}) == {"path": "/d.txt", "blocks": 4}


def test_python_file_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkflowImportError, match="no such Python file"):
        workflow_from_python_file(tmp_path / "none.py")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(WorkflowImportError, match=r"must be a \.py file"):
        workflow_from_python_file(tmp_path / "a.txt")
    (tmp_path / "bad.py").write_text("def f(:\n")
    with pytest.raises(WorkflowImportError, match="not valid Python at line 1"):
        workflow_from_python_file(tmp_path / "bad.py")
    (tmp_path / "ok.py").write_text("x = 1\n")
    with pytest.raises(WorkflowImportError, match=r"references '\$\{nope\}'"):
        workflow_from_python_file(tmp_path / "ok.py", arguments=["${nope}"])
    with pytest.raises(WorkflowImportError, match="unknown step option"):
        workflow_from_python_file(tmp_path / "ok.py", nodes=3)
    with pytest.raises(WorkflowImportError, match="workflow name"):
        workflow_from_python_file(tmp_path / "ok.py", name="bad name!")


def test_folder_with_description_and_software(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text(APP)
    (tmp_path / "src" / "helpers.py").write_text("")
    (tmp_path / "eflows4hpc.yaml").write_text("pip: [numpy]\napt: [bc]\n")
    (tmp_path / "workflow.yaml").write_text(
        "name: counter\nversion: 1.2.0\ninputs:\n"
        "  data: {type: path, description: input file}\n"
        "  n: {type: integer, required: false, default: 2}\n"
        "application: src/main.py\narguments: ['${data}', '--n=${n}']\nqos: debug\n")
    wf = workflow_from_folder(tmp_path)
    assert (wf.name, wf.version) == ("counter", "1.2.0")
    assert [(i.name, i.type, i.required) for i in wf.inputs] == [
        ("data", "path", True), ("n", "integer", False)]
    (step,) = wf.steps
    assert (step.name, step.application, step.qos) == ("main", "src/main.py", "debug")
    assert step.arguments == ["${data}", "--n=${n}"]
    assert wf.software.pip == ["numpy"] and wf.software.apt == ["bc"]
    assert wf.source["kind"] == "folder"


def test_folder_single_file_needs_no_description(tmp_path: Path) -> None:
    folder = tmp_path / "my wf"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "run.py").write_text(APP)
    wf = workflow_from_folder(folder)
    assert wf.name == "my_wf"
    assert wf.steps[0].application == "src/run.py" and wf.steps[0].arguments == []


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkflowImportError, match="no such folder"):
        workflow_from_folder(tmp_path / "x")
    with pytest.raises(WorkflowImportError, match="no src/ folder"):
        workflow_from_folder(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("")
    (tmp_path / "src" / "b.py").write_text("")
    with pytest.raises(WorkflowImportError, match=r"which file in src/ .*a\.py, b\.py"):
        workflow_from_folder(tmp_path)
    (tmp_path / "workflow.yaml").write_text("application: src/c.py\n")
    with pytest.raises(WorkflowImportError, match=r"'src/c\.py' does not exist"):
        workflow_from_folder(tmp_path)
    (tmp_path / "workflow.yaml").write_text("application: [\n")
    with pytest.raises(WorkflowImportError, match="invalid YAML"):
        workflow_from_folder(tmp_path)


def test_spec_from_notebook() -> None:
    wf = workflow_from_spec({
        "name": "nb-wf",
        "inputs": {"n": {"type": "integer", "default": 1}, "out": "path"},
        "steps": [{"name": "s1", "application": "src/app.py", "arguments": ["${n}", "$out"]}],
        "data_movements": [{"name": "get", "direction": "in", "kind": "http",
                            "source": "https://x/${n}", "target": "${out}"}],
    })
    assert [(i.name, i.type) for i in wf.inputs] == [("n", "integer"), ("out", "path")]
    assert wf.source == {"kind": "spec"}
    assert Workflow.model_validate(wf.model_dump(mode="json")) == wf


def test_spec_errors_list_fields() -> None:
    with pytest.raises(WorkflowImportError) as info:
        workflow_from_spec({"name": "", "inputs": [{"name": "a", "type": "int"}],
                            "steps": [{"name": "s"}], "colour": 1})
    text = str(info.value)
    assert "name: Value error, workflow name must not be empty" in text
    assert "inputs.0.type" in text and "steps.0.application" in text and "colour" in text
    with pytest.raises(WorkflowImportError,
                       match=r"data_movements\.m\.source: references '\$\{x\}'"):
        workflow_from_spec({"name": "w", "data_movements": [
            {"name": "m", "direction": "out", "kind": "local", "source": "${x}"}]})
    with pytest.raises(WorkflowImportError, match="must be a mapping"):
        workflow_from_spec(["x"])  # type: ignore[arg-type]


def test_a_site_copys_unknown_reference_is_refused_at_registration_with_its_path() -> None:
    """A site copy's paths and hosts are templates like a step's fields: a typo is found
    when the spec is registered, not at trigger as an input 'with no value'."""
    steps = [{"name": "a", "application": "a.py", "environment": "A"},
             {"name": "b", "application": "b.py", "environment": "B", "depends_on": ["a"]}]
    copy = {"name": "c", "source_environment": "A", "environment": "B",
            "source_path": "${out}/x", "target_path": "${inn}", "target_host": "${hots}",
            "depends_on": ["a"]}
    with pytest.raises(WorkflowImportError) as info:
        workflow_from_spec({"name": "w", "inputs": [{"name": "out"}, {"name": "in"}],
                            "steps": steps, "site_copies": [copy]})
    text = str(info.value)
    assert "site_copies.c.target_path: references '${inn}', which is not a declared" in text
    assert "site_copies.c.target_host: references '${hots}'" in text
    assert "source_path" not in text
    wf = workflow_from_spec({"name": "w", "inputs": [{"name": "out"}, {"name": "inn"},
                                                     {"name": "hots"}],
                             "steps": steps, "site_copies": [copy]})
    assert wf.site_copies[0].target_host == "${hots}"


def test_model_name_rules() -> None:
    with pytest.raises(ValidationError, match="may only contain"):
        Step(name="a/b", application="x.py")
    with pytest.raises(ValidationError, match="duplicate input name 'a'"):
        Workflow(name="w", inputs=[WorkflowInput(name="a"), WorkflowInput(name="a")])
    with pytest.raises(KeyError, match="no input 'zz'"):
        Workflow(name="w").input("zz")


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    """A few hundred bytes whose aliases name one list a billion times once became
    megabytes stored (and exhausted memory once written out)."""
    from eflows_kernel.services.workflows import WorkflowImportError, workflow_from_folder

    folder = tmp_path / "bomb"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.py").write_text("print('hi')\n")
    levels = ["&a [x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"&{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    lines = ["name: bomb", "inputs:", "  - name: x", "    type: list", "    required: false",
             "    default: [" + ", ".join(levels) + "]"]
    text = "\n".join(lines) + "\n"
    assert len(text) < 800
    (folder / "workflow.yaml").write_text(text)
    with pytest.raises(WorkflowImportError, match="more than 100000 values"):
        workflow_from_folder(folder)
    (folder / "workflow.yaml").write_text("name: big\ndescription: '" + "x" * (5 << 20) + "'\n")
    with pytest.raises(WorkflowImportError, match="at most"):
        workflow_from_folder(folder)
