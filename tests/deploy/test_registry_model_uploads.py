"""A registry workflow once refused here runs with its MLflow steps, on the real sshd +
Slurm, into a real MLflow tracking server (``mlflow server``, basic auth) on loopback.

Our own topology of rom_pillar_I's shape (a PyCOMPSs job, then two
``DLSDAGModelUpload`` of its results, ``center`` and ``outside``), with mlesmap's
``DLSDAGModelSearchUpload`` (its experiment an input declared nowhere) and
Pillar_I_non_intrusive's ``${Case_type}`` argument (declared nowhere: a variable of the
job's shell, given at trigger). Then mlesmap's whole shape: image, HTTP2SSH and WebDAV
stage-ins into one data folder, the application named in ``extra_compss_opts``, the
model search sent to MLflow. The MLflow login is in the vault like the other data
services'; its password reaches no log, event or output.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from eflows_kernel.events import read_events
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.hpc.transfer.image_archive import pack_image
from eflows_kernel.services.workflows import import_registry_folder, import_topology
from tests.deploy.stack import Stack, run_registered, serving_data_logistics
from tests.plugins.data_services import HttpFiles, MlflowServer, WebDavShare

pytestmark = pytest.mark.timeout(900)

APP = Path(__file__).resolve().parents[1] / "apps" / "model_repository" / "train.py"
SEARCH_APP = Path(__file__).resolve().parents[1] / "apps" / "registry" / "site" / "mlesmap" / "src"
JOB = "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob"
ENV = {"env": {"type_requirement": "environment", "node": "HPC",
               "capability": "eflows4hpc.env.capabilities.ExecutionEnvironment",
               "relationship": "tosca.relationships.DependsOn"}}
AFTER_JOB = {"job": {"type_requirement": "dependency", "node": "PyCOMPSJob",
                     "capability": "tosca.capabilities.Node",
                     "relationship": "tosca.relationships.DependsOn"}}
SECRET = {"get_secret": ["/secret/data/services_secrets/dls", "data=username"]}


def _upload(node_type: str, **props: Any) -> dict[str, Any]:
    return {"type": f"dls.ansible.nodes.{node_type}", "requirements": [ENV, AFTER_JOB],
            "properties": {"dls_api_username": SECRET, "user_id": "", "vault_id": "",
                           "debug": False, "run_in_standard_mode": False, **props}}


def _pair(node: str, after: list[str] | None = None) -> dict[str, Any]:
    submit, run = "tosca.interfaces.node.lifecycle.Runnable.submit", \
        "tosca.interfaces.node.lifecycle.Runnable.run"
    return {f"{node}_submit": {"target": node, "activities": [{"call_operation": submit}],
                               "on_success": [f"{node}_run"]},
            f"{node}_run": {"target": node, "activities": [{"call_operation": run}],
                            **({"on_success": [f"{n}_submit" for n in after]} if after
                               else {})}}


def write_topology(folder: Path) -> Path:
    """The workflow folder: ``topology.yml`` and the job's ``/rom/train.py`` beside it."""
    (folder / "rom").mkdir(parents=True)
    shutil.copy(APP, folder / "rom" / "train.py")
    uploads = ["ROM_upload_center", "ROM_upload_outside", "Model_search_results_upload"]
    topology = {"tosca_definitions_version": "alien_dsl_3_0_0",
                "metadata": {"template_name": "RomModels", "template_version": "0.1.0"},
                "topology_template": {
                    "node_templates": {
                        "HPC": {"type": "eflows4hpc.env.nodes.AbstractEnvironment"},
                        "PyCOMPSJob": {"type": JOB, "requirements": [ENV], "properties": {
                            "submission_params": {"qos": "", "num_nodes": 1,
                                                  "python_interpreter": "python3"},
                            "application": {"command": "/rom/train.py", "arguments": [
                                "${rom_path}", "${search_path}", "${Case_type}"]}}},
                        "ROM_upload_center": _upload(
                            "DLSDAGModelUpload", dag_id="mlflow_upload_model",
                            subfolder="center", input_name_for_location="rom_path"),
                        "ROM_upload_outside": _upload(
                            "DLSDAGModelUpload", dag_id="mlflow_upload_model",
                            subfolder="outside", input_name_for_location="rom_path"),
                        "Model_search_results_upload": _upload(
                            "DLSDAGModelSearchUpload", dag_id="model_search_upload",
                            input_name_for_experiment="experiment",
                            input_name_for_location="search_path")},
                    "workflows": {"exec_job": {
                        "inputs": {"rom_path": {"type": "string", "required": True},
                                   "search_path": {"type": "string", "required": True}},
                        "steps": {**_pair("PyCOMPSJob", uploads),
                                  **{k: v for u in uploads for k, v in _pair(u).items()}}}}}}
    file = folder / "topology.yml"
    file.write_text(yaml.safe_dump(topology))
    return file


def test_rom_models_and_a_model_search_go_to_mlflow(
        stack: Stack, mlflow_server: MlflowServer, tmp_path: Path) -> None:
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("models", "mlflow", mlflow_server.url, username=mlflow_server.username,
               secret=mlflow_server.password)
    workflow = import_topology(write_topology(tmp_path / "rom_models"))
    assert not workflow.input("Case_type").required
    case = f"cavity{uuid.uuid4().hex[:6]}"
    with serving_data_logistics(stack, logins, None):
        final, logs = run_registered(stack, workflow, {
            "rom_path": "roms", "search_path": "search", "Case_type": case,
            "experiment": f"grid-{case}"})
    client = mlflow_server.client()

    def runs_of(name: str) -> list[Any]:
        experiment = client.get_experiment_by_name(name)
        assert experiment is not None, f"no experiment {name}"
        return client.search_runs([experiment.experiment_id])

    for region, score in (("center", 0.8333), ("outside", 0.5833)):
        (run,) = runs_of(f"rom-{region}-{case}")  # attrs.json's name, one run each
        assert run.data.metrics == {"score": score}
        assert run.data.params == {"case": case, "depth": "2"}
        assert run.info.status == "FINISHED"
        local = client.download_artifacts(run.info.run_id, "model/rom.bin", str(tmp_path))
        assert Path(local).read_bytes() == f"{case}:{region}:2".encode() * 100
        output = final.outputs[f"ROM_upload_{region}"]
        assert output["location"] == (f"{mlflow_server.url}/#/experiments/"
                                      f"{run.info.experiment_id}/runs/{run.info.run_id}")
        assert [f["name"] for f in output["files"]] == ["model/rom.bin"]
    search = runs_of(f"grid-{case}")  # the model's run, then one per parameter set
    assert len(search) == 4
    with_model = [r for r in search if not r.data.params]
    (model_run,) = with_model
    dat = client.download_artifacts(model_run.info.run_id, "model/model.dat", str(tmp_path))
    assert Path(dat).read_bytes() == f"{case}:center:1".encode()
    searched = sorted((r.data.params["max_depth"], r.data.metrics["mean_test_score"])
                      for r in search if r.data.params)
    assert searched == [("1", 1.0), ("2", 0.8333), ("3", 0.75)]
    # the login's password is in the vault only
    text = "\n".join(logs.values()) + Path(final.event_log).read_text() + str(final.outputs)
    assert mlflow_server.password not in text
    assert any(e.get("type") == "transfer" and "mlflow-artifacts" in e.get("name", "")
               for e in read_events(final.event_log))


def _movement(node_type: str, **props: Any) -> dict[str, Any]:
    """A DLS stage-in node before the job (mlesmap's: the job depends on nothing, the
    TOSCA workflow orders them)."""
    return {"type": f"dls.ansible.nodes.{node_type}", "requirements": [ENV],
            "properties": {"dls_api_username": SECRET, "user_id": "", "vault_id": "",
                           "debug": False, "run_in_standard_mode": False, **props}}


def write_model_search(folder: Path) -> Path:
    """Pillar_III/mlesmap's shape: an image build and transfer, HTTP2SSH and a WebDAV
    stage-in both into ``data_path``, a job whose application is in the
    ``extra_compss_opts`` input, its results sent as a model search; ``modelSelection``
    orders it (its inputs declared nowhere but read by the DLS nodes)."""
    search = _upload("DLSDAGModelSearchUpload", dag_id="model_search_upload",
                     input_name_for_experiment="experiment",
                     input_name_for_location="location")
    search["requirements"] = [ENV]
    nodes = {
        "HPC": {"type": "eflows4hpc.env.nodes.AbstractEnvironment"},
        "ImageCreation": {"type": "imagecreation.ansible.nodes.ImageCreation",
                          "requirements": [ENV], "properties": {
                              "service_url": "https://images.example.org", "force": False,
                              "machine": {"container_engine": "singularity"},
                              "workflow": "Pillar_III", "step_id": "model_search"}},
        "ImageTransfer": {"type": "dls.ansible.nodes.DLSDAGImageTransfer", "requirements": [
            ENV, {"img": {"type_requirement": "dependency", "node": "ImageCreation",
                          "capability": "tosca.capabilities.Node",
                          "relationship": "tosca.relationships.DependsOn"}}],
            "properties": {"target_path": {"get_input": "image_path"},
                           "dls_api_username": SECRET, "dag_id": "transfer_image",
                           "user_id": {"get_input": "user_id"},
                           "vault_id": {"get_input": "vault_id"}}},
        "PyCOMPSJob": {"type": JOB, "requirements": [ENV, {"img": {
            "type_requirement": "img_transfer", "node": "ImageTransfer",
            "capability": "tosca.capabilities.Node",
            "relationship": "tosca.relationships.DependsOn"}}], "properties": {
                "submission_params": {"qos": "debug", "python_interpreter": "",
                                      "num_nodes": 1, "extra_compss_opts": ""},
                "keep_environment": False}},
        "Parameters_file_download": _movement(
            "HTTP2SSH", dag_id="plainhttp2ssh", force=True, input_name_for_url="url",
            input_name_for_target_path="data_path"),
        "Input_dataset_download": _movement(
            "DLSDAGWebdavStageInData", dag_id="webdav_stagein", input_name_for_oid="oid",
            input_name_for_target_path="data_path"),
        "Model_search_results_upload": search}
    steps = {**_pair("Parameters_file_download", ["PyCOMPSJob"]),
             **_pair("Input_dataset_download", ["PyCOMPSJob"]),
             **_pair("PyCOMPSJob", ["Model_search_results_upload"]),
             **_pair("Model_search_results_upload")}
    topology = {"tosca_definitions_version": "alien_dsl_3_0_0",
                "metadata": {"template_name": "ModelSearch",
                             "template_version": "0.1.0-SNAPSHOT"},
                "topology_template": {
                    "inputs": {n: {"type": "string", "required": False}
                               for n in ("image_path", "user_id", "vault_id")},
                    "node_templates": nodes,
                    "workflows": {"modelSelection": {"steps": steps}}}}
    (folder / "tosca").mkdir(parents=True)
    (folder / "tosca" / "topology.yml").write_text(yaml.safe_dump(topology))
    return folder


def test_a_model_search_with_its_data_image_and_application_as_inputs(
        stack: Stack, mlflow_server: MlflowServer, webdav_share: WebDavShare,
        http_files: HttpFiles, site_image: str, tmp_path: Path) -> None:
    """mlesmap as a user runs it: ``data_path`` a folder (ends in ``/``) that the
    parameters file and the dataset folder both land in, the job's line naming the
    stand-in application and its arguments in ``extra_compss_opts``."""
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password,
               options={"dls_connection": "default"})
    logins.add("models", "mlflow", mlflow_server.url, username=mlflow_server.username,
               secret=mlflow_server.password)
    store = webdav_share.root / "images"
    if not (store / "Pillar_III" / "model_search.tar").exists():
        pack_image(Path(site_image), store / "Pillar_III" / "model_search.tar")
    case = uuid.uuid4().hex[:6]
    dataset = webdav_share.root / f"search-{case}"
    dataset.mkdir()
    (dataset / "dataset.txt").write_text("r1 r2 r3 r4 r5 r6\n")
    (http_files.root / "search").mkdir(exist_ok=True)
    (http_files.root / "search" / "params.json").write_text('{"max_depth": [1, 2, 4]}')
    base = stack.sshd.home / "registry-search" / case
    base.mkdir(parents=True)
    shutil.copytree(SEARCH_APP, base / "app")
    for path in [base.parent, base, *base.rglob("*")]:
        shutil.chown(path, stack.sshd.login, stack.sshd.login)
    (workflow,) = import_registry_folder(write_model_search(tmp_path / "model_search"))
    data = f"{base}/data/"
    line = (f"{base}/app/main_GridSearch.py {data}search-{case}/dataset.txt "
            f"{base}/results {data}params.json")
    with serving_data_logistics(stack, logins, f"{webdav_share.url}/images"):
        final, _logs = run_registered(stack, workflow, {
            "image_path": f"{base}/images", "user_id": stack.sshd.login, "vault_id": "v1",
            "extra_compss_opts": line, "url": f"{http_files.url}/search/params.json",
            "data_path": data, "oid": f"search-{case}", "location": f"{base}/results",
            "experiment": f"search-{case}"})
    assert sorted(p.name for p in (base / "data").iterdir()) == ["params.json",
                                                                 f"search-{case}"]
    client = mlflow_server.client()
    experiment = client.get_experiment_by_name(f"search-{case}")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    searched = sorted((r.data.params["max_depth"], r.data.metrics["mean_test_score"])
                      for r in runs if r.data.params)
    assert searched == [("1", 0.9375), ("2", 0.875), ("4", 0.75)]
    (model,) = [r for r in runs if not r.data.params]
    dat = client.download_artifacts(model.info.run_id, "model/model.dat", str(tmp_path))
    assert Path(dat).read_text() == "best 0.9375 of 6 rows"
    assert final.outputs["Model_search_results_upload"]["files"][0]["name"] == \
        "model/model.dat"
