"""Sites through the client and the CLI, against a real server and the real sshd of
tests/cluster (127.0.0.1:2222; the fixtures need root, as tests/server's site tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.client import EflowsClient, LocalClient
from eflows_kernel.services.errors import ConflictError, NotFoundError
from eflows_kernel.services.hpc.ssh import SSHError
from tests.client.helpers import call
from tests.plugins.cluster import SshdInfo


def _config(sshd_info: SshdInfo, name: str = "loopback") -> dict[str, Any]:
    return {"name": name, "host": sshd_info.host, "port": sshd_info.port,
            "login": sshd_info.login, "scheduler": "none"}


def _journey(client: EflowsClient | LocalClient, sshd_info: SshdInfo) -> None:
    """add, scan, trust, authorize, check, revoke: the same calls on either client."""
    site = client.sites.add(_config(sshd_info))
    assert site.name == "loopback" and site.host_key is None
    assert [s.id for s in client.sites.list()] == [site.id]
    assert client.sites.get("loopback").id == site.id  # by name
    assert client.sites.get(site.id).name == "loopback"  # by id
    with pytest.raises(ConflictError):
        client.sites.add(_config(sshd_info))
    with pytest.raises(NotFoundError, match="nowhere"):
        client.sites.get("nowhere")

    key = client.sites.scan("loopback")
    assert key.fingerprint.startswith("SHA256:")
    assert client.sites.get(site.id).host_key is None  # scanning stores nothing
    with pytest.raises(ConflictError):
        client.sites.trust(site.id, "SHA256:" + "A" * 43)
    trusted = client.sites.trust("loopback", key.fingerprint)
    assert trusted.host_key is not None and trusted.host_key.fingerprint == key.fingerprint

    cred = client.credentials.generate("laptop")
    report = client.sites.check("loopback", cred.id)
    assert not report.ok and report.authenticated is False and "authenticated" in report.problems

    with pytest.raises(SSHError, match="refused") as refused:
        client.sites.authorize("loopback", cred.id, password="not-the-password")
    assert "not-the-password" not in str(refused.value)
    assert client.sites.authorize("loopback", cred.id, password=sshd_info.password) == \
        {"added": True}
    assert client.sites.authorize(site.id, cred.id, password=sshd_info.password) == \
        {"added": False}
    report = client.sites.check(site.id, cred.id)
    assert report.ok, report.problems
    assert report.reachable and report.host_key == "ok" and report.authenticated
    assert report.python is True

    assert client.sites.revoke("loopback", cred.id) == {"removed": True}
    assert client.sites.check("loopback", cred.id).authenticated is False

    updated = client.sites.update("loopback", {**_config(sshd_info), "workdir": "~/runs"})
    assert updated.config.workdir == "~/runs" and updated.host_key is not None
    client.sites.delete("loopback")
    assert client.sites.list() == []


async def test_client_site_journey(client: EflowsClient, clean_account: SshdInfo) -> None:
    await call(_journey, client, clean_account)


def test_local_client_site_journey(tmp_path: Path, clean_account: SshdInfo) -> None:
    local = LocalClient(f"sqlite:///{tmp_path / 'state.sqlite'}", tmp_path / "vault.key",
                        tmp_path / "runs")
    with local:
        _journey(local, clean_account)


async def test_cli_site_journey(cli: Any, client: EflowsClient,
                                clean_account: SshdInfo) -> None:
    sshd_info = clean_account
    added = await cli("sites", "add", "loopback", "--host", sshd_info.host, "--port",
                      str(sshd_info.port), "--login", sshd_info.login, "--scheduler", "none",
                      "--workdir", "~/eflows-cli")
    assert added.code == 0, added.err
    assert "added site loopback" in added.out

    # No terminal and no --fingerprint: the fingerprint is shown, nothing is trusted.
    refused = await cli("sites", "trust", "loopback")
    assert refused.code in (1, 2) and "--fingerprint" in refused.err
    assert "not trusted" in refused.err and "Traceback" not in refused.err
    assert (await call(client.sites.get, "loopback")).host_key is None
    fingerprint = (await call(client.sites.scan, "loopback")).fingerprint
    assert fingerprint in refused.out + refused.err

    wrong = await cli("sites", "trust", "loopback", "--fingerprint", "SHA256:" + "A" * 43)
    assert wrong.code == 1 and "nothing was trusted" in wrong.err
    assert (await call(client.sites.get, "loopback")).host_key is None
    trusted = await cli("sites", "trust", "loopback", "--fingerprint", fingerprint)
    assert trusted.code == 0, trusted.err
    assert fingerprint in trusted.out and "trusted the host key" in trusted.out
    listing = await cli("sites", "list")
    assert "loopback" in listing.out and fingerprint in listing.out

    made = await cli("ssh-keys", "keygen", "cluster")
    assert made.code == 0, made.err
    key_id = made.out.splitlines()[0].removeprefix("id: ")

    no_password = await cli("ssh-keys", "authorize", key_id, "--site", "loopback")
    assert no_password.code == 2 and "--password-stdin" in no_password.err
    authorized = await cli("ssh-keys", "authorize", key_id, "--site", "loopback",
                           "--password-stdin", stdin=sshd_info.password + "\n")
    assert authorized.code == 0, authorized.err
    assert "authorized" in authorized.out
    assert sshd_info.password not in authorized.out + authorized.err

    ready = await cli("sites", "check", "loopback", "--key", key_id)
    assert ready.code == 0, ready.out + ready.err
    assert "key accepted: yes" in ready.out and "ok:" in ready.out

    revoked = await cli("ssh-keys", "revoke", key_id, "--site", "loopback")
    assert revoked.code == 0, revoked.err
    assert "revoked" in revoked.out

    not_ready = await cli("sites", "check", "loopback", "--key", key_id)
    assert not_ready.code == 1
    assert "not authorized" in not_ready.out and "problems:" in not_ready.out
    assert "authenticated:" in not_ready.out and "Traceback" not in not_ready.err
