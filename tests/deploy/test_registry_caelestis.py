"""Caelestis_DT (eflows4hpc/workflow-registry), run as registered on the real sshd + Slurm.

Its layout and topology as in the registry (our own file, written here: no registry file
is copied): ``Caelestis_DT/tosca/topology.yml``, one PyCOMPSs job on an
``AbstractEnvironment`` run by ``customWorkflow`` with seven required inputs, and
``Caelestis_DT/training/eflows4hpc.yaml`` beside ``tosca/``, its software (pip: pillow,
rocrate, pickle5, contextvars; apt and spack lists the site provides), no image. The
job's ``extra_compss_opts`` are the registry's: ``--streaming=FILES``,
``--master_working_dir`` / ``--worker_working_dir`` under ``$application_path/src``,
``--worker_in_master_cpus=0``, ``--graph=true``, ``--env_script``, ``--pythonpath``,
``--keep_workingdir`` and the batch options ``--project_name`` / ``--queue`` /
``--exec_time`` (the job's time limit).

The stand-in application (tests/apps/registry/site/caelestis) is at ``application_path``
on the site; the run is judged on what it wrote in ``$application_path/output/``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from eflows_kernel.events import read_events
from eflows_kernel.services.workflows import import_registry_folder
from tests.deploy.stack import APPS, Stack, run_registered
from tests.deploy.test_registry_heldout_shapes import install, login_dir, own_all

pytestmark = pytest.mark.timeout(900)

SITE_APP = APPS / "registry" / "site" / "caelestis"
RUNNABLE = "tosca.interfaces.node.lifecycle.Runnable"
OPTIONS = ("--project_name=$project_name --queue=$queue --streaming=FILES "
           "--master_working_dir=$application_path/src "
           "--worker_working_dir=$application_path/src --worker_in_master_cpus=0 "
           "--graph=true --exec_time=$exec_time --env_script=$application_path/src/env.sh "
           "--pythonpath=$application_path/src/modules --keep_workingdir")
SOFTWARE = {"apt": ["grace", "graphviz", "python3-yaml", "python3-pip", "libbz2-dev"],
            "spack": {"specs": ["compss@3.3", "py-dislib@master", "alya@master", "py-pydoe",
                                "py-pandas"]},
            "pip": ["pillow", "rocrate", "pickle5", "contextvars"]}


def caelestis_topology(registry: Path) -> Path:
    """``<registry>/Caelestis_DT``: ``tosca/topology.yml`` and ``training/eflows4hpc.yaml``."""
    folder = registry / "Caelestis_DT"
    (folder / "training").mkdir(parents=True)
    (folder / "training" / "eflows4hpc.yaml").write_text(yaml.safe_dump(SOFTWARE))
    job = {"metadata": {"a4c_edit_x": "-34", "a4c_edit_y": 3},
           "type": "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob",
           "properties": {
               "environment": {"endpoint": "zeus.cmcc.scc", "user_name": "someone"},
               "submission_params": {"qos": "debug", "python_interpreter": "",
                                     "num_nodes": 1, "extra_compss_opts": OPTIONS},
               "application": {"container_opts": {"container_opts": '"-e"'},
                               "arguments": ["$application_path/input/",
                                             "$application_path/output/"],
                               "command": "$application_path/src/feature_extraction.py"},
               "keep_environment": True},
           "requirements": [{"dependsOnAbstractEnvironmentExec_env": {
               "type_requirement": "environment", "node": "AbstractEnvironment",
               "capability": "eflows4hpc.env.capabilities.ExecutionEnvironment",
               "relationship": "tosca.relationships.DependsOn"}}]}
    inputs: dict[str, Any] = {
        name: {"type": "integer" if name in ("num_nodes", "exec_time") else "string",
               "required": True}
        for name in ("user_id", "vault_id", "num_nodes", "project_name", "application_path",
                     "queue", "exec_time")}
    steps = {"PyCOMPSJob_submit": {"target": "PyCOMPSJob",
                                   "activities": [{"call_operation": f"{RUNNABLE}.submit"}],
                                   "on_success": ["PyCOMPSJob_run"]},
             "PyCOMPSJob_run": {"target": "PyCOMPSJob",
                                "activities": [{"call_operation": f"{RUNNABLE}.run"}]}}
    (folder / "tosca").mkdir()
    (folder / "tosca" / "topology.yml").write_text(yaml.safe_dump({
        "tosca_definitions_version": "alien_dsl_3_0_0",
        "metadata": {"template_name": "TestCmcc1", "template_version": "0.1.0-SNAPSHOT",
                     "template_author": "someone"},
        "description": "",
        "imports": ["yorc-types:1.1.0", "eflows4hpc.env:1.1.0",
                    "tosca-normative-types:1.0.0-ALIEN20", "alien-base-types:3.0.0",
                    "org.eflows4hpc.pycompss.plugin:1.1.0"],
        "topology_template": {
            "node_templates": {
                "PyCOMPSJob": job,
                "AbstractEnvironment": {"metadata": {"a4c_edit_x": 194, "a4c_edit_y": 5},
                                        "type": "eflows4hpc.env.nodes.AbstractEnvironment"}},
            "workflows": {"customWorkflow": {"inputs": inputs, "steps": steps}}}},
        sort_keys=False))
    return folder


SIMULATIONS = {"coupon1.txt": "strain: 0.1 0.2 -0.4\nstress: 10 20 30 40\n",
               "coupon2.txt": "strain: 1 1\n"}


def test_caelestis_dt_as_registered(stack: Stack, tmp_path: Path) -> None:
    (workflow,) = import_registry_folder(caelestis_topology(tmp_path / "registry"))
    assert workflow.software.pip == SOFTWARE["pip"]  # training/eflows4hpc.yaml, no image
    app = login_dir(stack.sshd.login, "caelestis")
    install(SITE_APP, app, stack.sshd.login)
    (app / "input").mkdir()
    for name, text in SIMULATIONS.items():
        (app / "input" / name).write_text(text)
    own_all(app / "input", stack.sshd.login)
    final, logs = run_registered(stack, workflow, {
        "user_id": stack.sshd.login, "vault_id": "v1", "num_nodes": 1,
        "project_name": "caelestis", "application_path": str(app), "queue": "debug",
        "exec_time": 10})
    output = app / "output"
    coupon1 = json.loads((output / "coupon1.json").read_text())
    assert coupon1["probes"]["stress"] == {"samples": 4, "mean": 25.0, "peak": 40.0,
                                           "rms": 27.386128,
                                           "environment": "coupon from src/env.sh"}
    assert coupon1["probes"]["strain"]["peak"] == -0.4
    coupon2 = json.loads((output / "coupon2.json").read_text())
    assert list(coupon2["probes"]) == ["strain"]
    # every probe came through the file stream (--streaming=FILES), one file each
    assert sorted(p.name for p in (output / "probes").iterdir()) == [
        "coupon1.strain", "coupon1.stress", "coupon2.strain"]
    summary = json.loads((output / "summary.json").read_text())
    assert summary["simulations"] == ["coupon1", "coupon2"] and summary["probes"] == 3
    # --env_script sourced before the application: its variable in the main program and
    # in the tasks, and the PYTHONPATH it extends for the main program's first imports
    assert summary["environment"] == {"main": "coupon from src/env.sh",
                                      "tasks": ["coupon from src/env.sh"]}
    assert summary["case"] == {"case": "coupon from src/env.sh", "units": "MPa"}
    # the workflow's pip software on the site: Pillow drew each simulation (a row per
    # probe), rocrate described the results
    with Image.open(output / "coupon1.png") as picture:
        assert picture.size == (4, 2)
        assert [picture.getpixel((x, 1)) for x in range(4)] == [0, 85, 170, 255]
    crate = json.loads((output / "crate" / "ro-crate-metadata.json").read_text())
    parts = {e["@id"] for e in crate["@graph"] if e.get("@type") == "File"}
    assert parts == {"coupon1.json", "coupon1.png", "coupon2.json", "coupon2.png"}
    # --exec_time=$exec_time sized the job, as enqueue_compss's does (the plugin's only
    # time limit); the options our runner cannot honour say so in the step's log
    (step,) = stack.executor.steps(final.id)
    shown = subprocess.run(["scontrol", "show", "job", step.job_id], capture_output=True,
                           text=True, check=True).stdout
    assert "TimeLimit=00:10:00" in shown, shown
    assert any("the job's time limit is 10 minutes: --exec_time" in str(e.get("message"))
               for e in read_events(final.event_log))
    log = "\n".join(logs.values())
    for option in ("--streaming", "--master_working_dir", "--worker_working_dir",
                   "--worker_in_master_cpus", "--graph", "--keep_workingdir",
                   "--project_name", "--queue"):
        assert f"eflows-run: {option} has no effect here" in log, option
    assert "--exec_time has no effect" not in log
    assert "extracted the features of 3 probes of 2 simulations" in log
