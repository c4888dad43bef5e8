"""The registry's DLS movements planned by this deployer: each resolved at trigger time.

Every ``dls.ansible.nodes.*`` node of the real eFlows4HPC registry fixtures becomes a
transfer of ours (WebDAV, S3, B2SHARE record by id, HTTP->SSH, image from the image
store), with its login found in the vault; what cannot be done is a 400 naming the
movement, before anything is created.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.deploy.staging import folder_name, plan
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import DataLogistics
from eflows_kernel.services.workflows import Workflow, import_registry_folder, workflow_from_spec

REGISTRY = Path(__file__).resolve().parents[1] / "fixtures" / "workflow-registry"


@pytest.fixture
def logins(tmp_path: Path) -> ServiceCredentials:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    return ServiceCredentials(store, vault)


def logistics(logins: ServiceCredentials, tmp_path: Path,
              image_store: str | None = "https://images.example.org/store") -> DataLogistics:
    return DataLogistics(lambda: logins, tmp_path / "runs", image_store)


def registry() -> dict[str, Workflow]:
    return {w.name: w for w in import_registry_folder(REGISTRY)}


def test_ftrt_webdav_http_image_and_results_out(logins: ServiceCredentials,
                                                tmp_path: Path) -> None:
    share = logins.add("b2drop", "webdav", "https://b2drop.example.org/dav", username="u",
                       secret="p")
    bucket = logins.add("results", "s3", "s3://ptf-results", username="k", secret="s")
    values = {"region_data_oid": "https://b2drop.example.org/dav/regions/med",
              "templates_oid": "webdavs://b2drop.example.org/dav/templates",
              "data_path": "/scratch/ptf/data", "images_path": "images",
              "parameters_url_file": "https://example.org/params.json",
              "parameters_file": "inputs/params", "results_path": "results",
              "results_oid": "s3://ptf-results/run-1"}
    data = plan(registry()["ftrt"], values, logistics=logistics(logins, tmp_path))
    stage_in = {i.name: i for i in data.stage_in}
    region = stage_in["RegionData_Deployment"]
    assert (region.kind, region.target_dir) == ("data", "/scratch/ptf/data")
    assert region.location.protocol == "webdav" and region.location.credential_id == share.id
    assert stage_in["Config_Templates_Deployment"].location.credential_id == share.id
    parameters = stage_in["ParameterFile_StageIn"]
    assert parameters.kind == "http"  # fetched by the site itself
    # HTTP2SSH's target_path is the file's own path (the DLS writes the bytes there), the
    # path the job reads as ${parameters_file}: not a folder to put params.json in.
    assert (parameters.target_dir, parameters.file_name) == ("inputs", "params")
    # A target_path ending in "/" is a folder (mlesmap's data_path, which its WebDAV
    # stage-in fills too): the file goes into it under the URL's name, not beside it.
    into = plan(registry()["ftrt"], {**values, "parameters_file": "/scratch/ptf/data/"},
                logistics=logistics(logins, tmp_path))
    folder = {i.name: i for i in into.stage_in}["ParameterFile_StageIn"]
    assert (folder.target_dir, folder.file_name) == ("/scratch/ptf/data/", None)
    image = stage_in["ImageTransfer"]
    assert image.location.url == "https://images.example.org/store/Pillar_III/ftrt.sif"
    assert image.target_dir == "images"
    (out,) = data.stage_out
    assert (out.name, out.source) == ("Results_StageOut", "results")
    assert out.location.protocol == "s3" and out.location.credential_id == bucket.id
    # As the DLS's WebDAV DAGs do: a stage-in's folder keeps its name in the target
    # (data_path/Regions, data_path/Templates), the stage-out sends results_path's files.
    movements = {m.name: m for m in registry()["ftrt"].data_movements}
    assert folder_name(movements["RegionData_Deployment"], region.location.url) == "med"
    assert folder_name(movements["ImageTransfer"], image.location.url) is None
    assert out.contents


def test_minimal_workflow_b2share_record_in_and_new_record_out(
        logins: ServiceCredentials, tmp_path: Path) -> None:
    server = logins.add("b2share", "b2share", "https://b2share.example.org", token="t")
    values = {"oid": "8f2a9c1d", "staged_in_data_path": "inputs/data",
              "result_data_path": "results", "mid": "wordcount results",
              "container_image_transfer_directory": "images"}
    data = plan(registry()["minimal_workflow.classic"], values,
                logistics=logistics(logins, tmp_path))
    stage_in = {i.name: i for i in data.stage_in}
    record = stage_in["StageInData"].location
    assert record.url == "https://b2share.example.org/records/8f2a9c1d"
    assert record.credential_id == server.id
    (out,) = data.stage_out
    assert out.location.protocol == "b2share" and out.location.title == "wordcount results"
    assert out.location.url == "https://b2share.example.org"


def test_every_registry_fixture_plans_with_its_logins(logins: ServiceCredentials,
                                                      tmp_path: Path) -> None:
    logins.add("b2share", "b2share", "https://b2share.example.org", token="t")
    for workflow in registry().values():
        values = {i.name: f"https://b2share.example.org/records/r{n}" if "oid" in i.name
                  else "dir" + str(n) for n, i in enumerate(workflow.inputs)}
        values["mid"] = "title"
        data = plan(workflow, values, logistics=logistics(logins, tmp_path))
        assert len(data.stage_in) + len(data.stage_out) == len(workflow.data_movements)


def _one(kind: str, direction: str = "in", **movement: object) -> Workflow:
    return workflow_from_spec({"name": "w", "steps": [{"name": "s", "application": "/x.py"}],
                               "data_movements": [{"name": "m", "kind": kind,
                                                   "direction": direction, **movement}]})


@pytest.mark.parametrize(("workflow", "needs_image_store", "message"), [
    (_one("image", source="wf/step", target="images"), False, "image_store"),
    (_one("dls", source="abc123", target="in"), True, "exactly one B2SHARE login"),
    (_one("webdav", source="webdav://h/x", target="../../.ssh"), True, "leaves the folder"),
    (_one("s3", "out", source="results", target="ftp://h/x"), True, "not a data location"),
    (_one("dls", "out", source="results", target="https://b2share.example.org"), True,
     "needs a login"),
    (_one("webdav", source="", target="in"), True, "empty"),
])
def test_what_cannot_be_moved_is_refused_naming_the_movement(
        logins: ServiceCredentials, tmp_path: Path, workflow: Workflow,
        needs_image_store: bool, message: str) -> None:
    store = "https://images.example.org" if needs_image_store else None
    with pytest.raises(ValidationError) as error:
        plan(workflow, {}, logistics=logistics(logins, tmp_path, store))
    assert message in error.value.details["fields"]["m"]


def test_a_periodic_out_movement_keeps_its_period() -> None:
    workflow = _one("webdav", "out", source="results", target="webdav://h/share", every="10m")
    assert workflow.data_movements[0].every == "10m"
    with pytest.raises(ValueError, match="every must be a period"):
        _one("webdav", "out", source="results", target="webdav://h/share", every="often")


def test_a_templated_period_is_filled_where_the_deployment_is_staged() -> None:
    """``every: ${period}``: the trigger chooses how often; staging syncs that often."""
    spec = {"name": "w", "inputs": [{"name": "period", "default": "30s"}],
            "steps": [{"name": "s", "application": "/x.py"}],
            "data_movements": [{"name": "m", "kind": "cluster", "direction": "out",
                                "source": "results", "every": "${period}"}]}
    workflow = workflow_from_spec(spec)
    assert [o.every for o in plan(workflow, {"period": "30s"}).stage_out] == ["30s"]
    assert [o.every for o in plan(workflow, {"period": ""}).stage_out] == [None]
    with pytest.raises(ValidationError) as error:
        plan(workflow, {"period": "often"})
    assert "data_movements.m.every: every must be a period" in error.value.details["fields"]["m"]
