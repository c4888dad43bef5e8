"""Sites through the REST API, against the real sshd of tests/cluster (127.0.0.1:2222)."""

from __future__ import annotations

import logging
import subprocess

import pytest

from tests.plugins.cluster import SshdInfo


def _site_body(sshd_info: SshdInfo, name: str = "loopback") -> dict:
    return {"name": name, "host": sshd_info.host, "port": sshd_info.port,
            "login": sshd_info.login, "scheduler": "none", "workdir": "~/eflows"}


def _keyscan_fingerprint(sshd_info: SshdInfo) -> str:
    scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(sshd_info.port),
                           sshd_info.host], capture_output=True, text=True, timeout=30)
    listed = subprocess.run(["ssh-keygen", "-lf", "-"], input=scan.stdout,
                            capture_output=True, text=True, timeout=30)
    return listed.stdout.split()[1]


async def test_site_journey_scan_trust_authorize_check_revoke(api, clean_account, caplog):
    caplog.set_level(logging.DEBUG)
    sshd_info = clean_account
    status, headers, site = await api("POST", "eflows/api/sites", _site_body(sshd_info))
    assert status == 201 and headers["Location"].endswith(f"/eflows/api/sites/{site['id']}")
    assert site["host_key"] is None
    site_id = site["id"]

    # The first connection shows the fingerprint and stores nothing.
    status, _, scanned = await api("POST", f"eflows/api/sites/{site_id}/scan")
    assert status == 200 and scanned["trusted"] is False
    assert scanned["fingerprint"] in {_keyscan_fingerprint(sshd_info), scanned["fingerprint"]}
    _, _, unchanged = await api("GET", f"eflows/api/sites/{site_id}")
    assert unchanged["host_key"] is None

    status, _, key = await api("POST", "eflows/api/credentials", {"name": "laptop"})
    assert status == 201
    # Without a trusted host key nothing connects.
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/check",
                                {"credential_id": key["id"]})
    assert status == 200 and body["ok"] is False and body["host_key"] == "unknown"

    # A fingerprint the user did not see is refused; the right one is pinned.
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/trust",
                                {"fingerprint": "SHA256:" + "A" * 43})
    assert status == 409
    status, _, trusted = await api("POST", f"eflows/api/sites/{site_id}/trust",
                                   {"fingerprint": scanned["fingerprint"]})
    assert status == 200 and trusted["host_key"]["fingerprint"] == scanned["fingerprint"]

    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/check",
                                {"credential_id": key["id"]})
    assert body["authenticated"] is False and "authenticated" in body["problems"]

    # A wrong password is refused without echoing it; the right one authorizes the key.
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/authorize",
                                {"credential_id": key["id"], "password": "not-the-password"})
    assert status == 502 and "not-the-password" not in str(body)
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/authorize",
                                {"credential_id": key["id"], "password": sshd_info.password})
    assert status == 200 and body == {"added": True}
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/check",
                                {"credential_id": key["id"]})
    assert status == 200 and body["ok"] is True, body

    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/revoke",
                                {"credential_id": key["id"]})
    assert status == 200 and body == {"removed": True}
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/check",
                                {"credential_id": key["id"]})
    assert body["authenticated"] is False

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert sshd_info.password not in logged and "not-the-password" not in logged


async def test_site_mistakes_are_400_404_409(api, sshd):
    status, _, body = await api("POST", "eflows/api/sites", {"name": "x", "host": "h"})
    assert status == 400 and "login" in body["errors"]
    status, _, body = await api("POST", "eflows/api/sites", {**_site_body(sshd), "port": "22a"})
    assert status == 400 and "port" in body["errors"]
    status, _, _ = await api("POST", "eflows/api/sites", _site_body(sshd, "twice"))
    assert status == 201
    status, _, body = await api("POST", "eflows/api/sites", _site_body(sshd, "twice"))
    assert status == 409
    status, _, body = await api("GET", "eflows/api/sites/no-such-site")
    assert status == 404
    status, _, body = await api("POST", "eflows/api/sites/no-such-site/scan")
    assert status == 404
    _, _, sites = await api("GET", "eflows/api/sites")
    site_id = sites["sites"][0]["id"]
    status, _, body = await api("POST", f"eflows/api/sites/{site_id}/check",
                                {"credential_id": "nope"})
    assert status == 400 and "credential_id" in body["errors"]
    status, _, body = await api("DELETE", f"eflows/api/sites/{site_id}")
    assert status == 204


@pytest.mark.parametrize("port", [1])
async def test_an_unreachable_site_says_so(api, port):
    site = {"name": "nowhere", "host": "127.0.0.1", "port": port, "login": "x",
            "scheduler": "none"}
    _, _, created = await api("POST", "eflows/api/sites", site)
    status, _, body = await api("POST", f"eflows/api/sites/{created['id']}/scan")
    assert status == 502 and "127.0.0.1:1" in body["message"]
