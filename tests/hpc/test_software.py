"""@software(config_file=...): every part of an eFlows4HPC JSON description means what
the decorator of the same name means (unit tests of the model; the programs run in
test_task_types.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.hpc import software
from eflows_kernel.model.hpc.spec import ContainerSpec, ExecSpec, TaskKind
from eflows_kernel.model.parameter import FILE_IN
from eflows_kernel.model.task import TaskDefinition, task


def described(tmp_path: Path, config: object, function=None, name: str = "app.json"):
    path = tmp_path / name
    path.write_text(json.dumps(config))

    def simulation(work_dir, param_d, data=None):
        pass

    return software(config_file=str(path))(function or simulation)


MPI_PROPERTIES = {"runner": "mpirun", "binary": "parse_params.bin", "processes": 2,
                  "working_dir": "/tmp/{{work_dir}}", "params": "-d {{param_d}}"}


def test_both_spellings_describe_the_same_task(tmp_path: Path) -> None:
    documented = described(tmp_path, {"type": "mpi", "properties": MPI_PROPERTIES,
                                      "parameters": {}}, name="a.json")
    pycompss = described(tmp_path, {"execution": {"type": "mpi", **MPI_PROPERTIES},
                                    "parameters": {}}, name="b.json")
    for definition in (documented, pycompss):
        spec = definition.hpc
        assert spec.kind is TaskKind.MPI and spec.runner == "mpirun"
        assert (spec.binary, spec.processes) == ("parse_params.bin", 2)
        assert spec.args == "-d {{param_d}}"  # "params" is @mpi's args
        assert spec.working_dir == "/tmp/{{work_dir}}"


def test_container_prolog_epilog_and_constraints(tmp_path: Path) -> None:
    definition = described(tmp_path, {
        "type": "binary", "properties": {"binary": "grep", "params": "{{param_d}} {{data}}"},
        "container": {"engine": "SINGULARITY", "image": "tools.sif", "options": "--cleanenv"},
        "prolog": {"binary": "mkdir", "params": "-p {{work_dir}}"},
        "epilog": {"binary": "rm", "args": "-r {{work_dir}}", "fail_by_exit_value": True},
        "constraints": {"computing_units": 2, "memory_size": 1},
        "parameters": {"data": "FILE_IN", "returns": "int"}})
    spec = definition.hpc
    assert spec.kind is TaskKind.BINARY and spec.args == "{{param_d}} {{data}}"
    assert spec.container == ContainerSpec("SINGULARITY", "tools.sif", "--cleanenv")
    assert spec.prolog == ExecSpec("mkdir", "-p {{work_dir}}", True)  # PyCOMPSs' default
    assert spec.epilog == ExecSpec("rm", "-r {{work_dir}}", True)
    assert definition.options.constraints == {"computing_units": 2, "memory_size": 1}
    assert definition.options.computing_units == 2


def test_parameters_are_the_task_decorator(tmp_path: Path) -> None:
    definition = described(tmp_path, {
        "execution": {"type": "binary", "binary": "grep"},
        "parameters": {"returns": "int", "data": {"type": "FILE_IN", "prefix": "-f"},
                       "work_dir": "IN"}})
    assert isinstance(definition, TaskDefinition)
    assert definition.options.returns.types == (int,)
    assert definition.param_specs["data"].direction == FILE_IN.direction
    assert definition.param_specs["data"].prefix == "-f"


def test_without_parameters_it_sits_on_a_task(tmp_path: Path) -> None:
    path = tmp_path / "count.json"
    path.write_text(json.dumps({"execution": {"type": "binary", "binary": "wc"}}))

    @software(config_file=str(path))
    @task(returns=1, data=FILE_IN)
    def count(data):
        pass

    assert count.hpc.kind is TaskKind.BINARY and count.hpc.binary == "wc"
    assert count.param_specs["data"].direction == FILE_IN.direction
    path.write_text(json.dumps({"execution": {"type": "binary", "binary": "wc"},
                                "parameters": {"returns": 1}}))
    with pytest.raises(TaskDefinitionError, match="give @task's arguments in one place"):
        software(config_file=str(path))(task()(lambda data: None))


def test_a_workflow_is_plain_code_and_a_task_type_is_the_python_body(tmp_path: Path) -> None:
    def main(x):
        return x + 1

    assert described(tmp_path, {"execution": {"type": "workflow"}}, main) is main
    body = described(tmp_path, {"execution": {"type": "task"},
                                "parameters": {"returns": 1}}, name="t.json")
    assert isinstance(body, TaskDefinition) and getattr(body, "hpc", None) is None


def test_types_pycompss_reads_but_we_do_not_run_are_refused_when_called(tmp_path) -> None:
    http = described(tmp_path, {"execution": {"type": "http", "service_name": "s",
                                              "resource": "r", "request": "GET"},
                                "parameters": {}}, name="h.json")
    nested = described(tmp_path, {"execution": {"type": "COMPSs", "app_name": "a.py"},
                                  "parameters": {}}, name="c.json")
    assert "@http" in http.hpc.refused
    assert nested.hpc.refused is None and nested.hpc.nested_app == "a.py"  # @compss runs it


@pytest.mark.parametrize(("config", "message"), [
    ({"type": "spark", "properties": {}}, "type 'spark' is not supported; use task, binary"),
    ({"type": "binary", "properties": {}, "parameters": {}},
     "@binary: missing mandatory parameter.* binary"),
    ({"type": "binary", "properties": {"binary": "ls", "np": 2}, "parameters": {}},
     "@binary: unknown parameter 'np'"),
    ({"type": "mpi", "properties": "mpirun", "parameters": {}},
     "\"properties\" must be a JSON object"),
    ({"type": "task", "properties": {"binary": "ls"}, "parameters": {}},
     "type \"task\" takes no execution properties"),
    (["mpi"], "must hold a JSON object"),
])
def test_mistakes_name_what_is_wrong(tmp_path: Path, config: object, message: str) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        described(tmp_path, config)


def test_a_missing_or_broken_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(TaskDefinitionError, match=f"not found .looked for {tmp_path}"):
        software(config_file=str(tmp_path / "none.json"))
    (tmp_path / "bad.json").write_text("{\"type\": ")
    with pytest.raises(TaskDefinitionError, match="cannot read config_file"):
        software(config_file=str(tmp_path / "bad.json"))
    with pytest.raises(TaskDefinitionError, match="takes one argument: config_file"):
        software("app.json")
