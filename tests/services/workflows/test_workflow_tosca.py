"""Importing the real eFlows4HPC workflow-registry fixtures (TOSCA + eflows4hpc.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.planning import plan_execution
from eflows_kernel.services.workflows import (
    Workflow,
    WorkflowImportError,
    import_registry_folder,
    import_topology,
    parse_software_file,
)
from eflows_kernel.services.workflows.step_graph import movements_by_step, step_dependencies

REGISTRY = Path(__file__).resolve().parents[2] / "fixtures" / "workflow-registry"


def _by_name(workflows: list[Workflow]) -> dict[str, Workflow]:
    return {wf.name: wf for wf in workflows}


def _inputs(wf: Workflow) -> dict[str, tuple[str, bool, object]]:
    return {i.name: (i.type, i.required, i.default) for i in wf.inputs}


def _messages(wf: Workflow) -> list[str]:
    return [w.message for w in wf.warnings]


@pytest.fixture(scope="module")
def registry() -> dict[str, Workflow]:
    return _by_name(import_registry_folder(REGISTRY))


def test_registry_root_gives_one_workflow_per_topology(registry: dict[str, Workflow]) -> None:
    assert sorted(registry) == ["feature_extraction_wf", "ftrt", "minimal_workflow.classic",
                                "minimal_workflow.parallel"]
    for wf in registry.values():
        # what persistence will store must round-trip
        assert Workflow.model_validate(wf.model_dump(mode="json")) == wf


def test_pillar_ii_feature_extraction(registry: dict[str, Workflow]) -> None:
    wf = registry["feature_extraction_wf"]
    assert wf.version == "0.1.0-SNAPSHOT"
    assert wf.source["template_name"] == "TestCmcc1"
    assert wf.source["tosca_workflows"] == ["customWorkflow"]
    assert _inputs(wf) == {
        "user_id": ("string", True, None), "vault_id": ("string", True, None),
        "num_nodes": ("integer", True, None), "project_name": ("string", True, None),
        "application_path": ("string", True, None), "queue": ("string", True, None),
        "exec_time": ("integer", True, None),
    }
    (step,) = wf.steps
    assert step.name == "PyCOMPSJob"
    assert step.application == "$application_path/src/feature_extraction.py"
    assert step.arguments == ["$application_path/input/", "$application_path/output/"]
    assert step.qos == "debug"
    # The plugin takes num_nodes from the (required) input of that name, and exports
    # every input to the job's shell, which is what expands $application_path there.
    assert step.num_nodes == "${num_nodes}"
    assert step.env["application_path"] == "${application_path}"
    assert step.env["exec_time"] == "${exec_time}"
    assert step.python_interpreter is None  # "" in the file
    assert step.keep_environment is True
    assert step.environment == "AbstractEnvironment"
    assert step.container_opts == {"container_opts": '"-e"'}
    assert "--project_name=$project_name --queue=$queue" in step.extra_compss_opts
    assert wf.data_movements == []
    assert wf.environments == ["AbstractEnvironment"]
    assert wf.software.sources == [] and wf.software.containers == []
    messages = _messages(wf)
    assert any("PyCOMPSJob.properties.environment" in m and "zeus.cmcc.scc" in m
               for m in messages)
    # The TOSCA workflow's steps are what runs: nothing about them is left unimported.
    assert wf.source["tosca_run_workflow"] == "customWorkflow"
    assert not any("workflows.customWorkflow.steps" in m for m in messages)
    # every $reference is a declared input: no warning about references
    assert not any("not a declared input" in m for m in messages)


def test_pillar_iii_ftrt(registry: dict[str, Workflow]) -> None:
    wf = registry["ftrt"]
    assert wf.description == "Probabilistic Tsunami Forecast Workflow"
    assert wf.version == "0.2.2-SNAPSHOT"
    inputs = _inputs(wf)
    assert len(inputs) == 20
    assert inputs["images_path"] == ("string", True, None)  # topology input
    assert inputs["seis_type"] == ("string", False, "BS")
    assert inputs["kagan_weight"] == ("integer", False, 0)
    assert inputs["hours"] == ("integer", False, 1)
    assert inputs["exec_time"] == ("integer", False, 20)
    assert inputs["qos"] == ("string", False, "debug")
    assert wf.input("data_path").description == "path to store the data in the HPC system"
    assert wf.source["topology_inputs"] == ["images_path", "data_path", "region_data_oid",
                                            "templates_oid", "vault_id", "user_id"]

    (step,) = wf.steps
    assert step.application == "/ftrt/Code/launch_pycompss.py"
    assert step.arguments[0] == "--seistype ${seis_type}"
    assert step.arguments[2] == "--data_path ${data_path}/Regions/"
    assert step.arguments[9] == "--cfg from_template"
    assert len(step.arguments) == 11
    assert step.qos == "${qos}"
    assert "--exec_time=${exec_time}" in step.extra_compss_opts
    assert step.container_image == "Pillar_III/ftrt"
    assert step.container_opts == {"container_opts": "'-e'",
                                   "container_compss_path": "/apps/COMPSs/TrunkJEA"}
    # exec_job runs ParameterFile_StageIn -> PyCOMPSJob -> Results_StageOut; the nodes its
    # requirements name beside (deployment-time movements) are still staged in by the job.
    assert step.depends_on == ["ParameterFile_StageIn"]
    assert set(movements_by_step(wf)[step.name]) >= {
        "ParameterFile_StageIn", "RegionData_Deployment", "Config_Templates_Deployment",
        "ImageTransfer"}

    moves = {m.name: m for m in wf.data_movements}
    assert set(moves) == {"RegionData_Deployment", "Config_Templates_Deployment",
                          "Results_StageOut", "ParameterFile_StageIn", "ImageTransfer"}
    region = moves["RegionData_Deployment"]
    assert (region.direction, region.kind, region.source, region.target) == (
        "in", "webdav", "${region_data_oid}", "${data_path}")
    assert region.options["dag_id"] == "webdav_stagein"
    assert region.options["secrets"]["dls_api_username"] == \
        "/secret/data/services_secrets/dls:data=username"
    http = moves["ParameterFile_StageIn"]
    assert (http.direction, http.kind, http.source, http.target) == (
        "in", "http", "${parameters_url_file}", "${parameters_file}")
    out = moves["Results_StageOut"]
    assert (out.direction, out.kind, out.source, out.target) == (
        "out", "webdav", "${results_path}", "${results_oid}")
    assert out.depends_on == ["PyCOMPSJob"]
    image = moves["ImageTransfer"]
    assert (image.kind, image.source, image.target) == ("image", "Pillar_III/ftrt",
                                                        "${images_path}")

    (build,) = wf.software.containers
    assert (build.workflow, build.step_id) == ("Pillar_III", "ftrt")
    assert build.machine["architecture"] == "sandybridge"
    assert wf.software.sources == [str(REGISTRY / "Pillar_III/ftrt/eflows4hpc.yaml")]
    assert "t-hysea" in wf.software.spack and "compss@3.3" in wf.software.spack
    assert "xarray==0.16.1" in wf.software.pip
    assert "libgeos-dev" in wf.software.apt
    assert not any("not a declared input" in m for m in _messages(wf))


def test_minimal_classic(registry: dict[str, Workflow]) -> None:
    wf = registry["minimal_workflow.classic"]
    inputs = _inputs(wf)
    # TOSCA workflow inputs override topology inputs of the same name
    assert inputs["user_id"] == ("string", True, None)
    assert inputs["debug"] == ("boolean", True, False)
    assert inputs["register_result_in_datacat"] == ("boolean", False, False)
    assert inputs["num_nodes"] == ("integer", False, 1)
    assert inputs["oid"] == ("string", True, None)
    (step,) = wf.steps
    assert step.application == "/wordcount/src/wordcount_blocks.py"
    assert step.arguments == ["${staged_in_data_path}/data.txt",
                              "${result_data_path}/result.txt", "3000"]
    assert step.compss_modules == ["compss/3.0", "singularity"]
    assert step.container_image == "minimal_workflow/wordcount"
    moves = {m.name: (m.direction, m.kind, m.source, m.target) for m in wf.data_movements}
    assert moves == {
        "DLSDAGImageTransfer": ("in", "image", "minimal_workflow/wordcount",
                                "${container_image_transfer_directory}"),
        "StageInData": ("in", "dls", "${oid}", "${staged_in_data_path}"),
        "StageOutData": ("out", "dls", "${result_data_path}", "${mid}"),
    }
    assert wf.software.spack == ["compss"]
    assert wf.software.sources == [str(REGISTRY / "minimal_workflow/wordcount/eflows4hpc.yaml")]
    # inputs/inputs.yml holds orchestrator deployment values: reported, not dropped
    inputs_file = str(REGISTRY / "minimal_workflow/tosca/classic/inputs/inputs.yml")
    assert any(w.path == inputs_file and "dls_api_url" in w.message for w in wf.warnings)
    assert wf.source["deployment_inputs"][inputs_file] == {
        "dls_api_url": "${DLS_API_URL}", "target_host": "${TARGET_HOST}"}


def test_minimal_parallel_two_clusters(registry: dict[str, Workflow]) -> None:
    wf = registry["minimal_workflow.parallel"]
    assert [s.name for s in wf.steps] == ["PyCOMPSJobCluster1", "PyCOMPSJobCluster2"]
    assert wf.environments == ["Cluster1Environment", "Cluster2Environment"]
    one, two = wf.steps
    assert one.environment == "Cluster1Environment"
    assert two.environment == "Cluster2Environment"
    assert two.arguments[:2] == ["${cluster2_input_path}/data.txt",
                                 "${cluster2_output_path}/result.txt"]
    assert one.compss_modules == ["compss/3.0", "singularity"] and two.compss_modules == []
    moves = {m.name: m for m in wf.data_movements}
    assert moves["StageInDataCluster2"].target == "${cluster2_input_path}"
    assert moves["StageInDataCluster2"].environment == "Cluster2Environment"
    assert moves["DLSDAGImageTransferCluster1"].options["target_host"] == "nord3.bsc.es"
    assert "target_host" not in moves["DLSDAGImageTransferCluster2"].options
    assert _inputs(wf)["container_image_transfer_directory_cluster2"] == ("string", False, None)
    assert not any("deployment inputs" in m for m in _messages(wf))  # classic's only


def test_minimal_parallel_sends_cluster1s_image_to_the_site_on_its_target_host(
        registry: dict[str, Workflow]) -> None:
    """Cluster1's image transfer names nord3.bsc.es: bound to a site there, the image
    step runs there; bound to sites elsewhere, the trigger is a 400 naming the field."""
    wf = registry["minimal_workflow.parallel"]
    inputs = {"oid": "rec", "user_id": "me", "vault_id": "v", "cluster1_input_path": "/a",
              "cluster2_input_path": "/b",
              "cluster1_output_path": "/c", "cluster2_output_path": "/d",
              "container_image_transfer_directory_cluster1": "/i1",
              "container_image_transfer_directory_cluster2": "/i2", "mid": "m"}
    roles = {"Cluster1Environment": "nord3", "Cluster2Environment": "mn5"}
    plan = plan_execution("id", wf, inputs, roles, {"nord3": "me@nord3.bsc.es:22",
                                                    "mn5": "me@glogin1.bsc.es:22"})
    assert plan.step("PyCOMPSJobCluster1:in:DLSDAGImageTransferCluster1").site == "nord3"
    assert plan.step("PyCOMPSJobCluster2:in:DLSDAGImageTransferCluster2").site == "mn5"
    with pytest.raises(ValidationError) as refused:
        plan_execution("id", wf, inputs, roles, {"nord3": "me@127.0.0.1:2222",
                                                 "mn5": "me@127.0.0.1:2222"})
    assert "data_movements.DLSDAGImageTransferCluster1.target_host" in \
        refused.value.details["fields"]


def test_an_image_transfer_may_read_its_target_host_from_an_input(tmp_path: Path) -> None:
    topology = yaml.safe_load((REGISTRY / "minimal_workflow/tosca/parallel/types.yaml")
                              .read_text())
    props = topology["topology_template"]["node_templates"]["DLSDAGImageTransferCluster1"][
        "properties"]
    del props["target_host"]
    props["input_name_for_target_host"] = "cluster1_host"
    (tmp_path / "tosca").mkdir()
    (tmp_path / "tosca" / "types.yaml").write_text(yaml.safe_dump(topology))
    wf = import_topology(tmp_path / "tosca" / "types.yaml")
    moved = {m.name: m for m in wf.data_movements}["DLSDAGImageTransferCluster1"]
    assert moved.options["target_host"] == "${cluster1_host}"
    assert "input_name_for_target_host" not in moved.options
    assert wf.input("cluster1_host").required  # the DLS reads it from the inputs


def test_import_topology_alone_names_from_registry_layout() -> None:
    wf = import_topology(REGISTRY / "PillarII/feature_extraction_wf/tosca/topology.yml")
    assert wf.name == "feature_extraction_wf"
    assert import_topology(REGISTRY / "Pillar_III/ftrt/tosca/topology.yml",
                           name="ptf").name == "ptf"


def test_single_workflow_folder(tmp_path: Path) -> None:
    workflows = import_registry_folder(REGISTRY / "minimal_workflow")
    assert [w.name for w in workflows] == ["minimal_workflow.classic",
                                           "minimal_workflow.parallel"]
    # outside a tosca/ folder the template name is used
    copy = tmp_path / "topo.yml"
    shutil.copy(REGISTRY / "PillarII/feature_extraction_wf/tosca/topology.yml", copy)
    assert import_topology(copy).name == "TestCmcc1"


def test_software_file() -> None:
    needs, warnings = parse_software_file(REGISTRY / "Pillar_III/ftrt/eflows4hpc.yaml")
    assert needs.apt == ["libxml2-dev", "libxslt-dev", "libjpeg-dev", "libgeos-dev", "bc"]
    assert needs.spack == ["t-hysea", "t-hysea-lb", "compss@3.3", "py-numpy", "py-scipy",
                           "py-h5py", "py-pandas", "py-netcdf4"]
    assert needs.spack_config == {"packages": {"all": {"compiler": ["gcc@8"]}}}
    assert needs.pip[0] == "xarray==0.16.1" and needs.pip[-1] == "dill"
    assert len(needs.pip) == 15
    assert warnings == []


def test_software_file_unknown_section(tmp_path: Path) -> None:
    (tmp_path / "eflows4hpc.yaml").write_text("pip: [numpy]\nnix: [hello]\n")
    needs, warnings = parse_software_file(tmp_path / "eflows4hpc.yaml")
    assert needs.pip == ["numpy"]
    assert len(warnings) == 1 and "'nix'" in warnings[0].message


# ---- what cannot be mapped is reported ---------------------------------------------

def test_what_is_not_imported_but_does_not_change_the_run_is_a_warning(
        tmp_path: Path) -> None:
    tosca = tmp_path / "wf" / "tosca"
    tosca.mkdir(parents=True)
    (tosca / "topology.yml").write_text("""
tosca_definitions_version: alien_dsl_3_0_0
topology_template:
  inputs:
    size: {type: integer, default: 3, constraints: [{greater_than: 0}]}
    when: {type: timestamp, required: false}
  outputs:
    result: {value: 1}
  node_templates:
    Job:
      type: org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob
      properties:
        submission_params: {num_nodes: {get_input: size}, walltime: 10}
        application: {command: /app/run.py, arguments: ["${size}"]}
      interfaces: {Standard: {create: x.sh}}
""")
    (wf,) = import_registry_folder(tmp_path)
    assert wf.name == "wf"
    assert wf.step("Job").num_nodes == "${size}"
    assert wf.step("Job").options == {"submission_params": {"walltime": 10},
                                      "tosca_type": "org.eflows4hpc.pycompss.plugin.nodes."
                                                    "PyCOMPSJob"}
    assert wf.input("when").type == "string"
    messages = " | ".join(_messages(wf))
    assert "node_templates.Job.interfaces" in messages
    assert "submission_params.walltime" in messages
    assert "topology_template.outputs" in messages
    assert "inputs.size.constraints" in messages
    assert "'timestamp'" in messages
    assert all(w.path == str((tosca / "topology.yml").resolve()) for w in wf.warnings)


def test_an_unknown_node_type_and_an_undeclared_module_are_refused(tmp_path: Path) -> None:
    """Dropping a node the orchestrator would have run, or loading a module called
    ``${mod}`` (the plugin hands modules to ``pycompss init -m`` as they are, no shell
    fills them), would run something else than the topology says: refused, each named.
    ``${queue}`` and ``$missing`` in the submission line are the shell's: not refused."""
    (tmp_path / "t.yml").write_text("""
topology_template:
  inputs: {size: {type: integer, default: 3}}
  node_templates:
    Job:
      type: org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob
      properties:
        submission_params: {qos: "${queue}", compss_modules: ["${mod}"]}
        application: {command: /app/run.py, arguments: ["${size}", "--in $missing"]}
    Mystery:
      type: acme.nodes.Thing
""")
    with pytest.raises(WorkflowImportError) as info:
        import_topology(tmp_path / "t.yml")
    message = str(info.value)
    assert "cannot be run here" in message
    assert "node_templates.Mystery: node type 'acme.nodes.Thing' is not one this server runs" \
        in message
    assert ("node_templates.Job (steps.Job.compss_modules[0]): references '${mod}', which is "
            "not a declared input") in message
    assert "${size}" not in message and "missing" not in message and "queue" not in message


def test_type_definition_files_are_reported(tmp_path: Path) -> None:
    tosca = tmp_path / "wf" / "tosca"
    shutil.copytree(REGISTRY / "minimal_workflow/tosca/classic", tosca / "classic")
    (tosca / "types").mkdir()
    (tosca / "types" / "types.yaml").write_text(
        "tosca_definitions_version: alien_dsl_3_0_0\n"
        "node_types:\n  my.nodes.Job:\n    derived_from: tosca.nodes.Root\n")
    (wf,) = import_registry_folder(tmp_path)
    assert any("type definitions only (my.nodes.Job)" in w.message for w in wf.warnings)
    with pytest.raises(WorkflowImportError, match="type definitions only"):
        import_topology(tosca / "types" / "types.yaml")


def test_types_only_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "tosca").mkdir()
    (tmp_path / "tosca" / "types.yaml").write_text("node_types:\n  a.B: {}\n")
    with pytest.raises(WorkflowImportError, match="no TOSCA topology") as info:
        import_registry_folder(tmp_path)
    assert "types.yaml" in str(info.value)


# ---- bad input ----------------------------------------------------------------------

def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkflowImportError, match="no such folder") as info:
        import_registry_folder(tmp_path / "nope")
    assert info.value.path == str(tmp_path / "nope")


def test_file_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("x: 1\n")
    with pytest.raises(WorkflowImportError, match="not a folder"):
        import_registry_folder(tmp_path / "a.yml")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkflowImportError, match=r"no TOSCA topology.*no YAML files"):
        import_registry_folder(tmp_path)


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "tosca").mkdir()
    bad = tmp_path / "tosca" / "topology.yml"
    bad.write_text("topology_template:\n  inputs:\n    a: [1, 2\n  node_templates: {}\n")
    with pytest.raises(WorkflowImportError, match="invalid YAML at line") as info:
        import_registry_folder(tmp_path)
    assert str(bad) in str(info.value)
    with pytest.raises(WorkflowImportError, match="invalid YAML"):
        import_topology(bad)


def test_not_a_topology(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text("- a\n- b\n")
    with pytest.raises(WorkflowImportError, match="expected a TOSCA document"):
        import_topology(tmp_path / "x.yml")
    (tmp_path / "y.yml").write_text("foo: 1\n")
    with pytest.raises(WorkflowImportError, match="no topology_template"):
        import_topology(tmp_path / "y.yml")
    with pytest.raises(WorkflowImportError, match="no such topology file"):
        import_topology(tmp_path / "z.yml")


def test_node_without_command_takes_its_application_from_extra_compss_opts(
        tmp_path: Path) -> None:
    """The plugin's line then ends with extra_compss_opts: the application is its first
    word that is not an option (its arguments after it, the node's own last)."""
    from eflows_kernel.services.errors import ValidationError
    from eflows_kernel.services.executions.planning import plan_execution

    (tmp_path / "t.yml").write_text("""
topology_template:
  node_templates:
    Job:
      type: org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob
      properties: {application: {arguments: [a]}}
""")
    wf = import_topology(tmp_path / "t.yml")
    assert wf.step("Job").extra_compss_opts == "${extra_compss_opts}"
    assert wf.input("extra_compss_opts").required
    step = plan_execution("id", wf, {"extra_compss_opts": "--graph=true /app/m.py x $y"},
                          "c").steps[0].step
    assert (step.extra_compss_opts, step.application, step.arguments) == (
        "--graph=true", "/app/m.py", ["x", "$$y", "a"])
    with pytest.raises(ValidationError) as info:
        plan_execution("id", wf, {"extra_compss_opts": "--graph=true"}, "c")
    assert "steps.Job.application.command" in info.value.details["fields"]


def test_a_yml_linking_outside_the_imported_folder_is_not_read(tmp_path: Path) -> None:
    """A registry folder we do not control may hold a link to any file of this host."""
    folder = tmp_path / "registry" / "wf"
    shutil.copytree(REGISTRY / "minimal_workflow" / "tosca" / "classic",
                    folder / "tosca" / "classic")
    outside = tmp_path / "private"
    outside.mkdir()
    secret = outside / "types.yaml"
    text = (folder / "tosca" / "classic" / "types.yaml").read_text()
    secret.write_text(text.replace('description: ""', 'description: "leaked-from-outside"'))
    (folder / "tosca" / "other").mkdir()
    (folder / "tosca" / "other" / "types.yaml").symlink_to(secret)
    workflows = import_registry_folder(folder)
    assert len(workflows) == 1
    dumped = str([w.model_dump(mode="json") for w in workflows])
    assert "leaked-from-outside" not in dumped
    assert any("outside the imported folder" in w.message for w in workflows[0].warnings)


PARALLEL = REGISTRY / "minimal_workflow" / "tosca" / "parallel" / "types.yaml"


def test_the_declared_tosca_workflow_orders_the_nodes_and_each_cluster_is_its_own_branch(
        ) -> None:
    wf = import_topology(PARALLEL)
    assert wf.source["tosca_run_workflow"] == "exec_job"
    by_name = {s.name: s for s in wf.steps}
    assert by_name["PyCOMPSJobCluster1"].depends_on == ["StageInDataCluster1"]
    moves = {m.name: m for m in wf.data_movements}
    assert moves["StageOutDataCluster2"].depends_on == ["PyCOMPSJobCluster2"]
    assert step_dependencies(wf) == {"PyCOMPSJobCluster1": (),
                                     "PyCOMPSJobCluster2": ()}  # they run at once
    assert movements_by_step(wf) == {
        "PyCOMPSJobCluster1": ("DLSDAGImageTransferCluster1", "StageInDataCluster1",
                               "StageOutDataCluster1"),
        "PyCOMPSJobCluster2": ("DLSDAGImageTransferCluster2", "StageInDataCluster2",
                               "StageOutDataCluster2")}


def test_on_success_decides_the_order_not_the_requirements(tmp_path: Path) -> None:
    """Two jobs with no requirement between them, chained by the declared workflow."""
    job = {"type": "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob",
           "properties": {"application": {"command": "/x.py"}}}
    steps = {}
    for node in ("First", "Second"):
        steps[f"{node}_submit"] = {
            "target": node, "activities": [
                {"call_operation": "tosca.interfaces.node.lifecycle.Runnable.submit"}],
            "on_success": [f"{node}_done"]}
        steps[f"{node}_done"] = {"target": node, "activities": [{"set_state": "executed"}]}
    steps["First_done"]["on_success"] = ["Second_submit"]
    topology = {"tosca_definitions_version": "alien_dsl_3_0_0", "topology_template": {
        "node_templates": {"Second": job, "First": job},
        "workflows": {"exec_job": {"steps": steps}}}}
    file = tmp_path / "t.yaml"
    file.write_text(yaml.safe_dump(topology))
    wf = import_topology(file)
    assert step_dependencies(wf) == {"Second": ("First",), "First": ()}
