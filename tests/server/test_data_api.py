"""Data service logins and periodic transfers over the REST API of a real Jupyter server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.plugins.data_services import HttpFiles

SECRET = "s3-secret-key-never-shown"


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """The loopback test servers stand for a data server on the centre's own network."""
    jp_server_config["EflowsExtensionApp"]["allow_private_urls"] = True
    return jp_server_config


async def test_data_logins_are_added_listed_and_deleted_without_their_secret(
        api: Any, jp_base_url: str) -> None:
    code, headers, body = await api("POST", "eflows/api/data-credentials", {
        "name": "bucket", "kind": "s3", "url": "s3://results", "username": "AKIA1",
        "secret": SECRET, "options": {"endpoint_url": "http://127.0.0.1:9000"}})
    assert code == 201, body
    assert headers["Location"] == f"{jp_base_url}eflows/api/data-credentials/{body['id']}"
    assert SECRET not in str(body) and body["username"] == "AKIA1"
    code, _, listing = await api("GET", "eflows/api/data-credentials")
    assert code == 200 and [c["id"] for c in listing["items"]] == [body["id"]]
    assert SECRET not in str(listing)
    code, _, one = await api("GET", f"eflows/api/data-credentials/{body['id']}")
    assert code == 200 and SECRET not in str(one)
    code, _, _ = await api("DELETE", f"eflows/api/data-credentials/{body['id']}")
    assert code == 204
    code, _, _ = await api("GET", f"eflows/api/data-credentials/{body['id']}")
    assert code == 404


async def test_bad_logins_and_schedules_are_400_naming_the_field(api: Any) -> None:
    code, _, body = await api("POST", "eflows/api/data-credentials", {
        "name": "x", "kind": "webdav", "url": "https://h/dav", "username": "u",
        "secret": SECRET, "extra": 1})
    assert code == 400 and "extra" in str(body["errors"]) and SECRET not in str(body)
    code, _, body = await api("POST", "eflows/api/data-credentials", {
        "name": "x", "kind": "webdav", "url": "https://h/dav"})
    assert code == 400 and "secret" in str(body)
    code, _, body = await api("POST", "eflows/api/transfers", {
        "name": "x", "every": "whenever", "source": "https://h/x", "target": "/tmp/x"})
    assert code == 400 and "every" in str(body)
    code, _, body = await api("POST", "eflows/api/transfers", {
        "name": "x", "every": "5m", "source": "cluster:out", "target": "webdav://h/s"})
    assert code == 400 and body["fields"]["site"]
    code, _, _ = await api("POST", "eflows/api/transfers/s0123/pause")
    assert code == 404


async def test_a_periodic_transfer_over_rest(api: Any, http_files: HttpFiles,
                                             tmp_path: Any) -> None:
    (http_files.root / "rest.txt").write_text("r")
    code, headers, schedule = await api("POST", "eflows/api/transfers", {
        "name": "mirror", "every": "1s", "source": f"{http_files.url}/rest.txt",
        "target": str(tmp_path / "mirror")})
    assert code == 201, schedule
    assert headers["Location"].endswith(f"eflows/api/transfers/{schedule['id']}")
    assert schedule["next_run"] and schedule["last_run"] is None and not schedule["paused"]
    path = f"eflows/api/transfers/{schedule['id']}"
    for _ in range(100):
        code, _, now = await api("GET", path)
        if now["runs"] >= 2:
            break
        await asyncio.sleep(0.1)
    assert now["runs"] >= 2 and now["last_state"] == "done", now
    assert (tmp_path / "mirror" / "rest.txt").read_text() == "r"
    code, _, paused = await api("POST", f"{path}/pause")
    assert code == 200 and paused["paused"]
    code, _, resumed = await api("POST", f"{path}/resume")
    assert code == 200 and not resumed["paused"]
    code, _, listing = await api("GET", "eflows/api/transfers")
    assert [s["id"] for s in listing["items"]] == [schedule["id"]]
    code, _, _ = await api("DELETE", path)
    assert code == 204
