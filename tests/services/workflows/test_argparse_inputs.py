"""Inputs read from an application's argparse definition: parsed, never run."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.argparse_inputs import parse_argparse_inputs
from eflows_kernel.services.workflows.inputs import validate_inputs
from eflows_kernel.services.workflows.register import workflow_from_python_file
from eflows_kernel.services.workflows.registry import WorkflowRegistry

APP = '''"""Count words."""
import argparse
import pathlib

open("/tmp/ran-at-registration", "w").write("!")  # registering must not run this


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input_dir", type=pathlib.Path, help="folder of texts")
    parser.add_argument("output-file", help="where the counts go")
    parser.add_argument("--block-size", type=int, default=1024, help="bytes per task")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--mode", required=True, choices=["fast", "exact"])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--label")
    parser.add_argument("extra", nargs="*")
    parser.add_argument(*names)
    return parser.parse_args()


if __name__ == "__main__":
    main()
'''


def test_inputs_and_command_line_from_argparse() -> None:
    parsed = parse_argparse_inputs(APP)
    assert parsed is not None
    assert [(i["name"], i["type"], i["required"], i.get("default")) for i in parsed.inputs] == [
        ("input_dir", "path", True, None), ("output_file", "string", True, None),
        ("block_size", "integer", False, 1024), ("ratio", "float", False, 0.5),
        ("mode", "string", True, None)]
    assert parsed.inputs[0]["description"] == "folder of texts"
    assert parsed.arguments == ["--block-size", "${block_size}", "--ratio", "${ratio}",
                                "--mode", "${mode}", "${input_dir}", "${output_file}"]


def test_no_argparse_no_inputs() -> None:
    assert parse_argparse_inputs("import sys\nprint(sys.argv[1])\n") is None
    with pytest.raises(SyntaxError):
        parse_argparse_inputs("def (")


def test_registering_reads_them_without_running_the_file(tmp_path: Path) -> None:
    marker = Path("/tmp/ran-at-registration")
    marker.unlink(missing_ok=True)
    app = tmp_path / "count.py"
    app.write_text(APP)
    workflow = workflow_from_python_file(app)
    assert not marker.exists()
    assert [i.name for i in workflow.inputs] == ["input_dir", "output_file", "block_size",
                                                 "ratio", "mode"]
    assert workflow.steps[0].arguments[-2:] == ["${input_dir}", "${output_file}"]
    values = validate_inputs(workflow, {"input_dir": str(tmp_path), "output_file": "o.json",
                                        "mode": "fast"})
    assert values["block_size"] == 1024
    given = workflow_from_python_file(app, inputs=[{"name": "n", "type": "integer"}])
    assert [i.name for i in given.inputs] == ["n"]  # declared inputs win


def test_registry_and_a_plain_script(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("import sys\nprint(sys.argv)\n")
    with StateStore(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        registry = WorkflowRegistry(store)
        assert registry.register_python_file(plain).workflow.inputs == []
        app = tmp_path / "count.py"
        app.write_text(APP)
        assert len(registry.register_python_file(app).workflow.inputs) == 5
