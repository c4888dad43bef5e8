"""The HPCWaaS-compatible routes (eflows/hpcwaas): the eFlows4HPC Execution API shapes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.server.specs import FIXTURES, hello_spec

HPCWAAS_STATUSES = {"RUNNING", "SUCCESS", "FAILED", "CANCELLING", "CANCELLED"}


async def wait_status(api: Any, execution_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code, _, body = await api("GET", f"eflows/hpcwaas/executions/{execution_id}")
        assert code == 200 and set(body) == {"id", "status", "outputs"}
        assert body["status"] in HPCWAAS_STATUSES
        if body["status"] not in ("RUNNING", "CANCELLING") or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.3)


async def test_list_workflows(api: Any, tmp_path: Path) -> None:
    code, _, body = await api("GET", "eflows/hpcwaas/workflows")
    assert code == 200 and body == {"workflows": []}
    await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    await api("POST", "eflows/api/workflows/import",
              {"path": str(FIXTURES / "workflow-registry" / "minimal_workflow")})
    code, _, body = await api("GET", "eflows/hpcwaas/workflows")
    assert sorted(w["name"] for w in body["workflows"]) == [
        "hello", "minimal_workflow.classic", "minimal_workflow.parallel"]
    assert all({"id", "name", "inputs"} <= set(w) for w in body["workflows"])


async def test_ssh_keys(api: Any, jp_base_url: str) -> None:
    code, headers, body = await api("POST", "eflows/hpcwaas/ssh_keys")
    assert code == 201 and set(body) == {"id", "public_key"}
    assert body["public_key"].startswith("ssh-ed25519 ")
    assert headers["Location"] == f"{jp_base_url}eflows/api/credentials/{body['id']}"
    code, _, body = await api("POST", "eflows/hpcwaas/ssh_keys", {"kind": "rsa"})
    assert code == 201 and body["public_key"].startswith("ssh-rsa ")
    code, _, body = await api("POST", "eflows/hpcwaas/ssh_keys", {"kind": "dsa"})
    assert code == 400 and "kind" in body["errors"]
    code, _, listing = await api("GET", "eflows/api/credentials")
    assert len(listing["items"]) == 2 and "PRIVATE KEY" not in str(listing)


async def test_execute_follow_logs_and_status(api: Any, jp_base_url: str,
                                              tmp_path: Path) -> None:
    _, _, key = await api("POST", "eflows/hpcwaas/ssh_keys")
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    code, headers, body = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}",
                                    {"inputs": {"vault_id": key["id"], "user_id": "alice"}})
    assert code == 201, body
    ex = body["id"]
    assert headers["Location"] == f"{jp_base_url}eflows/hpcwaas/executions/{ex}"
    # long poll: waits for the first output instead of answering empty at once
    code, _, logs = await api("GET", f"eflows/hpcwaas/executions/{ex}/logs",
                              params={"from": 0, "timeout": 30})
    assert code == 200 and logs["logs"], logs
    final = await wait_status(api, ex)
    assert final["status"] == "SUCCESS" and final["outputs"] == {}
    code, _, logs = await api("GET", f"eflows/hpcwaas/executions/{ex}/logs",
                              params={"from": 0, "levels": "INFO"})
    assert any("hello from eflows" in e["content"] for e in logs["logs"])
    assert all(set(e) == {"timestamp", "level", "content"} for e in logs["logs"])
    code, _, none = await api("GET", f"eflows/hpcwaas/executions/{ex}/logs",
                              params={"from": logs["next"], "timeout": 5})
    assert code == 200 and none["logs"] == []  # finished: no waiting for more
    code, _, native = await api("GET", f"eflows/api/executions/{ex}")
    assert native["credential_id"] == key["id"]  # vault_id is our credential id
    code, _, body = await api("DELETE", f"eflows/hpcwaas/executions/{ex}")
    assert code == 409
    # by name, as HPCWaaS scripts do
    code, _, body = await api("POST", "eflows/hpcwaas/workflows/hello", {"inputs": {}})
    assert code == 201


async def test_cancel(api: Any, tmp_path: Path) -> None:
    _, _, wf = await api("POST", "eflows/api/workflows",
                         hello_spec(tmp_path, "sleeper", "import time\ntime.sleep(120)"))
    code, _, body = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}", {"inputs": {}})
    assert code == 201 and body["status"] == "RUNNING"
    code, _, body = await api("DELETE", f"eflows/hpcwaas/executions/{body['id']}")
    assert code == 202 and body["status"] in ("CANCELLING", "CANCELLED")
    final = await wait_status(api, body["id"], timeout=60)
    assert final["status"] == "CANCELLED"


async def test_failures(api: Any, tmp_path: Path) -> None:
    code, _, body = await api("POST", "eflows/hpcwaas/workflows/nope", {"inputs": {}})
    assert code == 404
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    url = f"eflows/hpcwaas/workflows/{wf['id']}"
    code, _, body = await api("POST", url, {"inputs": {"vault_id": "x" * 22}})
    assert code == 400 and "inputs.vault_id" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": {"vault_id": 3}})
    assert code == 400 and "inputs.vault_id" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": "x"})
    assert code == 400 and "inputs" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": {"zz": 1}})
    assert code == 400 and "inputs.zz" in body["errors"]
    code, _, body = await api("POST", url, raw="{")
    assert code == 400
    code, _, body = await api("POST", url, {"inputs": {}, "site": "atlantis"})
    assert code == 400 and "no site named 'atlantis'" in body["errors"]["site"]
    await api("POST", "eflows/api/sites", {"name": "untrusted", "host": "127.0.0.1",
                                          "login": "nobody"})
    code, _, body = await api("POST", url, {"inputs": {}, "site": "untrusted"})
    assert code == 400 and "not trusted yet" in body["errors"]["site"], body
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/logs")):
        code, _, body = await api(method, f"eflows/hpcwaas/executions/nope{path}")
        assert code == 404, (method, path)
    _, _, ok = await api("POST", url, {})
    for params, field in (({"timeout": "soon"}, "timeout"), ({"timeout": "600"}, "timeout"),
                          ({"from": "-3"}, "from"), ({"size": "0"}, "size"),
                          ({"levels": "LOUD"}, "levels")):
        code, _, body = await api("GET", f"eflows/hpcwaas/executions/{ok['id']}/logs",
                                  params=params)
        assert code == 400 and field in body["errors"], (params, body)


async def test_vault_id_and_user_id_map_to_credential_and_login(api: Any, tmp_path: Path) -> None:
    _, _, key = await api("POST", "eflows/hpcwaas/ssh_keys")
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path, "mapped"))
    code, _, body = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}",
                              {"inputs": {"vault_id": key["id"], "user_id": "jdoe"}})
    assert code == 201
    _, _, execution = await api("GET", f"eflows/api/executions/{body['id']}")
    assert execution["credential_id"] == key["id"] and execution["login"] == "jdoe"
    assert "vault_id" not in execution["inputs"] and "user_id" not in execution["inputs"]
    await wait_status(api, body["id"])
