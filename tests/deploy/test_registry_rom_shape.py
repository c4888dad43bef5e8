"""Pillar_I_non_intrusive's shape run as registered on the real multi-node Slurm (two
nodes, its own login on sshd 2223): our own topology (no registry file is copied), its
DLS nodes served on loopback.

Its image built and transferred (``ImageCreation`` + ``DLSDAGImageTransfer``), a WebDAV
stage-in of the snapshots' folder into ``run_path``, the PyCOMPSs job in the image
(``container_opts`` with ``container_compss_path``, ``num_nodes: 2``) running in
``--job_execution_dir=${run_path}`` where its application reads ``./data_<case>/``, its
``${Case_type}``/``${Reduction_method}`` arguments declared nowhere (given at trigger),
and a WebDAV stage-out of its results. The job holds both nodes and its fits run in the
image (a worker in it on each node). The stand-in is tests/apps/registry/image/rom.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.hpc.transfer.image_archive import pack_image
from eflows_kernel.services.workflows import import_registry_folder
from tests.deploy.stack import Stack, run_registered, serving_data_logistics
from tests.plugins.data_services import WebDavShare

pytestmark = pytest.mark.timeout(900)

SECRET = {"get_secret": ["/secret/data/services_secrets/dls", "data=username"]}
RUNNABLE = "tosca.interfaces.node.lifecycle.Runnable"


def _on(kind: str, node: str) -> dict[str, Any]:
    capability = ("eflows4hpc.env.capabilities.ExecutionEnvironment" if kind == "environment"
                  else "tosca.capabilities.Node")
    return {f"on{node}": {"type_requirement": kind, "node": node, "capability": capability,
                          "relationship": "tosca.relationships.DependsOn"}}


def _states(node: str, then: list[str] = ()) -> dict[str, Any]:
    """The registry's chain of one node: submitting, submit, submitted, executing, run,
    executed, then the next nodes' submitting."""
    chain = [("submitting", None), ("submit", "submit"), ("submitted", None),
             ("executing", None), ("run", "run"), ("executed", None)]
    steps: dict[str, Any] = {}
    for index, (name, operation) in enumerate(chain):
        activity = ({"call_operation": f"{RUNNABLE}.{operation}"} if operation
                    else {"set_state": name})
        after = ([f"{node}_{chain[index + 1][0]}"] if index + 1 < len(chain)
                 else [f"{n}_submitting" for n in then])
        steps[f"{node}_{name}"] = {"target": node, "activities": [activity],
                                   **({"on_success": after} if after else {})}
    return steps


def _dls(node_type: str, requirements: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return {"type": f"dls.ansible.nodes.{node_type}",
            "requirements": [_on("environment", "HPC"), *requirements],
            "properties": {"dls_api_username": SECRET, "user_id": "", "vault_id": "",
                           "debug": False, "run_in_standard_mode": False, **props}}


def rom_topology(registry: Path) -> Path:
    """``<registry>/rom_shape/tosca/topology.yml`` and its step's software folder."""
    nodes = {
        "HPC": {"type": "eflows4hpc.env.nodes.AbstractEnvironment"},
        "Build": {"type": "imagecreation.ansible.nodes.ImageCreation",
                  "requirements": [_on("environment", "HPC")],
                  "properties": {"service_url": "https://images.example/image_creation",
                                 "machine": {"container_engine": "singularity",
                                             "platform": "linux/amd64"},
                                 "workflow": "rom_shape", "step_id": "rom", "force": False}},
        "Transfer": _dls("DLSDAGImageTransfer", [_on("dependency", "Build")],
                         dag_id="transfer_image", image_id="not_used",
                         target_path={"get_input": "container_image_transfer_directory"}),
        "Download": _dls("DLSDAGWebdavStageInData", [], dag_id="webdav_stagein",
                         input_name_for_oid="data_oid", input_name_for_target_path="run_path"),
        "Fit": {"type": "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob",
                "requirements": [_on("img_transfer", "Transfer"), _on("dependency", "Download"),
                                 _on("environment", "HPC")],
                # The registry's QOS is `debug` (its centre's); this cluster's accounting
                # refuses a QOS not in the login's association (test_multinode_step.py).
                "properties": {"keep_environment": True, "submission_params": {
                    "qos": "normal", "python_interpreter": "python3", "num_nodes": 2,
                    "extra_compss_opts": "--worker_working_dir=${run_path} "
                                         "--job_execution_dir=${run_path} "
                                         "--env_script=/rom/env.sh"},
                    "application": {
                        "container_opts": {"container_opts": "-e",
                                           "container_compss_path": "/opt/view/compss"},
                        "arguments": ["${Case_type}", "${Reduction_method}"],
                        "command": "/rom/src/rom_fit.py"}}},
        "Upload": _dls("DLSDAGWebdavStageOutData", [_on("dependency", "Fit")],
                       dag_id="webdav_stageout", input_name_for_oid="results_oid",
                       input_name_for_source_path="results_path")}
    names = ("user_id", "vault_id", "results_path", "run_path", "data_oid", "results_oid")
    inputs = {**{n: {"type": "string", "required": True} for n in names},
              "num_nodes": {"type": "integer", "required": False, "default": 1}}
    topology = {"tosca_definitions_version": "alien_dsl_3_0_0",
                "metadata": {"template_name": "RomShape", "template_version": "0.1.0"},
                "topology_template": {
                    "inputs": {"container_image_transfer_directory": {
                        "type": "string", "required": False}},
                    "node_templates": nodes,
                    "workflows": {"rom_computation": {"inputs": inputs, "steps": {
                        **_states("Download", ["Fit"]), **_states("Fit", ["Upload"]),
                        **_states("Upload")}}}}}
    folder = registry / "rom_shape"
    (folder / "tosca").mkdir(parents=True)
    (folder / "tosca" / "topology.yml").write_text(yaml.safe_dump(topology, sort_keys=False))
    (folder / "rom").mkdir()
    (folder / "rom" / "eflows4hpc.yaml").write_text(yaml.safe_dump({"spack": {
        "specs": ["compss"]}, "pip": ["matplotlib"]}))
    return folder


def test_a_rom_fit_on_two_nodes_in_its_image_reads_its_staged_data_in_its_execution_dir(
        multinode_stack: Stack, multinode_cluster, webdav_share: WebDavShare,
        multinode_image: str, tmp_path: Path) -> None:
    stack, cluster = multinode_stack, multinode_cluster
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password,
               options={"dls_connection": "default"})
    store = webdav_share.root / "images"
    if not (store / "rom_shape" / "rom.tar").exists():
        pack_image(Path(multinode_image), store / "rom_shape" / "rom.tar")
    snapshots = webdav_share.root / "rom-data" / "data_2d"
    shutil.rmtree(snapshots.parent, ignore_errors=True)
    shutil.rmtree(webdav_share.root / "rom-results", ignore_errors=True)
    snapshots.mkdir(parents=True)
    for name, text in (("pressure.npy", "p" * 5), ("time.npy", "t" * 3)):
        (snapshots / name).write_text(text)
    (workflow,) = import_registry_folder(rom_topology(tmp_path / "registry"))
    assert not workflow.input("Case_type").required
    base = stack.sshd.home / "registry-rom"
    shutil.rmtree(base, ignore_errors=True)
    run = base / "run"
    with serving_data_logistics(stack, logins, f"{webdav_share.url}/images"):
        final, logs = run_registered(stack, workflow, {
            "user_id": cluster.login, "vault_id": "v1",
            "container_image_transfer_directory": str(base / "images"),
            "run_path": str(run), "results_path": str(run / "results"),
            "data_oid": "rom-data/data_2d", "results_oid": "rom-results/",
            "Case_type": "2D", "Reduction_method": "pod", "num_nodes": 2}, site="multi")
    assert sorted(p.name for p in (run / "data_2d").iterdir()) == ["pressure.npy", "time.npy"]
    summary = json.loads((run / "results" / "rom_2d_POD.json").read_text())
    assert summary["cwd"] == str(run)  # --job_execution_dir=${run_path}
    assert summary["argv"] == ["2D", "pod"]  # ${Case_type} ${Reduction_method}
    assert summary["environment"] == "from /rom/env.sh"  # the image's --env_script
    assert [(f["snapshot"], f["size"]) for f in summary["fits"]] == [("pressure.npy", 5),
                                                                     ("time.npy", 3)]
    # num_nodes 2 in its image: the job held both nodes, its fits ran in the image there
    job = {s.name: s for s in stack.executor.steps(final.id)}["Fit"].job_id
    nodes = subprocess.run(["sacct", "-n", "-P", "-X", "-j", str(job), "-o", "NNodes"],
                           capture_output=True, text=True, env=cluster.env, check=True)
    assert nodes.stdout.split() == ["2"], nodes.stdout
    assert [f["in_image"] for f in summary["fits"]] == [True, True]
    assert {f["host"] for f in summary["fits"]} <= set(cluster.nodes[:2])
    assert f"{base}/images/rom.sif" in logs["Fit"]  # ran in the transferred image
    # the WebDAV stage-out writes the files of results_path into the folder
    assert json.loads((webdav_share.root / "rom-results" / "rom_2d_POD.json").read_text()) \
        == summary
