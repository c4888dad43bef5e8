"""The registry workflows run as registered: their DLS nodes kept, served on loopback.

``test_registry_workflows.py`` takes the Data Logistics Service nodes
(``dls.ansible.nodes.*``) out and puts their data in place by hand; here nothing of the
imported workflow is edited. The user triggers it with inputs only, naming data on the
test servers of ``tests/plugins/data_services.py``: a B2SHARE record by id (stage-in),
a new B2SHARE record (stage-out), WebDAV folders, an HTTP file (HTTP2SSH), and the
built images in the operator's ``image_store`` (a WebDAV share holding
``<workflow>/<step_id>.sif``; here the test's Charliecloud image directory packed as one
``<step_id>.tar`` beside that name, which the image transfer unpacks on the site). The
results are checked where the stage-outs put them. ``minimal_workflow.parallel``'s two
roles are two logins of the test sshd; ftrt's WebDAV object ids are paths of the DLS
connection ``default`` (the share's login has ``dls_connection=default``).
"""

from __future__ import annotations

import collections
import json
import pwd
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.events import read_events
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import driven_by_graph
from eflows_kernel.services.hpc.transfer.image_archive import pack_image
from eflows_kernel.services.workflows import Workflow, import_registry_folder
from tests.deploy.stack import Stack, run_registered, serving_data_logistics
from tests.plugins.data_services import B2ShareServer, HttpFiles, WebDavShare

pytestmark = pytest.mark.timeout(900)

REGISTRY = Path(__file__).resolve().parents[1] / "fixtures" / "workflow-registry"
TEXT = "the quick brown fox jumps over the lazy dog\nthe dog sleeps and the fox runs\n" * 40


def registry_workflow(name: str) -> Workflow:
    return {w.name: w for w in import_registry_folder(REGISTRY)}[name]


@pytest.fixture
def dls_stack(stack: Stack, webdav_share: WebDavShare, b2share_server: B2ShareServer,
              site_image: str) -> Iterator[Stack]:
    """The stack with data logistics: logins to the share and to B2SHARE in the vault, the
    image store on the share holding the registry's builds (the test image)."""
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password,
               options={"dls_connection": "default"})  # ftrt's object ids are its paths
    logins.add("b2share", "b2share", b2share_server.url, token=b2share_server.token)
    store = webdav_share.root / "images"
    for build in ("minimal_workflow/wordcount", "Pillar_III/ftrt"):
        if not (store / f"{build}.tar").exists():
            pack_image(Path(site_image), store / f"{build}.tar")
    with serving_data_logistics(stack, logins, f"{webdav_share.url}/images"):
        yield stack


def on_site(stack: Stack, relative: str) -> str:
    """A path in the login's home for the run to fill (nothing there yet)."""
    path = stack.sshd.home / "registry-dls" / relative
    shutil.rmtree(path, ignore_errors=True)
    return str(path)


def published(b2share: B2ShareServer, title: str) -> dict:
    (draft,) = [d for d in b2share.drafts.values()
                if d["metadata"]["titles"] == [{"title": title}]]
    assert draft["state"] == "submitted"
    return draft["files"]


def test_minimal_workflow_classic_runs_with_its_dls_nodes(
        dls_stack: Stack, b2share_server: B2ShareServer, test_module: str) -> None:
    stack = dls_stack
    b2share_server.add_record("wordcount-in-1", {"data.txt": TEXT.encode()})
    results = on_site(stack, "classic/out")
    Path(results).mkdir(parents=True)
    shutil.chown(Path(results), stack.sshd.login)
    shutil.chown(Path(results).parent, stack.sshd.login)
    images, staged = on_site(stack, "classic/images"), on_site(stack, "classic/in")
    _final, logs = run_registered(stack, registry_workflow("minimal_workflow.classic"), {
        "container_image_transfer_directory": images,
        "user_id": "eflows", "vault_id": "v1", "oid": "wordcount-in-1",
        "staged_in_data_path": staged, "result_data_path": results,
        "mid": "classic wordcount results"})
    assert (Path(staged) / "data.txt").read_text() == TEXT  # the B2SHARE record
    image = Path(images) / "wordcount.sif"  # unpacked from the store's wordcount.tar
    assert (image / "usr" / "bin" / "python3.11").stat().st_mode & 0o111
    assert (image / "dev").is_dir() and (image / "usr" / "bin" / "python3").is_symlink()
    assert sorted(p.name for p in Path(images).iterdir()) == ["wordcount.sif"]
    files = published(b2share_server, "classic wordcount results")
    assert json.loads(files["result.txt"]) == dict(collections.Counter(TEXT.split()))
    text = "\n".join(logs.values())
    assert "running in the container" in text and "/wordcount.sif" in text


UI_LOGIN = "eflows-ui"  # the sshd's second login: its own home, files and Slurm jobs


def test_minimal_workflow_parallel_runs_both_branches_on_two_sites_with_its_dls_nodes(
        dls_stack: Stack, b2share_server: B2ShareServer, test_module: str) -> None:
    """Cluster1 is the ``eflows`` login (as a site named after the host its image
    transfer's ``target_host`` names), Cluster2 the ``eflows-ui`` login: each role's
    stage-in, image transfer, job and stage-out happen on its own site, and neither
    branch waits for the other (the single test node's two CPUs fit one of these jobs
    at a time, so Slurm runs the second when the first ends)."""
    stack = dls_stack
    stack.add_login_site("ui", UI_LOGIN)
    b2share_server.add_record("wordcount-in-2", {"data.txt": TEXT.encode()})
    paths, bases = {}, {}
    logins = {"cluster1": stack.sshd.login, "cluster2": UI_LOGIN}
    for cluster, login in logins.items():
        home = Path(pwd.getpwnam(login).pw_dir)
        base = bases[cluster] = home / "registry-dls" / "parallel" / cluster
        shutil.rmtree(base, ignore_errors=True)
        (base / "out").mkdir(parents=True)
        for folder in (base / "out", base, base.parent, base.parent.parent):
            shutil.chown(folder, login, login)
        paths |= {f"{cluster}_input_path": str(base / "in"),
                  f"{cluster}_output_path": str(base / "out"),
                  f"container_image_transfer_directory_{cluster}": str(base / "images")}
    inputs = {**paths, "user_id": "eflows", "vault_id": "v1", "oid": "wordcount-in-2",
              "mid": "parallel wordcount results"}
    # Cluster1's image transfer names its cluster, nord3.bsc.es: Cluster1Environment is
    # bound to the site the user named after that host (here the login of "cluster").
    stack.add_login_site("nord3.bsc.es", stack.sshd.login)
    final, logs = run_registered(stack, registry_workflow("minimal_workflow.parallel"),
                                 inputs, site={"Cluster1Environment": "nord3.bsc.es",
                                               "Cluster2Environment": "ui"})
    # Bound to sites elsewhere, the trigger says which field names which host (nothing
    # is recorded, nothing runs).
    recorded = stack.executions.list().total
    with pytest.raises(ValidationError) as refused:
        stack.executor.submit(final.workflow_id, inputs, {
            "Cluster1Environment": "cluster", "Cluster2Environment": "ui"}, stack.credential)
    field = "data_movements.DLSDAGImageTransferCluster1.target_host"
    assert "'nord3.bsc.es' is not the host of a site bound" in \
        refused.value.details["fields"][field]
    assert stack.executions.list().total == recorded
    job_steps = ("PyCOMPSJobCluster1", "PyCOMPSJobCluster2")
    assert {k: v for k, v in final.step_sites.items() if not driven_by_graph(k)} == {
        "PyCOMPSJobCluster1": "nord3.bsc.es", "PyCOMPSJobCluster2": "ui"}
    assert final.step_sites["PyCOMPSJobCluster1:in:DLSDAGImageTransferCluster1"] == \
        "nord3.bsc.es"
    # each role's movements are steps of their own, on its site (stage-in, image, out)
    movements = {k: v for k, v in final.step_sites.items() if driven_by_graph(k)}
    assert {k.split(":", 1)[0] for k in movements} == set(job_steps)
    assert all(site == final.step_sites[k.split(":", 1)[0]] for k, site in movements.items())
    expected = dict(collections.Counter(TEXT.split()))
    for cluster, login in logins.items():
        base = bases[cluster]
        assert (base / "in" / "data.txt").read_text() == TEXT  # its own stage-in
        assert (base / "images" / "wordcount.sif" / "usr" / "bin" / "python3").exists()
        result = base / "out" / "result.txt"
        assert result.owner() == login  # its job ran as that site's login
        assert json.loads(result.read_text()) == expected
    drafts = [d for d in b2share_server.drafts.values()
              if d["metadata"]["titles"] == [{"title": "parallel wordcount results"}]]
    assert [d["state"] for d in drafts] == ["submitted", "submitted"]  # a stage-out each
    assert [json.loads(d["files"]["result.txt"]) for d in drafts] == [expected, expected]
    for step, cluster in (("PyCOMPSJobCluster1", "cluster1"), ("PyCOMPSJobCluster2",
                                                                 "cluster2")):
        assert "running in the container" in logs[step] and \
            f"{bases[cluster]}/images/wordcount.sif" in logs[step], logs[step]
    jobs = {s.job_id for s in stack.executor.steps(final.id) if s.name in job_steps}
    assert len(jobs) == 2 and None not in jobs  # a Slurm job each
    moves = [(e["step"], e["state"]) for e in read_events(final.event_log)
             if e["type"] == "step"]
    first_done = min(moves.index((s, "done")) for s in job_steps)
    assert {s for s, state in moves[:first_done] if state == "staging-in"} >= set(job_steps)


def test_pillar_iii_ftrt_runs_every_step_with_its_dls_nodes(
        dls_stack: Stack, webdav_share: WebDavShare, http_files: HttpFiles) -> None:
    """ftrt's PTFExecution (HTTP2SSH parameter file -> job -> WebDAV stage-out) after its
    deployment's nodes: the region and template datasets (WebDAV stage-ins of paths on
    the DLS connection ``default``) and its image (``Pillar_III/ftrt`` from the store)."""
    stack = dls_stack
    dataset = webdav_share.root / "ftrt-dataset"
    shutil.rmtree(dataset, ignore_errors=True)
    shutil.rmtree(webdav_share.root / "ftrt-results", ignore_errors=True)
    (dataset / "Regions" / "med").mkdir(parents=True)
    (dataset / "Regions" / "med" / "grid.txt").write_text("region med grid\n")
    (dataset / "Templates").mkdir()
    (dataset / "Templates" / "parfile.txt").write_text("template from_template\n")
    (http_files.root / "ftrt").mkdir(exist_ok=True)
    (http_files.root / "ftrt" / "parameters.txt").write_text("sigma=1.5\n")
    base = stack.sshd.home / "registry-dls" / "ftrt"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    shutil.chown(base, stack.sshd.login, stack.sshd.login)
    run_path = str(base / "run")
    _final, logs = run_registered(stack, registry_workflow("ftrt"), {
        "images_path": str(base / "images"), "data_path": str(base / "data"),
        "region_data_oid": "ftrt-dataset/Regions", "templates_oid": "ftrt-dataset/Templates",
        "vault_id": "v1", "user_id": "eflows", "run_path": run_path,
        "parameters_url_file": f"{http_files.url}/ftrt/parameters.txt",
        "parameters_file": str(base / "data" / "parameters.txt"),
        "results_path": run_path, "results_oid": "ftrt-results/",
        "event": "2017_0720_kos-bodrum", "qos": "debug"})
    summary = json.loads((base / "run" / "ftrt.json").read_text())
    assert summary["regions"] == {"med/grid.txt": "region med grid"}
    assert summary["templates"] == {"parfile.txt": "template from_template"}
    assert {s["parameters"] for s in summary["scenarios"]} == {"sigma=1.5"}
    assert summary["environment"] == "from /ftrt/env.sh"  # the image's --env_script
    assert f"{base}/images/ftrt.sif" in logs["PyCOMPSJob"]  # its movements: steps beside it
    assert (base / "data" / "parameters.txt").read_text() == "sigma=1.5\n"  # the file
    # The DLS's WebDAV stage-out writes the files of results_path into the folder.
    assert json.loads((webdav_share.root / "ftrt-results" / "ftrt.json").read_text()) == \
        summary
