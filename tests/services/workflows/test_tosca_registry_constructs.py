"""Constructs of the public eFlows4HPC registry beyond our four fixtures, in our own
small topologies: what imports and plans, and what is refused at import (named).

The survey behind them (which registry workflow uses what) is in docs/registry-import.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.planning import plan_execution
from eflows_kernel.services.executions.rendering import render_step
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import (
    WorkflowImportError,
    WorkflowRegistry,
    import_registry_folder,
    import_topology,
)
from eflows_kernel.services.workflows.step_graph import movements_by_step, step_dependencies

JOB = "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob"
ENV = "eflows4hpc.env.nodes.AbstractEnvironment"
SUBMIT = "tosca.interfaces.node.lifecycle.Runnable.submit"
RUN = "tosca.interfaces.node.lifecycle.Runnable.run"


def _env(node: str) -> dict[str, Any]:
    return {"on_env": {"type_requirement": "environment", "node": node,
                       "capability": "eflows4hpc.env.capabilities.ExecutionEnvironment",
                       "relationship": "tosca.relationships.DependsOn"}}


def _after(node: str) -> dict[str, Any]:
    return {f"after_{node}": {"type_requirement": "dependency", "node": node,
                              "capability": "tosca.capabilities.Node",
                              "relationship": "tosca.relationships.DependsOn"}}


def _job(command: str = "/app/main.py", env: str = "Site", **params: Any) -> dict[str, Any]:
    return {"type": JOB, "requirements": [_env(env)], "properties": {
        "submission_params": {"qos": "debug", "num_nodes": 1, **params},
        "application": {"command": command, "arguments": []}}}


def _steps(*chain: str) -> dict[str, Any]:
    """A submit -> run step pair per node, each node's run followed by the next node."""
    steps: dict[str, Any] = {}
    for index, node in enumerate(chain):
        steps[f"{node}_submit"] = {"target": node, "activities": [{"call_operation": SUBMIT}],
                                   "on_success": [f"{node}_run"]}
        steps[f"{node}_run"] = {"target": node, "activities": [{"call_operation": RUN}]}
        if index + 1 < len(chain):
            steps[f"{node}_run"]["on_success"] = [f"{chain[index + 1]}_submit"]
    return steps


def _write(path: Path, nodes: dict[str, Any], *, inputs: dict[str, Any] | None = None,
           workflows: dict[str, Any] | None = None) -> Path:
    topology: dict[str, Any] = {"node_templates": {"Site": {"type": ENV}, **nodes}}
    if inputs is not None:
        topology["inputs"] = inputs
    if workflows is not None:
        topology["workflows"] = workflows
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"tosca_definitions_version": "alien_dsl_3_0_0",
                                    "topology_template": topology}))
    return path


# ---- refused, named -------------------------------------------------------------------

def test_an_image_creation_without_its_step_is_refused(tmp_path: Path) -> None:
    """The step would otherwise run without the container its topology builds for it."""
    file = _write(tmp_path / "t.yml", {
        "Job": _job(),
        "Image": {"type": "imagecreation.ansible.nodes.ImageCreation",
                  "properties": {"workflow": "wf", "machine": {"container_engine": "x"}}}})
    with pytest.raises(WorkflowImportError, match=r"node_templates\.Image\.properties: an "
                                                  r"image creation needs workflow and step_id"):
        import_topology(file)


# ---- imported, and planned ------------------------------------------------------------

def test_an_input_a_dls_node_names_is_asked_at_trigger(tmp_path: Path) -> None:
    """``input_name_for_url: url`` with no ``url`` declared (mlesmap): the DLS takes
    it from the execution inputs, so the trigger asks for it (a 400 naming it)."""
    fetch = {"type": "dls.ansible.nodes.HTTP2SSH", "requirements": [_env("Site")],
             "properties": {"input_name_for_url": "url", "input_name_for_target_path": "dir",
                            "input_name_for_login": "user_id", "force": True}}
    job = _job()
    job["requirements"].append(_after("Fetch"))
    file = _write(tmp_path / "t.yml", {"Job": job, "Fetch": fetch},
                  inputs={"dir": {"type": "string", "required": True}},
                  workflows={"modelSelection": {"steps": _steps("Fetch", "Job")}})
    wf = import_topology(file)
    assert wf.input("url").required and wf.input("url").type == "string"
    assert "input_name_for_url" in wf.input("url").description
    assert any("'url' is not a declared input; declared as a required" in w.message
               for w in wf.warnings)
    (move,) = wf.data_movements
    assert (move.kind, move.source, move.target) == ("http", "${url}", "${dir}")
    assert move.options["force"] is True
    with pytest.raises(ValidationError) as missing:
        plan_execution("id", wf, {"dir": "in"}, {"Site": "cluster"})
    assert "url" in missing.value.details["fields"]
    plan = plan_execution("id", wf, {"dir": "in", "url": "https://example.org/p.json"},
                          {"Site": "cluster"})
    # The HTTP2SSH fetch is a step of its own, before the job it feeds.
    assert [(s.name, s.site) for s in plan.steps] == [("Job:in:Fetch", "cluster"),
                                                      ("Job", "cluster")]
    assert plan.step("Job").links == ("Job:in:Fetch",)


def test_a_custom_workflow_with_fan_out_and_two_roles_plans_typed(tmp_path: Path) -> None:
    """What Caelestis_DT and rom_pillar_I use: a TOSCA workflow not named exec_job,
    ``$name`` references, typed inputs in num_nodes/qos/compss options, one job's end
    fanning out to two stage-outs, and two environments bound one by one."""
    first = _job(extra_compss_opts="--exec_time=$exec_time --pythonpath=$app/src",
                 num_nodes={"get_input": "nodes"}, qos="${queue}")
    first["properties"]["application"] = {"command": "$app/src/main.py",
                                           "arguments": ["$app/input/"]}
    second = _job("/other/run.py", env="Far")
    outs = {name: {"type": "dls.ansible.nodes.DLSDAGWebdavStageOutData",
                   "requirements": [_env("Site"), _after("First")],
                   "properties": {"input_name_for_source_path": "results",
                                  "input_name_for_oid": target}}
            for name, target in (("UpCenter", "center"), ("UpOutside", "outside"))}
    steps = _steps("First", "UpCenter")
    steps.update({k: v for k, v in _steps("UpOutside").items()})
    steps.update({k: v for k, v in _steps("Second").items()})
    steps["First_run"]["on_success"] = ["UpCenter_submit", "UpOutside_submit"]
    file = _write(tmp_path / "t.yml", {"First": first, "Second": second, "Far": {"type": ENV},
                                       **outs},
                  workflows={"customWorkflow": {"inputs": {
                      "app": {"type": "string"}, "exec_time": {"type": "integer"},
                      "nodes": {"type": "integer", "default": 1, "required": False},
                      "queue": {"type": "string", "default": "debug", "required": False},
                      "results": {"type": "string"}, "center": {"type": "string"},
                      "outside": {"type": "string"}}, "steps": steps}})
    wf = import_topology(file)
    assert wf.source["tosca_run_workflow"] == "customWorkflow"
    assert step_dependencies(wf) == {"First": (), "Second": ()}
    moves = {m.name: m for m in wf.data_movements}
    assert moves["UpCenter"].depends_on == moves["UpOutside"].depends_on == ["First"]
    assert set(movements_by_step(wf)["First"]) == {"UpCenter", "UpOutside"}
    values = {"app": "/apps/cm", "exec_time": "30", "nodes": "2", "results": "out",
              "center": "webdav://h/c", "outside": "webdav://h/o"}
    with pytest.raises(ValidationError, match="'Far' is not bound to a site"):
        plan_execution("id", wf, values, {"Site": "a"})
    plan = plan_execution("id", wf, values, {"Site": "a", "Far": "b"})
    first_plan, second_plan = [s for s in plan.steps if not s.movement]
    assert [s.name for s in plan.steps if s.movement] == ["First:out:UpCenter",
                                                          "First:out:UpOutside"]
    assert (first_plan.site, second_plan.site) == ("a", "b")
    assert first_plan.step.num_nodes == 2 and first_plan.step.qos == "debug"
    assert first_plan.step.extra_compss_opts == "--exec_time=30 --pythonpath=/apps/cm/src"
    with pytest.raises(ValidationError) as bad:
        plan_execution("id", wf, {**values, "nodes": "two"}, {"Site": "a", "Far": "b"})
    assert "nodes" in bad.value.details["fields"]


def _ssh_to_ssh(**properties: Any) -> dict[str, Any]:
    """A copy from the first job's site (Near) to the second's (Far), as feature
    extraction 0.2.0 has between its jobs: after the first one, on both roles."""
    return {"type": "dls.ansible.nodes.SSH2SSH", "properties": {
        "dag_id": "ssh2ssh", "input_name_for_source_path": "src",
        "input_name_for_target_path": "dst", "input_name_for_source_user_id": "who",
        "dls_api_password": {"get_secret": ["/secret/dls", "data=password"]}, **properties},
        "requirements": [
            {"to": {"type_requirement": "environment", "node": "Far"}}, _after("First"),
            {"from": {"type_requirement": "source_environment", "node": "Near"}}]}


def _two_sites_with_a_copy(tmp_path: Path, **properties: Any) -> Path:
    second = _job("/app/second.py", env="Far")
    second["requirements"].append(_after("Copy"))
    inputs = {"src": {"type": "string"}, "dst": {"type": "string", "required": False},
              "who": {"type": "string", "default": "u"}}
    return _write(tmp_path / "t.yml", {
        "Near": {"type": ENV}, "Far": {"type": ENV},
        "First": _job("/app/first.py", env="Near"), "Copy": _ssh_to_ssh(**properties),
        "Second": second}, workflows={"customWorkflow": {
            "inputs": inputs, "steps": _steps("First", "Copy", "Second")}})


def test_an_ssh_to_ssh_copy_is_a_copy_step_between_the_two_jobs(tmp_path: Path) -> None:
    """Feature extraction 0.2.0: the second job starts only after the copy, which
    starts after the first job, from the first job's site to the second's."""
    wf = import_topology(_two_sites_with_a_copy(tmp_path))
    (copy,) = wf.site_copies
    assert (copy.source_environment, copy.environment) == ("Near", "Far")
    assert (copy.source_path, copy.target_path) == ("${src}", "${dst}")
    assert copy.options["secrets"] == {"dls_api_password": "/secret/dls:data=password"}
    assert step_dependencies(wf) == {"First": (), "Second": ("First",)}
    assert movements_by_step(wf) == {"First": (), "Second": ()}  # (no job moves it)
    plan = plan_execution("id", wf, {"src": "/near/out", "dst": "/far/in/"},
                          {"Near": "hpc1", "Far": "hpc2"})
    assert [(s.name, s.site, s.depends_on) for s in plan.steps] == [
        ("First", "hpc1", ()), ("First->hpc2", "hpc2", ("First",)),
        ("Second", "hpc2", ("First", "First->hpc2"))]
    step = plan.step("First->hpc2")
    assert (step.copy_of, step.site_copy) == ("First", "Copy")
    assert step.copy_paths == ("/near/out", "/far/in/")
    assert [s.name for s in plan.ready(())] == ["First"]
    assert [s.name for s in plan.ready({"First"})] == ["First->hpc2"]
    # A restarted server plans again from the sites recorded per step: the same copy.
    again = plan_execution("id", wf, {"src": "/near/out", "dst": "/far/in/"},
                           {"First": "hpc1", "Second": "hpc2"})
    assert [(s.name, s.site) for s in again.steps] == [(s.name, s.site) for s in plan.steps]
    with pytest.raises(ValidationError) as missing:  # (registry: optional, no default)
        plan_execution("id", wf, {"src": "/near/out"}, {"Near": "hpc1", "Far": "hpc2"})
    assert "Copy: its target_path needs the input 'dst'" in str(missing.value)
    assert "site_copies.Copy.target_path" in missing.value.details["fields"]


def test_an_ssh_to_ssh_host_must_be_a_bound_site(tmp_path: Path) -> None:
    """A host in the node (templated) picks the bound site it is the host of; one that
    is the host of no bound site is a trigger-time error naming it."""
    wf = import_topology(_two_sites_with_a_copy(tmp_path,
                                                input_name_for_target_host="far_host"))
    assert wf.input("far_host").required  # (the DLS reads it from the inputs)
    assert wf.site_copies[0].target_host == "${far_host}"
    places = {"hpc1": "u@login1.example.org:22", "hpc2": "u@login2.example.org:22"}
    values = {"src": "/a", "dst": "/b"}
    plan = plan_execution("id", wf, {**values, "far_host": "login2.example.org"},
                          {"Near": "hpc1", "Far": "hpc2"}, places)
    assert plan.step("First->hpc2").site == "hpc2"
    with pytest.raises(ValidationError) as info:
        plan_execution("id", wf, {**values, "far_host": "elsewhere.example.org"},
                       {"Near": "hpc1", "Far": "hpc2"}, places)
    assert "'elsewhere.example.org' is not the host of a site bound" in str(info.value)
    assert "site_copies.Copy.target_host" in info.value.details["fields"]


def test_an_ssh_to_ssh_copy_without_a_path_is_refused(tmp_path: Path) -> None:
    file = _two_sites_with_a_copy(tmp_path, input_name_for_target_path="")
    with pytest.raises(WorkflowImportError, match=r"Copy\.properties\.target_path: missing: "
                                                  r"an SSH2SSH copy needs the path"):
        import_topology(file)


def test_an_older_plugin_job_is_the_same_step_as_the_newer_one(tmp_path: Path) -> None:
    """Pillar_II/esm's ``pycomps.ansible.nodes.PyCOMPSJob``: flat properties, each one
    the newer plugin's field; the endpoint is the site bound at trigger."""
    older = {"type": "pycomps.ansible.nodes.PyCOMPSJob", "requirements": [_env("Site")],
             "properties": {
                 "pycomps_endpoint": {"get_input": "target_host"},
                 "compss_module_version": "eflows4hpc", "num_nodes": "${nodes}",
                 "qos": "debug", "command": "/apps/esm/launch.sh",
                 "arguments": ["--hpc mn4", "--start_dates ${year}"],
                 "container_image": "", "container_compss_path": "", "container_opts": "",
                 "python_interpreter": "python3", "extra_compss_opts": ""}}
    file = _write(tmp_path / "t.yml", {"Esm": older}, inputs={
        "target_host": {"type": "string"}, "nodes": {"type": "integer", "default": 3},
        "year": {"type": "string", "default": "1948"}},
        workflows={"exec_job": {"steps": _steps("Esm")}})
    wf = import_topology(file)
    (step,) = wf.steps
    assert (step.application, step.qos, step.python_interpreter) == (
        "/apps/esm/launch.sh", "debug", "python3")
    assert step.compss_modules == ["COMPSs/${compss_module_version}"]  # an input (below)
    assert (step.extra_compss_opts, step.container_opts, step.environment) == (
        None, {}, "Site")
    assert any("pycomps_endpoint: not imported" in w.message for w in wf.warnings)
    plan = plan_execution("id", wf, {"target_host": "mn4"}, "cluster")
    assert plan.steps[0].step.num_nodes == 3
    assert plan.steps[0].step.compss_modules == ["COMPSs/eflows4hpc"]
    # the words of the plugin's bash line (its arguments joined with spaces), which the
    # script's getopt reads: "--hpc mn4" as one word would be an unknown option
    assert render_step(plan.steps[0].step, plan.values) == (
        "/apps/esm/launch.sh", ["--hpc", "mn4", "--start_dates", "1948"])


def test_an_older_plugin_job_takes_num_nodes_and_its_module_from_the_inputs(
        tmp_path: Path) -> None:
    """esm's job asks ``num_nodes: 3`` and declares no such input; the older plugin's
    submit reads ``get_input: num_nodes`` and ``compss_module_version`` over the
    properties, so a run on a smaller site gives them at trigger."""
    older = {"type": "pycomps.ansible.nodes.PyCOMPSJob", "properties": {
        "pycomps_endpoint": {"get_input": "target_host"}, "compss_module_version": "2.10",
        "num_nodes": 3, "qos": "debug", "command": "/apps/esm/launch.sh"}}
    file = _write(tmp_path / "t.yml", {"Esm": older}, inputs={
        "target_host": {"type": "string"}}, workflows={"exec_job": {"steps": _steps("Esm")}})
    wf = import_topology(file)
    nodes, module = wf.input("num_nodes"), wf.input("compss_module_version")
    assert (nodes.type, nodes.required, nodes.default) == ("integer", False, 3)
    assert (module.required, module.default) == (False, "2.10")
    default = plan_execution("id", wf, {"target_host": "h"}, "cluster").steps[0].step
    assert (default.num_nodes, default.compss_modules) == (3, ["COMPSs/2.10"])
    given = plan_execution("id", wf, {"target_host": "h", "num_nodes": 1,
                                      "compss_module_version": "3.3"}, "cluster").steps[0]
    assert (given.step.num_nodes, given.step.compss_modules) == (1, ["COMPSs/3.3"])


def test_a_workflow_folder_topology_has_the_folders_name_however_it_is_imported(
        tmp_path: Path) -> None:
    """Pillar_II/esm: ``topology.yml`` beside ``eflows4hpc.yaml``, template name a date;
    importing the pillar named it ``esm``, importing ``esm/`` itself ``12022024``."""
    job = {"type": "pycomps.ansible.nodes.PyCOMPSJob", "properties": {
        "pycomps_endpoint": "h", "command": "/apps/esm/launch.sh"}}
    folder = tmp_path / "Pillar_II" / "esm"
    folder.mkdir(parents=True)
    _write(folder / "topology.yml", {"Esm": job}, workflows={"exec_job": {
        "steps": _steps("Esm")}})
    data = yaml.safe_load((folder / "topology.yml").read_text())
    data["metadata"] = {"template_name": 12022024}
    (folder / "topology.yml").write_text(yaml.safe_dump(data))
    (folder / "eflows4hpc.yaml").write_text("pip: [xarray]\n")
    for imported in (tmp_path / "Pillar_II", folder):
        assert [w.name for w in import_registry_folder(imported)] == ["esm"], imported


@pytest.mark.parametrize("key", ["container_image", "container_compss_path"])
def test_an_older_plugin_container_path_is_refused_by_name(tmp_path: Path, key: str) -> None:
    older = {"type": "pycomps.ansible.nodes.PyCOMPSJob", "requirements": [_env("Site")],
             "properties": {"command": "/x/run.sh", key: "/images/x.sif"}}
    with pytest.raises(WorkflowImportError, match=rf"Esm\.properties\.{key}: "):
        import_topology(_write(tmp_path / "t.yml", {"Esm": older}))


# ---- registry folders -----------------------------------------------------------------

def _runnable(path: Path) -> Path:
    return _write(path, {"Job": _job()}, workflows={"exec_job": {"steps": _steps("Job")}})


def test_a_topology_outside_the_tosca_folders_is_found(tmp_path: Path) -> None:
    """Pillar_II/esm keeps its ``topology.yml`` beside its code, not in ``tosca/``."""
    _runnable(tmp_path / "pillar" / "one" / "tosca" / "topology.yml")
    _runnable(tmp_path / "pillar" / "two" / "topology.yml")
    (tmp_path / "pillar" / "two" / "spack.yaml").write_text("spack:\n  specs: [zlib]\n")
    (tmp_path / "pillar" / "two" / "eflows4hpc.yaml").write_text("pip: [numpy]\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("topology_template: {}\n")
    workflows = {w.name: w for w in import_registry_folder(tmp_path)}
    assert sorted(workflows) == ["one", "two"]
    assert workflows["two"].software.pip == ["numpy"]
    assert not any("spack.yaml" in w.path for w in workflows["two"].warnings)


def test_a_registry_import_registers_what_runs_and_names_what_it_refuses(
        tmp_path: Path) -> None:
    _runnable(tmp_path / "reg" / "good" / "tosca" / "topology.yml")
    bad = _write(tmp_path / "reg" / "bad" / "tosca" / "topology.yml", {
        "Job": _job(), "Up": {"type": "acme.nodes.Uploader",
                              "requirements": [_env("Site"), _after("Job")]}})
    registry = WorkflowRegistry(StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    report = registry.import_registry_folder(tmp_path / "reg")
    assert [w.name for w in report.registered] == ["good"]
    (refused,) = report.refused
    assert str(bad) in refused and "acme.nodes.Uploader" in refused
    with pytest.raises(WorkflowImportError, match=r"acme\.nodes\.Uploader"):
        import_registry_folder(tmp_path / "reg")  # no list to put refusals in: strict
    with pytest.raises(ValidationError, match=r"no topology that can be run here.*"
                                              r"acme\.nodes\.Uploader"):
        registry.import_registry_folder(tmp_path / "reg" / "bad")


@pytest.mark.parametrize(("where", "extra", "reason"), [
    ("step", {"on_failure": ["Job_run"]}, "a failure branch"),
    ("step", {"filter": [{"Job": [{"state": "started"}]}]}, "a condition"),
    ("activity", {"inline": "install"}, "another workflow run inline"),
    ("activity", {"delegate": "install"}, "a step delegated to the orchestrator"),
])
def test_a_run_workflow_step_this_server_would_not_follow_is_refused(
        tmp_path: Path, where: str, extra: dict[str, Any], reason: str) -> None:
    steps = _steps("Job")
    if where == "step":
        steps["Job_submit"].update(extra)
    else:
        steps["Job_submit"]["activities"].append(extra)
    file = _write(tmp_path / "t.yml", {"Job": _job()},
                  workflows={"exec_job": {"steps": steps}})
    with pytest.raises(WorkflowImportError) as info:
        import_topology(file)
    key = next(iter(extra))
    assert f"topology_template.workflows.exec_job.steps.Job_submit.{key}: {reason}" \
        in str(info.value)


def test_set_state_steps_and_operation_hosts_are_followed(tmp_path: Path) -> None:
    """What every registry exec_job has: set_state chains between the operations."""
    steps = _steps("Job")
    steps["Job_submit"]["operation_host"] = "ORCHESTRATOR"
    steps["Job_done"] = {"target": "Job", "activities": [{"set_state": "executed"}]}
    steps["Job_run"]["on_success"] = ["Job_done"]
    wf = import_topology(_write(tmp_path / "t.yml", {"Job": _job()},
                                workflows={"exec_job": {"steps": steps}}))
    assert [s.name for s in wf.steps] == ["Job"]


# ---- what the PyCOMPSs plugin takes from the inputs -----------------------------------

def test_num_nodes_qos_and_compss_options_inputs_replace_the_properties(
        tmp_path: Path) -> None:
    """Most registry exec_jobs declare ``num_nodes`` beside a fixed property (rom_pillar_I:
    property 2, input default 1): the plugin submits with the input's value."""
    jobs = {"A": _job(num_nodes=2, extra_compss_opts="--graph"),
            "B": _job(num_nodes=4, qos="debug")}
    file = _write(tmp_path / "t.yml", jobs, workflows={"exec_job": {"inputs": {
        "num_nodes": {"type": "integer", "required": False, "default": 1},
        "B_qos": {"type": "string", "required": False},
        "extra_compss_opts": {"type": "string", "required": False}},
        "steps": {**_steps("A"), **_steps("B")}}})
    wf = import_topology(file)
    a, b = wf.step("A"), wf.step("B")
    assert a.num_nodes == b.num_nodes == "${num_nodes}"
    assert (a.qos, b.qos) == ("debug", "${B_qos}")  # one node's input: that node only
    assert a.extra_compss_opts == b.extra_compss_opts == "${extra_compss_opts}"
    # not given, an optional input is the property it replaces
    assert wf.input("B_qos").default == "debug"
    assert wf.input("extra_compss_opts").default == "--graph"  # the first job's
    assert any("submission_params.num_nodes: taken from the input 'num_nodes'" in w.message
               for w in wf.warnings)
    plan = plan_execution("id", wf, {"num_nodes": "3", "B_qos": "gp_debug"}, "cluster")
    filled = {s.name: s.step for s in plan.steps}
    assert filled["A"].num_nodes == filled["B"].num_nodes == 3
    assert (filled["A"].qos, filled["B"].qos) == ("debug", "gp_debug")
    assert plan_execution("id", wf, {}, "cluster").steps[0].step.num_nodes == 1


def test_every_input_is_a_variable_of_the_job(tmp_path: Path) -> None:
    """``$application_path`` in Caelestis_DT's arguments is the shell's: the plugin
    exports each input (``PyCOMPSs_X`` as ``X``; ``<node>_PyCOMPSs_X`` for that node)."""
    job = _job()
    job["properties"]["application"]["arguments"] = ["$app/input"]
    file = _write(tmp_path / "t.yml", {"Job": job, "Other": _job()},
                  workflows={"exec_job": {"inputs": {
                      "app": {"type": "string"}, "tries": {"type": "integer", "default": 2},
                      "maybe": {"type": "string", "required": False},
                      "PyCOMPSs_OMP_NUM_THREADS": {"type": "integer", "default": 4},
                      "Job_PyCOMPSs_OMP_NUM_THREADS": {"type": "integer", "default": 8},
                      "with-dash": {"type": "string", "default": "x"}},
                      "steps": {**_steps("Job"), **_steps("Other")}}})
    wf = import_topology(file)
    assert wf.step("Job").env == {"app": "${app}", "tries": "${tries}",
                                  "OMP_NUM_THREADS": "${Job_PyCOMPSs_OMP_NUM_THREADS}"}
    assert wf.step("Other").env["OMP_NUM_THREADS"] == "${PyCOMPSs_OMP_NUM_THREADS}"
    plan = plan_execution("id", wf, {"app": "/apps/x"}, "cluster")
    assert plan.steps[0].step.env == {"app": "/apps/x", "tries": "2", "OMP_NUM_THREADS": "8"}
