"""The centre's sites set through traitlets (c.EflowsExtensionApp.sites / sites_files):
listed for every user next to their own, read-only, with the login of the hub user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGp0+6Pt3P0eNqN8rEgYxQ8w9oPj3yO7M7m2hWlVf2m3"


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")  # what a hub-spawned server has
    sites_file = tmp_path / "eflows_sites.yaml"
    sites_file.write_text("sites:\n  - name: here\n    connection: local\n"
                          "    partition: batch\n")
    jp_server_config["EflowsExtensionApp"].update({
        "sites": [{"name": "marenostrum", "host": "login.example.org",
                   "host_key": HOST_KEY, "login_template": "{user}_hpc",
                   "qos": "normal", "account": "proj42"}],
        "sites_files": [str(sites_file), str(tmp_path / "absent.yaml")]})
    return jp_server_config


async def test_operator_sites_read_only_next_to_the_users(api: Any) -> None:
    code, _, body = await api("GET", "eflows/api/sites")
    assert code == 200
    by_name = {s["name"]: s for s in body["sites"]}
    centre = by_name["marenostrum"]
    assert centre["operator"] is True and centre["login"] == "alice_hpc"
    assert centre["host_key"]["type"] == "ssh-ed25519"  # pinned by the operator
    assert (centre["qos"], centre["account"]) == ("normal", "proj42")
    assert by_name["here"]["connection"] == "local" and by_name["here"]["operator"] is True
    url = f"eflows/api/sites/{centre['id']}"
    code, _, body = await api("PUT", url, {**{k: v for k, v in centre.items()
                                              if k not in ("id", "host_key", "operator")},
                                           "qos": "high"})
    assert code == 403 and "centre's operator" in body["message"], body
    code, _, body = await api("DELETE", url)
    assert code == 403
    code, _, body = await api("POST", "eflows/api/sites",
                              {"name": "marenostrum", "host": "x.org", "login": "me"})
    assert code == 409 and "operator" in body["message"]
    code, _, own = await api("POST", "eflows/api/sites",
                             {"name": "mine", "host": "my.cluster", "login": "me"})
    assert code == 201 and own["operator"] is False
    code, _, body = await api("GET", "eflows/api/sites")
    assert [s["name"] for s in body["sites"]] == ["marenostrum", "here", "mine"]
    code, _, _ = await api("DELETE", f"eflows/api/sites/{own['id']}")
    assert code == 204
