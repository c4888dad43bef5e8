"""Registry workflows that only planned before, run on the real sshd + Slurm: our own
topologies of their shapes (no registry file is copied), imported as a user imports a
registry folder, triggered with inputs only, their results checked where the
application and the data movements put them.

- Pillar_II/feature_extraction_wf 0.2.0: two roles (two logins of the test sshd), a job
  on each, the DLS ``SSH2SSH`` copy between them (the first job's output into the second
  one's input, as the DLS's ssh2ssh DAG writes it: the files, not the folder), a
  B2SHARE stage-in beside the copy and a B2SHARE stage-out of the second job.
- Pillar_II/esm: the older plugin's ``pycomps.ansible.nodes.PyCOMPSJob`` in a
  ``topology.yml`` outside ``tosca/``, its command a launcher script calling
  ``enqueue_compss`` itself, ``"--hpc mn4"`` arguments (two words for its getopt),
  ``num_nodes: 3`` sized down by the run's ``num_nodes`` input, ``COMPSs/eflows4hpc``;
  the launcher's inner run's tasks in the step's events (also on the local executor,
  this host, without sshd or Slurm).
- Pillar_III/ftrt 0.1.0: the ``PTFExecution`` workflow, ``$seis_type`` / ``${app_path}``
  forms and integer defaults, a launcher with a strict argparse under ``${app_path}``.

The stand-in applications are tests/apps/registry/site/{two_roles,esm,ptf}.
"""

from __future__ import annotations

import json
import pwd
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eflows_kernel.events import read_events, validate_event
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.executions import ExecutionState, ExecutionStore
from eflows_kernel.services.executions.local import LocalExecutor
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import import_registry_folder
from eflows_kernel.services.workflows.registry import WorkflowRegistry
from tests.deploy.stack import APPS, Stack, run_registered, serving_data_logistics
from tests.plugins.data_services import B2ShareServer

pytestmark = pytest.mark.timeout(900)

SITE_APPS = APPS / "registry" / "site"
UI_LOGIN = "eflows-ui"  # the sshd's second login: its own home, files and Slurm jobs
JOB = "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob"
SECRET = {"get_secret": ["/secret/data/services_secrets/dls", "data=username"]}
RUNNABLE = "tosca.interfaces.node.lifecycle.Runnable"


def _req(kind: str, node: str) -> dict[str, Any]:
    capability = ("eflows4hpc.env.capabilities.ExecutionEnvironment"
                  if kind in ("environment", "source_environment") else "tosca.capabilities.Node")
    return {f"on{node}": {"type_requirement": kind, "node": node, "capability": capability,
                          "relationship": "tosca.relationships.DependsOn"}}


def _pair(node: str, then: list[str] = ()) -> dict[str, Any]:
    """``<node>_submit`` then ``<node>_run``, then the submits of ``then``."""
    return {f"{node}_submit": {"target": node, "activities": [{"call_operation":
                                                                f"{RUNNABLE}.submit"}],
                               "on_success": [f"{node}_run"]},
            f"{node}_run": {"target": node,
                            "activities": [{"call_operation": f"{RUNNABLE}.run"}],
                            **({"on_success": [f"{n}_submit" for n in then]} if then else {})}}


def _dls(node_type: str, requirements: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return {"type": f"dls.ansible.nodes.{node_type}", "requirements": requirements,
            "properties": {"dls_api_username": SECRET, "user_id": "", "vault_id": "",
                           "debug": True, "run_in_standard_mode": False, **props}}


def _write(folder: Path, name: str, topology: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump(topology, sort_keys=False))
    return folder


def _job(environment: str, app: str, command: str, requirements: list[dict[str, Any]],
         extra: str) -> dict[str, Any]:
    return {"type": JOB, "requirements": [_req("environment", environment), *requirements],
            "properties": {
                "environment": {"user_name": "someone"},
                "submission_params": {"qos": "debug", "python_interpreter": "",
                                      "num_nodes": 1, "extra_compss_opts": extra},
                "application": {"container_opts": {"container_opts": '"-e"'},
                                "arguments": [f"${app}/input/", f"${app}/output/"],
                                "command": f"${app}/src/{command}"},
                "keep_environment": True}}


def two_roles_topology(registry: Path) -> Path:
    """feature_extraction_wf 0.2.0's shape, in ``<registry>/Pillar_II/two_roles/tosca``."""
    opts = ("--project_name=$project_name --queue=$queue --exec_time=$exec_time "
            "--env_script=${app}/src/env.sh --pythonpath=${app}/src/modules --keep_workingdir")
    nodes = {
        "Model": _job("Source_Environment", "application_path", "model.py", [],
                      opts.replace("${app}", "$application_path")),
        "Copy": _dls("SSH2SSH", [_req("environment", "Target_Environment"),
                                 _req("dependency", "Model"),
                                 _req("source_environment", "Source_Environment")],
                     dag_id="ssh2ssh", input_name_for_source_path="source_path",
                     input_name_for_source_user_id="source_user_id",
                     input_name_for_target_path="target_path",
                     input_name_for_target_user_id="target_user_id",
                     input_name_for_source_vault_id="vault_id",
                     input_name_for_target_vault_id="vault_id"),
        "StageIn": _dls("DLSDAGStageInData", [_req("environment", "Target_Environment")],
                        input_name_for_oid="oid", input_name_for_target_path="target_path",
                        input_name_for_login="target_user_id", dag_id="taskflow_example"),
        "Features": _job("Target_Environment", "application1_path", "features.py",
                         [_req("dependency", "StageIn"), _req("dependency", "Copy")],
                         opts.replace("${app}", "$application1_path")),
        "StageOut": _dls("DLSDAGStageOutData", [_req("environment", "Target_Environment"),
                                                _req("dependency", "Features")],
                         register=True, input_name_for_mid="mid",
                         input_name_for_source_path="result_data_path",
                         input_name_for_login="target_user_id", dag_id="upload_example"),
        "Source_Environment": {"type": "eflows4hpc.env.nodes.AbstractEnvironment"},
        "Target_Environment": {"type": "eflows4hpc.env.nodes.AbstractEnvironment"}}
    strings = ("source_user_id", "vault_id", "target_user_id", "project_name",
               "application_path", "application1_path", "queue", "oid", "mid",
               "result_data_path")
    inputs = {**{n: {"type": "string", "required": True} for n in strings},
              "source_path": {"type": "string", "required": False},
              "target_path": {"type": "string", "required": False},
              "num_nodes": {"type": "integer", "required": True},
              "exec_time": {"type": "integer", "required": True}}
    steps = {**_pair("Model", ["Copy"]), **_pair("Copy", ["Features"]),
             **_pair("StageIn", ["Features"]), **_pair("Features", ["StageOut"]),
             **_pair("StageOut")}
    return _write(registry / "Pillar_II" / "two_roles" / "tosca", "topology.yml", {
        "tosca_definitions_version": "alien_dsl_3_0_0",
        "metadata": {"template_name": "TwoRoles", "template_version": "0.2.0-SNAPSHOT"},
        "topology_template": {"inputs": {"source_user_id": inputs["source_user_id"]},
                              "node_templates": nodes,
                              "workflows": {"customWorkflow": {"inputs": inputs,
                                                               "steps": steps}}}})


def login_dir(login: str, relative: str) -> Path:
    """A fresh folder in ``login``'s home, the login's own (and its parents up to it)."""
    home = Path(pwd.getpwnam(login).pw_dir)
    path = home / "registry-heldout" / relative
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    for part in [path, *path.parents]:
        if part == home:
            break
        shutil.chown(part, login, login)
    return path


def install(source: Path, target: Path, login: str) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)
    own_all(target, login)


def own_all(target: Path, login: str) -> None:
    for path in [target, *target.rglob("*")]:
        shutil.chown(path, login, login)


@pytest.fixture
def b2share_stack(stack: Stack, b2share_server: B2ShareServer) -> Iterator[Stack]:
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("b2share", "b2share", b2share_server.url, token=b2share_server.token)
    with serving_data_logistics(stack, logins, None):
        yield stack


def test_two_roles_with_an_ssh2ssh_copy_and_b2share_in_and_out(
        b2share_stack: Stack, b2share_server: B2ShareServer, tmp_path: Path) -> None:
    stack = b2share_stack
    stack.add_login_site("ui", UI_LOGIN)
    (workflow,) = import_registry_folder(two_roles_topology(tmp_path / "registry"))
    model = login_dir(stack.sshd.login, "model")
    install(SITE_APPS / "two_roles" / "model", model, stack.sshd.login)
    (model / "input").mkdir()
    (model / "input" / "year1.txt").write_text("one two three\n")
    own_all(model / "input", stack.sshd.login)
    features = login_dir(UI_LOGIN, "features")
    install(SITE_APPS / "two_roles" / "features", features, UI_LOGIN)
    b2share_server.add_record("two-roles-in", {"extra.txt": b"four five\n"})
    final, logs = run_registered(stack, workflow, {
        "source_user_id": stack.sshd.login, "vault_id": "v1", "target_user_id": UI_LOGIN,
        "source_path": str(model / "output"), "target_path": str(features / "input"),
        "num_nodes": 1, "project_name": "ehpc", "application_path": str(model),
        "application1_path": str(features), "queue": "debug", "exec_time": 10,
        "oid": "two-roles-in", "mid": "two roles features",
        "result_data_path": str(features / "output")},
        site={"Source_Environment": "cluster", "Target_Environment": "ui"})
    assert final.step_sites == {"Model": "cluster", "Model->ui": "ui",
                                "Features:in:StageIn": "ui", "Features": "ui",
                                "Features:out:StageOut": "ui"}
    # The copy wrote the files of the model's output into the input (not output/ in it).
    found = json.loads((features / "output" / "features.json").read_text())
    assert found == {"words": {"extra.txt": 2, "model.log": 3, "year1.txt.sim": 3},
                     "environment": "from features/src/env.sh"}
    assert (features / "input" / "model.log").read_text() == "from model/src/env.sh 1\n"
    assert (features / "input" / "year1.txt.sim").owner() == UI_LOGIN
    (draft,) = [d for d in b2share_server.drafts.values()
                if d["metadata"]["titles"] == [{"title": "two roles features"}]]
    assert draft["state"] == "submitted"
    assert json.loads(draft["files"]["features.json"]) == found
    assert "sha256 checked" in logs["Model->ui"]


def esm_topology(registry: Path, command: str) -> Path:
    """Pillar_II/esm's shape: ``<registry>/Pillar_II/esm/topology.yml`` (beside its
    software file, outside any ``tosca/``), one older-plugin job."""
    job = {"type": "pycomps.ansible.nodes.PyCOMPSJob", "properties": {
        "pycomps_endpoint": {"get_input": "target_host"}, "compss_module_version": "eflows4hpc",
        "num_nodes": 3, "qos": "debug", "command": command,
        "arguments": ["--hpc mn4", "--start_dates '1948 1949'", "--cores 4",
                      "--cores_per_node 2"],
        "container_image": "", "container_compss_path": "", "container_opts": "",
        "python_interpreter": "python3", "extra_compss_opts": ""}}
    folder = registry / "Pillar_II" / "esm"
    _write(folder, "eflows4hpc.yaml", {"pip": ["xarray"]})
    steps = {"PyCOMPSJob_submit": {"target": "ESM_Workflow", "operation_host": "ORCHESTRATOR",
                                   "activities": [{"call_operation": f"{RUNNABLE}.submit"}],
                                   "on_success": ["PyCOMPSJob_run"]},
             "PyCOMPSJob_run": {"target": "ESM_Workflow", "operation_host": "ORCHESTRATOR",
                                "activities": [{"call_operation": f"{RUNNABLE}.run"}]}}
    return _write(folder, "topology.yml", {
        "tosca_definitions_version": "alien_dsl_3_0_0",
        "metadata": {"template_name": 12022024, "template_version": "0.1.0-SNAPSHOT"},
        "topology_template": {
            "inputs": {"target_host": {"type": "string", "required": True},
                       "user_id": {"type": "string", "required": False, "default": ""}},
            "node_templates": {"ESM_Workflow": job},
            "workflows": {"exec_job": {
                "inputs": {n: {"type": "string", "required": True}
                           for n in ("user_id", "vault_id", "target_path", "source_path")},
                "steps": steps}}}}).parent.parent


def test_an_older_plugin_launcher_script_sized_to_the_site(
        stack: Stack, test_module: str, tmp_path: Path) -> None:
    app = login_dir(stack.sshd.login, "esm")
    install(SITE_APPS / "esm", app, stack.sshd.login)
    (workflow,) = import_registry_folder(esm_topology(tmp_path / "registry",
                                                      str(app / "src" / "launch.sh")))
    assert workflow.input("num_nodes").default == 3  # the job's property: 3 nodes
    _final, logs = run_registered(stack, workflow, {
        "user_id": stack.sshd.login, "vault_id": "v1", "target_path": "in",
        "source_path": "out", "target_host": "mn4.example.org", "num_nodes": 1})
    ensemble = json.loads((app / "output" / "ensemble.json").read_text())
    assert ensemble["members"] == [{"start_date": d, "hpc": "mn4", "processes": 4}
                                   for d in ("1948", "1949")]
    assert ensemble["nodes"] == "1"  # a one-node job (3 would never start here)
    assert ensemble["user_id"] == stack.sshd.login  # the inputs are the job's variables
    text = "\n".join(logs.values())
    assert "--num_nodes has no effect here" in text  # the launcher's enqueue_compss
    # The launcher's inner run is the step's, tailed from the site as it ran.
    _step_events_have_the_launchers_tasks(read_events(_final.event_log))


def _step_events_have_the_launchers_tasks(events: list[dict[str, Any]]) -> None:
    """The launcher's inner run is the step's: its two tasks in the step's one event log
    (seqs gap-free), done, in the run's counts, and its end a line of that log."""
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        validate_event(event)
    tasks = [e for e in events if e["type"] == "task"]
    members = {e["task"] for e in tasks if e.get("name") == "member"}
    assert len(members) == 2, tasks
    assert {e["task"] for e in tasks if e["state"] == "done"} == members
    ended = [e for e in events if e["type"] == "run" and e["state"] in ("done", "failed")]
    assert [e["state"] for e in ended] == ["done"]  # the run's own end, once
    assert ended[0]["counts"] == {"done": 2}
    assert max(e["seq"] for e in tasks) < ended[0]["seq"]
    assert any("runcompss esm_simulation.py (inner run 1): done" in e.get("message", "")
               for e in events if e["type"] == "log")


def test_an_older_plugin_launcher_script_on_this_host(tmp_path: Path) -> None:
    """The same shape on the local executor (the server's host, no Slurm): the runner
    merges the inner run into the log the server follows here."""
    registry = tmp_path / "registry"
    shutil.copytree(SITE_APPS / "esm", registry / "Pillar_II" / "esm")
    (workflow,) = import_registry_folder(esm_topology(registry, "src/launch.sh"))
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        registered, executions = WorkflowRegistry(store), ExecutionStore(store)
        service = ExecutionsService(executions, registered, ExecutorRouter(
            local=LocalExecutor(executions, tmp_path / "runs", workers=1)))
        try:
            started = service.submit(registered.register(workflow).id, {
                "user_id": "me", "vault_id": "v1", "target_path": "in",
                "source_path": "out", "target_host": "mn4.example.org", "num_nodes": 1})
            final = service.wait(started.id, 240)
            assert final.state == ExecutionState.DONE, service.logs(started.id)[0]
            ensemble = json.loads((registry / "Pillar_II" / "esm" / "output"
                                   / "ensemble.json").read_text())
            assert [m["start_date"] for m in ensemble["members"]] == ["1948", "1949"]
            _step_events_have_the_launchers_tasks(service.events(started.id))
        finally:
            service.shutdown()


def ptf_topology(registry: Path) -> Path:
    """Pillar_III/ftrt 0.1.0's shape: ``PTFExecution``, ``$x`` and ``${x}`` arguments."""
    arguments = ["--seistype $seis_type", "--parameters_file $parameters_file",
                 "--data_path ${data_path}", "--run_path ${run_path}",
                 "--templates_path ${templates_path}", "--kagan_weight ${kagan_weight}",
                 "--mare_weight ${mare_weight}", "--hours ${hours}",
                 "--group_sims=${group_sims}", "--cfg from_template", "--event ${event}"]
    job = {"type": JOB, "requirements": [_req("environment", "AbstractEnvironment")],
           "properties": {
               "submission_params": {"qos": "debug", "python_interpreter": "python3",
                                     "num_nodes": 1, "extra_compss_opts":
                                     "--env_script=${app_path}/env.sh "
                                     "--exec_time=${exec_time}"},
               "application": {"container_opts": {"container_opts": "-e"},
                               "arguments": arguments,
                               "command": "${app_path}/Code/launch_pycompss.py"},
               "keep_environment": True}}
    strings = ("user_id", "vault_id", "app_path", "run_path", "data_path", "templates_path",
               "parameters_file", "event")
    inputs = {**{n: {"type": "string", "required": True} for n in strings},
              "seis_type": {"type": "string", "required": False, "default": "BS"},
              **{n: {"type": "integer", "required": False, "default": d} for n, d in (
                  ("num_nodes", 1), ("exec_time", 20), ("kagan_weight", 0),
                  ("mare_weight", 0), ("hours", 1), ("group_sims", 0))}}
    return _write(registry / "Pillar_III" / "ptf" / "tosca", "topology.yml", {
        "tosca_definitions_version": "alien_dsl_3_0_0",
        "metadata": {"template_name": "PTF_Workflow", "template_version": "0.1.0"},
        "topology_template": {
            "node_templates": {
                "AbstractEnvironment": {"type": "eflows4hpc.env.nodes.AbstractEnvironment"},
                "PyCOMPSJob": job},
            "workflows": {"PTFExecution": {"inputs": inputs,
                                           "steps": _pair("PyCOMPSJob")}}}}).parent.parent


def test_a_ptf_execution_with_its_dollar_forms_and_integer_defaults(
        stack: Stack, tmp_path: Path) -> None:
    (workflow,) = import_registry_folder(ptf_topology(tmp_path / "registry"))
    app = login_dir(stack.sshd.login, "ptf")
    install(SITE_APPS / "ptf", app, stack.sshd.login)
    data = login_dir(stack.sshd.login, "ptf-data")
    (data / "grid.txt").write_text("grid\n")
    (data / "parameters.txt").write_text("sigma=2\n")
    own_all(data, stack.sshd.login)
    run = data.parent / "ptf-run"
    shutil.rmtree(run, ignore_errors=True)
    run_registered(stack, workflow, {
        "user_id": stack.sshd.login, "vault_id": "v1", "app_path": str(app),
        "run_path": str(run), "data_path": str(data), "templates_path": str(data),
        "parameters_file": str(data / "parameters.txt"), "event": "2017_0720_kos-bodrum"})
    summary = json.loads((run / "ptf.json").read_text())
    assert summary["options"] == {
        "seistype": "BS", "parameters_file": str(data / "parameters.txt"),
        "data_path": str(data), "run_path": str(run), "templates_path": str(data),
        "cfg": "from_template", "event": "2017_0720_kos-bodrum", "kagan_weight": 0,
        "mare_weight": 0, "hours": 1, "group_sims": 0}  # the integer defaults, typed
    assert [s["parameters"] for s in summary["scenarios"]] == ["sigma=2", "sigma=2"]
    assert summary["environment"] == "from env.sh"  # --env_script=${app_path}/env.sh
    assert summary["data"] == ["grid.txt", "parameters.txt"]
