"""The registry workflows run as registered: their DLS nodes kept, served on loopback.

``test_registry_workflows.py`` takes the Data Logistics Service nodes
(``dls.ansible.nodes.*``) out and puts their data in place by hand; here nothing of the
imported workflow is edited. The user triggers it with inputs only, naming data on the
test servers of ``tests/plugins/data_services.py``: a B2SHARE record by id (stage-in),
a new B2SHARE record (stage-out), WebDAV folders, an HTTP file (HTTP2SSH), and the
built images in the operator's ``image_store`` (a WebDAV share holding
``<workflow>/<step_id>.sif``; here the test's Charliecloud image directory packed as one
``<step_id>.tar`` beside that name, which the image transfer unpacks on the site). The
results are checked where the stage-outs put them.
"""

from __future__ import annotations

import collections
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.hpc.transfer.image_archive import pack_image
from eflows_kernel.services.workflows import Workflow, import_registry_folder
from tests.deploy.stack import Stack, run_registered, serving_data_logistics
from tests.plugins.data_services import B2ShareServer, WebDavShare

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
               username=webdav_share.username, secret=webdav_share.password)
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
