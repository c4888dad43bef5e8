"""Every workflow of the eFlows4HPC registry fixtures, imported and run on the real Slurm.

The topologies are imported as they are (tests/fixtures/workflow-registry); their
applications are our stand-ins (tests/apps/registry): inside the test container image
for the ones a topology runs from its image (``/wordcount/src/...``, ``/ftrt/...``), in
a folder on the site for ``application_path``. Each run goes through what the topology
asks: the TOSCA step graph, environments bound to sites, the image, ``compss_modules``
(stand-in modules on the test cluster), templated qos, ``extra_compss_opts`` (our
runner honours ``--pythonpath`` / ``--env_script`` and notes the options that size a
batch job); a workflow's pip needs are its image's.

Not run here: the Data Logistics Service nodes (``dls.ansible.nodes.*``: HTTP2SSH,
B2SHARE / WebDAV stage-in and out, the image transfer). They are the data-logistics
branch's; this test takes them out of the workflow and puts their data where they would
have put it (the image transfer's ``<target>/<step_id>.sif`` included).
``minimal_workflow.parallel`` runs only with its DLS nodes, on two logins
(test_registry_workflows_dls.py).
"""

from __future__ import annotations

import collections
import json
import os
import pwd
import shutil
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.events import read_events
from eflows_kernel.services.workflows import Workflow, import_registry_folder
from tests.deploy.stack import APPS, Stack, run_registered

pytestmark = pytest.mark.timeout(900)

REGISTRY = Path(__file__).resolve().parents[1] / "fixtures" / "workflow-registry"
SITE_APPS = APPS / "registry" / "site"
TEXT = "the quick brown fox jumps over the lazy dog\nthe dog sleeps and the fox runs\n" * 40


def registry_workflow(name: str) -> Workflow:
    found = {w.name: w for w in import_registry_folder(REGISTRY)}
    assert set(found) == {"feature_extraction_wf", "ftrt", "minimal_workflow.classic",
                          "minimal_workflow.parallel"}  # every fixture imports
    return found[name]


def without_data_logistics(workflow: Workflow) -> tuple[Workflow, list[str]]:
    """The workflow without its DLS nodes; a step's image is then the file the image
    transfer would have brought (``<its target>/<step_id>.sif``)."""
    dls = [m for m in workflow.data_movements
           if str(m.options.get("tosca_type", "")).startswith("dls.ansible.")]
    names = {m.name for m in dls}
    images = {(m.source, m.environment): m.target for m in dls if m.kind == "image"}
    steps = []
    for step in workflow.steps:
        update: dict[str, Any] = {"depends_on": [d for d in step.depends_on if d not in names]}
        target = images.get((step.container_image, step.environment))
        if step.container_image and target:
            update["container_image"] = (f"{target}/"
                                         f"{step.container_image.rsplit('/', 1)[-1]}.sif")
            # Its options are Singularity's: the image build says so, and a path no
            # longer names the build. (Left out here; the launcher leaves them out when
            # the build is named: test_container_step_unit.py.)
            update["container_opts"] = {k: v for k, v in step.container_opts.items()
                                        if k != "container_opts"}
        steps.append(step.model_copy(update=update))
    moves = [m.model_copy(update={"depends_on": [d for d in m.depends_on if d not in names]})
             for m in workflow.data_movements if m.name not in names]
    return workflow.model_copy(update={"steps": steps, "data_movements": moves}), sorted(names)


def on_site(stack: Stack, relative: str) -> Path:
    """A folder in the login's home, the login's own (what a stage-in would have made)."""
    path = stack.sshd.home / "registry-data" / relative
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def own(stack: Stack, path: Path) -> None:
    account = pwd.getpwnam(stack.sshd.login)
    for folder, _dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chown(name, account.pw_uid, account.pw_gid)
    os.chown(path.parent, account.pw_uid, account.pw_gid)


@pytest.fixture
def images(site_image: str) -> str:
    """The folder the image transfers would fill: each build's ``<step_id>.sif``."""
    folder = Path(site_image).parent
    for step_id in ("wordcount", "ftrt"):
        link = folder / f"{step_id}.sif"
        if not link.exists():
            link.symlink_to(Path(site_image).name)
    return str(folder)




def wordcount_inputs(stack: Stack, images: str, name: str) -> tuple[dict[str, str], Path]:
    data, results = on_site(stack, f"{name}/in"), on_site(stack, f"{name}/out")
    (data / "data.txt").write_text(TEXT)
    own(stack, data)
    own(stack, results)
    return {"staged_in_data_path": str(data), "result_data_path": str(results)}, results


def test_minimal_workflow_classic_runs_in_its_image_with_its_modules(
        stack: Stack, images: str, test_module: str) -> None:
    workflow, dropped = without_data_logistics(registry_workflow("minimal_workflow.classic"))
    assert dropped == ["DLSDAGImageTransfer", "StageInData", "StageOutData"]
    paths, results = wordcount_inputs(stack, images, "classic")
    _final, logs = run_registered(stack, workflow, {
        "container_image_transfer_directory": images, "user_id": "eflows", "vault_id": "v1",
        "oid": "record-1", **paths})
    counts = json.loads((results / "result.txt").read_text())
    assert counts == dict(collections.Counter(TEXT.split()))
    text = "\n".join(logs.values())
    assert "running in the container" in text and "/wordcount.sif" in text


def test_pillar_iii_ftrt_runs_in_its_image_with_its_templates_and_compss_options(
        stack: Stack, images: str) -> None:
    workflow, dropped = without_data_logistics(registry_workflow("ftrt"))
    assert dropped == ["Config_Templates_Deployment", "ImageTransfer",
                       "ParameterFile_StageIn", "RegionData_Deployment", "Results_StageOut"]
    data, run_path = on_site(stack, "ftrt/data"), on_site(stack, "ftrt/run")
    (data / "parameters.txt").write_text("sigma=1.0\n")
    own(stack, data)
    own(stack, run_path)
    final, logs = run_registered(stack, workflow, {
        "images_path": images, "data_path": str(data), "region_data_oid": "r",
        "templates_oid": "t", "vault_id": "v1", "user_id": "eflows",
        "run_path": str(run_path), "parameters_url_file": "https://example.org/p.txt",
        "parameters_file": str(data / "parameters.txt"), "results_path": str(run_path),
        "results_oid": "out", "event": "2017_0720_kos-bodrum", "qos": "debug"})
    summary = json.loads((run_path / "ftrt.json").read_text())
    assert summary["environment"] == "from /ftrt/env.sh"  # --env_script, inside the image
    assert [s["event"] for s in summary["scenarios"]] == ["2017_0720_kos-bodrum"] * 3
    assert {s["parameters"] for s in summary["scenarios"]} == {"sigma=1.0"}
    assert summary["options"]["seistype"] == "BS" and summary["options"]["hours"] == "1"
    text = "\n".join(logs.values())
    for option in ("--reservation", "--container_opts"):
        assert f"{option} has no effect here" in text, option
    events = read_events(final.event_log)
    # --exec_time=${exec_time} (default 20) sized the job, as enqueue_compss's does
    assert any("the job's time limit is 20 minutes: --exec_time" in str(e.get("message"))
               for e in events)
    assert "--exec_time has no effect here" not in text
    assert any("pip needs (xarray==0.16.1" in str(e.get("message")) for e in events)


def test_pillar_ii_feature_extraction_runs_from_its_application_path(stack: Stack) -> None:
    workflow, dropped = without_data_logistics(registry_workflow("feature_extraction_wf"))
    assert dropped == []
    app = stack.sshd.home / "registry-apps" / "feature_extraction"
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(SITE_APPS / "feature_extraction", app)
    (app / "input").mkdir()
    (app / "input" / "a.txt").write_text("one two three\nfour\n")
    (app / "input" / "b.txt").write_text("extraordinary\n")
    own(stack, app)
    run_registered(stack, workflow, {"user_id": "eflows", "vault_id": "v1", "num_nodes": 1,
                          "project_name": "ehpc", "application_path": str(app),
                          "queue": "debug", "exec_time": 10})
    a = json.loads((app / "output" / "a.txt.json").read_text())
    b = json.loads((app / "output" / "b.txt.json").read_text())
    assert (a["words"], a["lines"], b["longest"]) == (4, 2, len("extraordinary"))
    assert a["environment"] == "from src/env.sh"  # --env_script=$application_path/src/env.sh
    assert a["project"] == "ehpc"  # an input is a variable of the job, as with the plugin
