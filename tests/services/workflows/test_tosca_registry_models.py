"""The registry workflows once refused here, as our own topologies of the same shape:
rom_pillar_I (two MLflow model uploads after the job), Pillar_III/mlesmap (a job
without application, a model-search upload, DLS inputs declared nowhere) and
Pillar_I_non_intrusive (``${Case_type}`` arguments declared nowhere). Each imports,
plans, and its data plan resolves the MLflow server from the vault.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.deploy.staging import plan as data_plan
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.planning import plan_execution
from eflows_kernel.services.executions.rendering import render_step
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import DataLogistics
from eflows_kernel.services.workflows import Workflow, import_topology
from eflows_kernel.services.workflows.step_graph import movements_by_step
from tests.services.workflows.test_tosca_registry_constructs import (
    RUN,
    SUBMIT,
    _after,
    _env,
    _job,
    _steps,
    _write,
)

MODEL = "dls.ansible.nodes.DLSDAGModelUpload"
SEARCH = "dls.ansible.nodes.DLSDAGModelSearchUpload"
DLS_SECRET = {"get_secret": ["/secret/data/services_secrets/dls", "data=username"]}


def _upload(node_type: str, after: str | None, **props: Any) -> dict[str, Any]:
    requirements = [_env("Site")] + ([_after(after)] if after else [])
    return {"type": node_type, "requirements": requirements, "properties": {
        "dls_api_username": DLS_SECRET, "debug": False, "user_id": "", "vault_id": "",
        "run_in_standard_mode": False, **props}}


def _then(steps: dict[str, Any], node: str, *nexts: str) -> dict[str, Any]:
    """``node``'s run step followed by the submit steps of ``nexts`` (a fan-out)."""
    steps[f"{node}_run"]["on_success"] = [f"{n}_submit" for n in nexts]
    return steps


@pytest.fixture
def logins(tmp_path: Path) -> ServiceCredentials:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    return ServiceCredentials(store, vault)


def _logistics(logins: ServiceCredentials, tmp_path: Path) -> DataLogistics:
    return DataLogistics(lambda: logins, tmp_path / "runs", None)


def rom_shape(tmp_path: Path) -> Workflow:
    """rom_pillar_I: the job's results uploaded twice (``center``, ``outside``)."""
    job = _job("/reduce_order_model/src/Workflow.py", num_nodes=2,
               extra_compss_opts="--job_execution_dir=${data_path}")
    job["properties"]["application"]["arguments"] = ["${data_path}/data", "${rom_path}"]
    nodes = {"PyCOMPSJob": job,
             "ROM_upload_center": _upload(MODEL, "PyCOMPSJob", dag_id="mlflow_upload_model",
                                          subfolder="center", input_name_for_location="rom_path"),
             "ROM_upload_outside": _upload(MODEL, "PyCOMPSJob", dag_id="mlflow_upload_model",
                                           subfolder="outside",
                                           input_name_for_location="rom_path")}
    steps = _then({**_steps("PyCOMPSJob"), **_steps("ROM_upload_center"),
                   **_steps("ROM_upload_outside")},
                  "PyCOMPSJob", "ROM_upload_center", "ROM_upload_outside")
    return import_topology(_write(tmp_path / "rom.yml", nodes, workflows={"exec_job": {
        "inputs": {"data_path": {"type": "string"}, "rom_path": {"type": "string"},
                   "num_nodes": {"type": "integer", "required": False, "default": 1}},
        "steps": steps}}))


def mlesmap_shape(tmp_path: Path) -> Workflow:
    """Pillar_III/mlesmap: downloads and a model search named by undeclared inputs, and
    a job with submission parameters only."""
    job = _job()
    del job["properties"]["application"]
    # as mlesmap's: the job requires the upload and the downloads require the job; the
    # modelSelection workflow orders them the other way, and that order runs
    job["requirements"].append(_after("Model_search_results_upload"))
    nodes = {
        "PyCOMPSJob": job,
        "Parameters_file_download": _upload(
            "dls.ansible.nodes.HTTP2SSH", "PyCOMPSJob", dag_id="plainhttp2ssh", force=True,
            input_name_for_url="url", input_name_for_target_path="data_path"),
        "Model_search_results_upload": _upload(
            SEARCH, None, dag_id="model_search_upload", input_name_for_experiment="experiment",
            input_name_for_location="location")}
    steps = {**_steps("Parameters_file_download", "PyCOMPSJob",
                      "Model_search_results_upload")}
    return import_topology(_write(tmp_path / "mlesmap.yml", nodes, inputs={
        "user_id": {"type": "string", "required": False}},
        workflows={"modelSelection": {"steps": steps}}))


def test_rom_pillar_i_model_uploads_are_stage_outs_of_the_job(
        tmp_path: Path, logins: ServiceCredentials) -> None:
    wf = rom_shape(tmp_path)
    moves = {m.name: m for m in wf.data_movements}
    center, outside = moves["ROM_upload_center"], moves["ROM_upload_outside"]
    assert (center.direction, center.kind, center.source, center.target) == (
        "out", "mlflow", "${rom_path}/center", "")
    assert outside.source == "${rom_path}/outside"
    assert center.depends_on == outside.depends_on == ["PyCOMPSJob"]
    assert center.options["dag_id"] == "mlflow_upload_model"
    assert center.options["secrets"]["dls_api_username"].startswith("/secret/data")
    assert sorted(movements_by_step(wf)["PyCOMPSJob"]) == sorted(moves)
    values = {"data_path": "run/data", "rom_path": "roms"}
    steps = {s.name: s for s in plan_execution("id", wf, values, "cluster").steps}
    # the two uploads are steps of their own after the job (fan-out)
    for upload in ("ROM_upload_center", "ROM_upload_outside"):
        assert steps[f"PyCOMPSJob:out:{upload}"].depends_on == ("PyCOMPSJob",)
    step = steps["PyCOMPSJob"]
    assert step.step.num_nodes == 1  # the exec_job input over the property's 2
    # no MLflow login: the upload has no server, said before anything runs
    with pytest.raises(ValidationError) as info:
        data_plan(wf, values, logistics=_logistics(logins, tmp_path))
    assert "ROM_upload_center" in info.value.details["fields"]
    assert "mlflow" in info.value.message
    login = logins.add("models", "mlflow", "http://models.example.org:5000",
                       username="u", secret="p")
    out = {o.name: o for o in data_plan(wf, values,
                                        logistics=_logistics(logins, tmp_path)).stage_out}
    assert out["ROM_upload_center"].source == "roms/center"
    location = out["ROM_upload_outside"].location
    assert (location.protocol, location.url, location.credential_id, location.mode) == (
        "mlflow", "http://models.example.org:5000", login.id, "mlflow")


def test_mlesmap_job_without_application_and_model_search(
        tmp_path: Path, logins: ServiceCredentials) -> None:
    wf = mlesmap_shape(tmp_path)
    assert [s.name for s in wf.steps] == ["PyCOMPSJob"]
    required = {i.name for i in wf.inputs if i.required}
    assert {"url", "data_path", "location", "extra_compss_opts"} <= required
    assert wf.input("experiment").default == "model_search"  # the pipeline's default
    assert not wf.input("experiment").required
    (search,) = [m for m in wf.data_movements if m.kind == "mlflow_search"]
    assert (search.source, search.target, search.depends_on) == (
        "${location}", "${experiment}", ["PyCOMPSJob"])
    values = {"url": "https://example.org/p.json", "data_path": "in",
              "location": "results", "extra_compss_opts":
                  "--job_execution_dir=. /mlesmap/src/main_GridSearch.py in/p.json results"}
    steps = plan_execution("id", wf, values, "cluster").steps
    # the parameters' download before the job, the model search's upload after it
    assert {s.name: s.depends_on for s in steps} == {
        "PyCOMPSJob:in:Parameters_file_download": (),
        "PyCOMPSJob": ("PyCOMPSJob:in:Parameters_file_download",),
        f"PyCOMPSJob:out:{search.name}": ("PyCOMPSJob",)}
    (step,) = [s for s in steps if s.name == "PyCOMPSJob"]
    assert render_step(step.step, values) == (
        "/mlesmap/src/main_GridSearch.py", ["in/p.json", "results"])
    assert step.step.extra_compss_opts == "--job_execution_dir=."
    with pytest.raises(ValidationError) as info:  # enqueue_compss would have no application
        plan_execution("id", wf, {**values, "extra_compss_opts": "--graph=true"}, "cluster")
    assert "steps.PyCOMPSJob.application.command" in info.value.details["fields"]
    logins.add("models", "mlflow", "http://models.example.org:5000", username="u",
               secret="p")
    checked = plan_execution("id", wf, values, "cluster").values
    (out,) = data_plan(wf, checked, logistics=_logistics(logins, tmp_path)).stage_out
    assert (out.source, out.location.mode, out.location.title) == (
        "results", "mlflow_search", "model_search")


def test_pillar_i_non_intrusive_arguments_are_the_jobs_shell_variables(
        tmp_path: Path) -> None:
    """``${Case_type}`` and ``${Reduction_method}``: declared nowhere, expanded by the
    plugin's shell from the execution inputs of those names (empty without them)."""
    job = _job("/EZyRB/src/ezyrb_test.py", num_nodes=2,
               extra_compss_opts="--worker_working_dir=${run_path}")
    job["properties"]["application"]["arguments"] = ["${Case_type}", "${Reduction_method}"]
    wf = import_topology(_write(tmp_path / "t.yml", {"ROM_Computation": job}, workflows={
        "rom_computation": {"inputs": {"run_path": {"type": "string"}},
                            "steps": _steps("ROM_Computation")}}))
    for name in ("Case_type", "Reduction_method"):
        declared = wf.input(name)
        assert (declared.required, declared.default, declared.type) == (False, "", "string")
    assert any("'${Case_type}' is declared nowhere" in w.message for w in wf.warnings)
    assert wf.step("ROM_Computation").env["Case_type"] == "${Case_type}"
    given = {"run_path": "r", "Case_type": "Cavity", "Reduction_method": "POD"}
    (step,) = plan_execution("id", wf, given, "cluster").steps
    assert render_step(step.step, plan_execution("id", wf, given, "c").values)[1] == [
        "Cavity", "POD"]
    assert step.step.env["Case_type"] == "Cavity"
    (bare,) = plan_execution("id", wf, {"run_path": "r"}, "cluster").steps
    # empty and unquoted on the plugin's bash line: no word at all, as that shell drops it
    assert render_step(bare.step, {"run_path": "r", "Case_type": "",
                                   "Reduction_method": ""})[1] == []


def test_an_older_plugin_job_without_command_is_the_same(tmp_path: Path) -> None:
    file = _write(tmp_path / "t.yml", {"Job": {
        "type": "pycomps.ansible.nodes.PyCOMPSJob", "requirements": [_env("Site")],
        "properties": {"num_nodes": 1, "extra_compss_opts": "--lang=python /app/a.py 3"}}},
        workflows={"exec_job": {"steps": {"Job_run": {
            "target": "Job", "activities": [{"call_operation": RUN}]}, "Job_submit": {
            "target": "Job", "activities": [{"call_operation": SUBMIT}],
            "on_success": ["Job_run"]}}}})
    wf = import_topology(file)
    assert "extra_compss_opts" not in {i.name for i in wf.inputs}  # the property names it
    (step,) = plan_execution("id", wf, {}, "cluster").steps
    assert render_step(step.step, {}) == ("/app/a.py", ["3"])
