"""Execution inputs: coercion, defaults, unknown/missing names; ``${name}`` rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    InputValidationError,
    Workflow,
    WorkflowInput,
    find_references,
    import_topology,
    render_arguments,
    validate_inputs,
)

FTRT = (Path(__file__).resolve().parents[2] / "fixtures" / "workflow-registry" / "Pillar_III"
        / "ftrt" / "tosca" / "topology.yml")


def _wf(*inputs: WorkflowInput) -> Workflow:
    return Workflow(name="wf", inputs=list(inputs))


TYPED = _wf(
    WorkflowInput(name="num_nodes", type="integer", required=True),
    WorkflowInput(name="ratio", type="float", required=False, default=0.5),
    WorkflowInput(name="debug", type="boolean", required=True, default=False),
    WorkflowInput(name="label", type="string", required=False),
    WorkflowInput(name="data", type="path", required=False),
    WorkflowInput(name="files", type="list", required=False),
    WorkflowInput(name="env", type="map", required=False),
)


def test_coercion_and_defaults() -> None:
    values = validate_inputs(TYPED, {
        "num_nodes": "4", "ratio": "1.5", "debug": "yes", "label": 7,
        "files": "a.txt, b.txt", "env": '{"A": "1"}'})
    assert values == {"num_nodes": 4, "ratio": 1.5, "debug": True, "label": "7",
                      "files": ["a.txt", "b.txt"], "env": {"A": "1"}}
    assert type(values["num_nodes"]) is int


def test_defaults_fill_and_optional_without_default_is_left_out() -> None:
    values = validate_inputs(TYPED, {"num_nodes": 2})
    assert values == {"num_nodes": 2, "ratio": 0.5, "debug": False}


def test_native_values_and_json_list() -> None:
    values = validate_inputs(TYPED, {"num_nodes": 3.0, "debug": 0, "files": '["x", 1]',
                                     "ratio": 2})
    assert values["num_nodes"] == 3 and values["debug"] is False
    assert values["files"] == ["x", 1] and values["ratio"] == 2.0


def test_every_problem_is_reported_per_field() -> None:
    with pytest.raises(InputValidationError) as info:
        validate_inputs(TYPED, {"num_nodes": "abc", "debug": "maybe", "ratio": "x",
                                "nodes": 1, "data": "  ", "env": "[1]"})
    errors = info.value.errors
    assert set(errors) == {"num_nodes", "debug", "ratio", "nodes", "data", "env"}
    assert errors["num_nodes"] == "input 'num_nodes' must be an integer, got 'abc'"
    assert errors["debug"] == "input 'debug' must be a boolean (true/false), got 'maybe'"
    assert errors["ratio"] == "input 'ratio' must be a number, got 'x'"
    assert errors["nodes"].startswith("input 'nodes' is not declared by workflow 'wf'")
    assert "num_nodes" in errors["nodes"]  # the declared names are listed
    assert errors["data"] == "input 'data' must be a non-empty path"
    assert "must be a map" in errors["env"]
    assert "input 'num_nodes' must be an integer" in str(info.value)


def test_missing_required_and_bool_is_not_an_integer() -> None:
    with pytest.raises(InputValidationError) as info:
        validate_inputs(TYPED, {})
    assert info.value.errors == {"num_nodes": "input 'num_nodes' is required (integer)"}
    with pytest.raises(InputValidationError) as info:
        validate_inputs(TYPED, {"num_nodes": True})
    assert "boolean" in info.value.errors["num_nodes"]


def test_fixture_workflow_inputs() -> None:
    wf = import_topology(FTRT)
    required = {i.name: "x" for i in wf.inputs if i.required}
    values = validate_inputs(wf, {**required, "hours": "6"})
    assert values["hours"] == 6
    assert values["seis_type"] == "BS" and values["exec_time"] == 20 and values["qos"] == "debug"
    args = render_arguments(wf.step("PyCOMPSJob").arguments, values)
    assert args[0] == "--seistype BS"
    assert args[2] == "--data_path x/Regions/"
    assert args[7] == "--hours 6"
    with pytest.raises(InputValidationError) as info:
        validate_inputs(wf, {"hours": "6"})
    assert "event" in info.value.errors and "run_path" in info.value.errors


def test_render_braced_and_bare_references() -> None:
    values = {"application_path": "/apps/fe", "queue": "debug", "n": 3, "flag": True,
              "xs": [1, 2]}
    assert render_arguments("$application_path/src/x.py", values) == "/apps/fe/src/x.py"
    assert render_arguments("--queue=${queue} -n ${ n }", values) == "--queue=debug -n 3"
    assert render_arguments(["${flag}", "${xs}", "cost $$5"], values) == \
        ["True", "[1, 2]", "cost $5"]
    assert render_arguments("no refs", {}) == "no refs"


def test_render_unknown_reference_is_named() -> None:
    with pytest.raises(ArgumentRenderError) as info:
        render_arguments(["ok", "${result_data_path}/result.txt"], {"x": 1})
    assert info.value.name == "result_data_path"
    assert "unknown reference '${result_data_path}'" in str(info.value)
    with pytest.raises(ArgumentRenderError, match="'queue'"):
        render_arguments("--queue=$queue", {})


def test_find_references() -> None:
    assert find_references("${a}/$b/${a} $$c ${ d }") == ["a", "b", "d"]
