"""``eflows workflows`` and ``eflows sites`` against a server with the centre's catalogue
and the centre's sites: which is the operator's, which the user's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eflows_kernel.client import EflowsClient
from tests.client.helpers import call

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "workflow-registry" / \
    "minimal_workflow"
HOST_KEY = Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["EflowsExtensionApp"].update({
        "catalogue_paths": [str(MINIMAL)], "local_user": "owner",
        "catalogue_access": {"minimal_workflow.classic": {"groups": ["climate"]}},
        "sites": [{"name": "marenostrum", "host": "login.example.org", "host_key": HOST_KEY,
                   "login_template": "{user}_hpc", "partition": "batch"}]})
    return jp_server_config


async def test_published_and_own_workflows_side_by_side(cli: Any, tmp_path: Path) -> None:
    script = tmp_path / "mine.py"
    script.write_text("print('mine')\n")
    made = await cli("workflows", "register", str(script), "--name", "mine")
    assert made.code == 0, made.err
    listing = await cli("workflows", "list")
    assert listing.code == 0, listing.err
    rows = {line.split()[1]: line for line in listing.out.splitlines()[1:] if line.strip()}
    # owner is not in climate: the classic variant is not listed at all
    assert set(rows) == {"minimal_workflow.parallel", "mine"}, listing.out
    assert "centre (published, read-only)" in rows["minimal_workflow.parallel"]
    assert rows["mine"].split()[3] == "you"
    published = rows["minimal_workflow.parallel"].split()[0]
    shown = await cli("workflows", "show", published)
    assert "set by: centre (published, read-only)" in shown.out, shown.out
    refused = await cli("workflows", "delete", published)
    assert refused.code != 0 and "only the operator" in refused.err, refused


async def test_centre_and_own_sites_side_by_side(cli: Any, client: EflowsClient) -> None:
    await call(client.sites.add, {"name": "mine", "host": "my.cluster.org", "login": "me"})
    listing = await cli("sites", "list")
    assert listing.code == 0, listing.err
    rows = {line.split()[1]: line for line in listing.out.splitlines()[1:] if line.strip()}
    assert "centre (read-only)" in rows["marenostrum"] and "owner_hpc@" in rows["marenostrum"]
    assert "you" in rows["mine"].split() and "centre" not in rows["mine"], listing.out
    shown = await cli("sites", "show", "marenostrum")
    assert "set by: centre (read-only)" in shown.out and "not trusted" not in shown.out
