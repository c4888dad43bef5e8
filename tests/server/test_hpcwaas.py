"""The HPCWaaS-compatible routes (eflows/hpcwaas): the eFlows4HPC Execution API shapes."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.server.specs import FIXTURES, hello_spec

HPCWAAS_STATUSES = {"RUNNING", "SUCCESS", "FAILED", "CANCELLING", "CANCELLED"}


def waas_errors(body: Any, status: int) -> dict[str, str]:
    """An error body as the waas client reads it (api/errors.go: {"errors": [{id,
    status (a number), title, detail}]}), by the field each entry names."""
    assert set(body) == {"errors"} and body["errors"], body
    by_field: dict[str, str] = {}
    for error in body["errors"]:
        assert {"id", "status", "title", "detail"} <= set(error), error
        assert error["status"] == status and isinstance(error["status"], int)
        assert all(isinstance(error[k], str) and error[k] for k in ("id", "title", "detail"))
        by_field[error.get("source", {}).get("parameter", "")] = error["detail"]
    return by_field


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
    assert code == 400 and "kind" in waas_errors(body, 400)
    code, _, listing = await api("GET", "eflows/api/credentials")
    assert len(listing["items"]) == 2 and "PRIVATE KEY" not in str(listing)


async def test_the_older_waas_clients_key_route_makes_a_key_for_its_own_user_only(
        api: Any, jp_serverapp: Any) -> None:
    """``POST /users/<name>/ssh_key`` with no body (the older client's api/users.go)."""
    token = jp_serverapp.identity_provider.token
    me = jp_serverapp.web_app.settings["eflows"].local_caller.name
    code, _, key = await api("POST", f"eflows/hpcwaas/users/{me}/ssh_key", raw="",
                             headers=basic(me, token))
    assert code == 201 and set(key) == {"id", "public_key"}, key
    assert key["public_key"].startswith("ssh-ed25519 ")
    code, _, body = await api("POST", f"eflows/hpcwaas/users/not-{me}/ssh_key", raw="")
    assert code == 403 and "not the user" in waas_errors(body, 403)[""], body
    code, _, listing = await api("GET", "eflows/api/credentials")
    assert [c["id"] for c in listing["items"]] == [key["id"]]
    assert "PRIVATE KEY" not in str(listing)


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
    assert code == 400 and "inputs.vault_id" in waas_errors(body, 400)
    code, _, body = await api("POST", url, {"inputs": {"vault_id": 3}})
    assert code == 400 and "inputs.vault_id" in waas_errors(body, 400)
    code, _, body = await api("POST", url, {"inputs": "x"})
    assert code == 400 and "inputs" in waas_errors(body, 400)
    code, _, body = await api("POST", url, {"inputs": {"zz": 1}})
    assert code == 400 and "inputs.zz" in waas_errors(body, 400)
    code, _, body = await api("POST", url, raw="{")
    assert code == 400
    code, _, body = await api("POST", url, {"inputs": {}, "site": "atlantis"})
    assert code == 400 and "no site named 'atlantis'" in waas_errors(body, 400)["site"]
    await api("POST", "eflows/api/sites", {"name": "untrusted", "host": "127.0.0.1",
                                          "login": "nobody"})
    code, _, body = await api("POST", url, {"inputs": {}, "site": "untrusted"})
    assert code == 400 and "not trusted yet" in waas_errors(body, 400)["site"], body
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/logs")):
        code, _, body = await api(method, f"eflows/hpcwaas/executions/nope{path}")
        assert code == 404, (method, path)
    _, _, ok = await api("POST", url, {})
    for params, field in (({"timeout": "soon"}, "timeout"), ({"timeout": "600"}, "timeout"),
                          ({"from": "-3"}, "from"), ({"size": "0"}, "size"),
                          ({"levels": "LOUD"}, "levels")):
        code, _, body = await api("GET", f"eflows/hpcwaas/executions/{ok['id']}/logs",
                                  params=params)
        assert code == 400 and field in waas_errors(body, 400), (params, body)


async def test_a_step_graph_binds_each_role_to_a_site_from_a_site_object(
        api: Any, tmp_path: Path) -> None:
    """HPCWaaS takes ``site`` as a string or as ``{ENVIRONMENT: SITE}``; a role left
    unbound is a 400 in waas' shape naming it, and a bound graph runs every step."""
    first = tmp_path / "first.py"
    first.write_text("open('made.txt', 'w').write('from first')\n")
    second = tmp_path / "second.py"
    second.write_text("import sys\nprint('second read', open(sys.argv[1]).read())\n")
    _, _, wf = await api("POST", "eflows/api/workflows", {
        "name": "two-roles",
        "steps": [{"name": "first", "application": str(first), "environment": "Front"},
                  {"name": "second", "application": str(second), "environment": "Back",
                   "depends_on": ["first"], "arguments": ["${steps.first.dir}/made.txt"]}]})
    url = f"eflows/hpcwaas/workflows/{wf['id']}"
    code, _, body = await api("POST", url, {"inputs": {}, "site": {"Front": "local"}})
    assert code == 400
    assert "environment 'Back' is not bound" in waas_errors(body, 400)["site"], body
    code, _, body = await api("POST", url, {"inputs": {}, "site": {"Front": "local",
                                                                   "Bakc": "local"}})
    assert code == 400 and "no environment 'Bakc'" in waas_errors(body, 400)["site"], body
    code, _, body = await api("POST", url, {"inputs": {},
                                            "site": {"Front": "local", "Back": "local"}})
    assert code == 201, body
    final = await wait_status(api, body["id"])
    assert final["status"] == "SUCCESS", final
    code, _, native = await api("GET", f"eflows/api/executions/{body['id']}")
    assert native["step_sites"] == {"first": "local", "second": "local"}
    code, _, logs = await api("GET", f"eflows/hpcwaas/executions/{body['id']}/logs",
                              params={"from": 0})
    assert any("second read from first" in e["content"] for e in logs["logs"]), logs


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


# ---- exactly as the published waas client (eflows4hpc/hpcwaas-api, api/*.go) speaks ----

LEVELED = """print('plain output')
print('DEBUG x=1')
print('WARNING: careful')
print('ERROR: it broke')
print('done')"""
WAAS_LOGS_QUERY = {"from": "0", "timeout": "1m0s", "size": "-1", "levels": "15"}


async def _finished_run(api: Any, tmp_path: Path) -> str:
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path, "leveled", LEVELED))
    code, headers, body = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}",
                                    {"inputs": {}})
    assert code == 201, body
    assert headers["Location"].endswith(f"/executions/{body['id']}")  # path.Base() of it
    assert (await wait_status(api, body["id"]))["status"] == "SUCCESS"
    return str(body["id"])


async def test_logs_as_the_waas_client_asks(api: Any, tmp_path: Path) -> None:
    ex = await _finished_run(api, tmp_path)
    url = f"eflows/hpcwaas/executions/{ex}/logs"
    code, _, body = await api("GET", url, params=WAAS_LOGS_QUERY)
    assert code == 200, body
    assert set(body) == {"logs", "total_results", "from", "next"}
    contents = [e["content"] for e in body["logs"]]
    assert contents[-5:] == ["plain output", "DEBUG x=1", "WARNING: careful",
                             "ERROR: it broke", "done"]
    assert [e["level"] for e in body["logs"][-5:]] == ["INFO", "DEBUG", "WARN", "ERROR", "INFO"]
    assert body["from"] == 0 and body["total_results"] == len(body["logs"])
    for entry in body["logs"]:
        assert set(entry) == {"level", "timestamp", "content"}
        assert datetime.fromisoformat(entry["timestamp"]).tzinfo is not None  # time.Time
    total = body["total_results"]
    # waas logs --follow: from += len(logs), same options (size=50, levels INFO|WARN|ERROR)
    code, _, more = await api("GET", url, params={"from": str(total), "size": "50",
                                                  "levels": "14"})
    assert code == 200 and more["logs"] == [] and more["from"] == total  # finished: at once
    code, _, default = await api("GET", url)  # every default: levels 0, size -1, from 0
    assert "DEBUG x=1" not in [e["content"] for e in default["logs"]]
    assert default["total_results"] == total - 1
    code, _, page = await api("GET", url, params={"levels": "9"})  # DEBUG + ERROR
    assert [e["content"] for e in page["logs"]] == ["DEBUG x=1", "ERROR: it broke"]
    code, _, page = await api("GET", url, params={"from": "1", "size": "1", "levels": "15"})
    assert [e["content"] for e in page["logs"]] == ["DEBUG x=1"]
    assert page["from"] == 1 and page["next"] == 2 and page["total_results"] == total
    code, _, names = await api("GET", url, params={"levels": "WARN,ERROR", "timeout": "0s"})
    assert [e["content"] for e in names["logs"]] == ["WARNING: careful", "ERROR: it broke"]


async def test_long_poll_waits_for_the_first_entry(api: Any, tmp_path: Path) -> None:
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(
        tmp_path, "slow", "import time\ntime.sleep(2)\nprint('late line', flush=True)"))
    _, _, body = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}", {"inputs": {}})
    started = time.monotonic()
    code, _, logs = await api("GET", f"eflows/hpcwaas/executions/{body['id']}/logs",
                              params=WAAS_LOGS_QUERY, timeout=90)
    assert code == 200 and logs["logs"], logs
    assert time.monotonic() - started < 60  # answered when the output came, not at 1m
    await wait_status(api, body["id"])


@pytest.mark.parametrize(("params", "field"), [
    ({"timeout": "1x"}, "timeout"), ({"timeout": "-1s"}, "timeout"),
    ({"timeout": "2m"}, "timeout"), ({"levels": "16"}, "levels"),
    ({"levels": "-1"}, "levels"), ({"size": "-2"}, "size"), ({"size": "0"}, "size"),
    ({"from": "x"}, "from")])
async def test_bad_logs_queries_name_the_parameter(api: Any, tmp_path: Path,
                                                   params: dict[str, str], field: str) -> None:
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    _, _, ex = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}", {"inputs": {}})
    code, _, body = await api("GET", f"eflows/hpcwaas/executions/{ex['id']}/logs",
                              params=params)
    assert code == 400 and field in waas_errors(body, 400), (params, body)
    await wait_status(api, ex["id"])


async def test_ssh_key_metadata_is_stored_and_listed(api: Any) -> None:
    # waas ssh_keys key-gen -m project=climate: {"metadata": {...}}; no flag: {} (omitempty)
    code, _, key = await api("POST", "eflows/hpcwaas/ssh_keys",
                             {"metadata": {"project": "climate", "privateKey": "ignored"}})
    assert code == 201 and set(key) == {"id", "public_key"}, key
    code, _, plain = await api("POST", "eflows/hpcwaas/ssh_keys", {})
    assert code == 201
    _, _, listing = await api("GET", "eflows/api/credentials")
    by_id = {c["id"]: c for c in listing["items"]}
    assert by_id[key["id"]]["metadata"] == {"project": "climate"}
    assert by_id[plain["id"]]["metadata"] == {}
    _, _, one = await api("GET", f"eflows/api/credentials/{key['id']}")
    assert one["metadata"] == {"project": "climate"}
    code, _, body = await api("POST", "eflows/hpcwaas/ssh_keys",
                              {"metadata": {"k": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}})
    assert code == 400 and "metadata" in waas_errors(body, 400) and "MIIE" not in str(body)
    code, _, body = await api("POST", "eflows/hpcwaas/ssh_keys", {"metadata": "x"})
    assert code == 400 and "metadata" in waas_errors(body, 400)
    code, _, native = await api("POST", "eflows/api/credentials",
                                {"name": "noted", "metadata": {"a": "b"}})
    assert code == 201 and native["metadata"] == {"a": "b"}


async def test_bearer_token_as_hpcwaas_clients_send_it(api: Any, jp_serverapp: Any) -> None:
    token = jp_serverapp.identity_provider.token
    code, _, body = await api("GET", "eflows/hpcwaas/workflows",
                              headers={"Authorization": f"Bearer {token}"})
    assert code == 200 and body == {"workflows": []}
    code, _, _ = await api("GET", "eflows/hpcwaas/workflows",
                           headers={"Authorization": "Bearer not-the-token"})
    assert code in (401, 403)


def basic(user: str, password: str) -> dict[str, str]:
    """waas -u user:password: Go's http client turns ``req.URL.User`` into this header
    (api/http_client.go NewRequest); the published client has no other way to log in."""
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}", "Accept": "application/json"}


async def test_the_waas_binary_as_it_logs_in_and_sends_each_command(
        api: Any, jp_serverapp: Any, tmp_path: Path) -> None:
    """Each waas command's request as cmd/waas + api/*.go build it: Basic auth (``waas -u
    user:token``, the Jupyter token as the password), no Content-Type, ``workflows
    trigger`` without ``-i`` sending ``{"inputs": null}`` (a nil Go map) and with ``-i
    n=3`` every value a string,
    ``executions logs`` asking ``from=0&levels=14&size=50`` (no timeout), ``ssh_keys
    key-gen`` sending ``{}``; each answer read into waas' own structs."""
    token = jp_serverapp.identity_provider.token
    me = jp_serverapp.web_app.settings["eflows"].local_caller.name  # who this server is for
    waas = basic(me, token)
    code, _, listing = await api("GET", "eflows/hpcwaas/workflows", headers=waas)
    assert code == 200 and listing == {"workflows": []}, listing
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(
        tmp_path, "counted", "import sys\nprint('n is', sys.argv[1])",
        inputs=[{"name": "n", "type": "integer", "default": 1}],
        steps=[{"name": "main", "application": str(tmp_path / "counted.py"),
                "arguments": ["${n}"]}]))
    code, _, listing = await api("GET", "eflows/hpcwaas/workflows", headers=waas)
    assert [(w["id"], w["name"]) for w in listing["workflows"]] == [(wf["id"], "counted")]
    assert all(isinstance(w[k], str) for w in listing["workflows"] for k in ("id", "name"))
    url = f"eflows/hpcwaas/workflows/{wf['id']}"
    code, headers, body = await api("POST", url, raw='{"inputs":null}', headers=waas)
    assert code == 201, body  # waas workflows trigger <id>, no -i
    plain = headers["Location"].rsplit("/", 1)[-1]
    code, headers, body = await api("POST", url, raw='{"inputs":{"n":"3"}}', headers=waas)
    assert code == 201, body  # waas workflows trigger <id> -i n=3
    three = headers["Location"].rsplit("/", 1)[-1]
    for execution, said in ((plain, "n is 1"), (three, "n is 3")):
        deadline = time.monotonic() + 90
        while True:
            code, _, status = await api("GET", f"eflows/hpcwaas/executions/{execution}",
                                        headers=waas)
            assert code == 200 and isinstance(status["outputs"], dict), status
            if not status["status"].lower().endswith("ing") or time.monotonic() > deadline:
                break  # waas executions status --follow stops at a status not ending -ing
            await asyncio.sleep(0.3)
        assert status["status"] == "SUCCESS", status
        code, _, logs = await api("GET", f"eflows/hpcwaas/executions/{execution}/logs",
                                  params={"from": "0", "levels": "14", "size": "50"},
                                  headers=waas)
        assert code == 200 and said in [e["content"] for e in logs["logs"]], logs
        assert isinstance(logs["total_results"], int) and logs["from"] == 0
        for entry in logs["logs"]:  # Go's time.Time reads RFC 3339 only
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                                entry["timestamp"]), entry
    code, _, key = await api("POST", "eflows/hpcwaas/ssh_keys", raw="{}", headers=waas)
    assert code == 201 and set(key) == {"id", "public_key"}
    code, _, _ = await api("DELETE", f"eflows/hpcwaas/executions/{plain}", headers=waas)
    assert code == 409  # over already
    for wrong in (basic(me, "not-the-token"), basic(me, ""), {"Authorization": "Basic %%%"},
                  basic(f"not-{me}", token)):  # another's name with this token: refused
        code, _, body = await api("GET", "eflows/hpcwaas/workflows", headers=wrong)
        assert code == 403 and waas_errors(body, 403), body
    assert "not the user" in waas_errors(body, 403)[""]
    code, _, _ = await api("GET", "eflows/hpcwaas/workflows", headers=basic("", token))
    assert code == 200  # no name: the token alone says who
    # the native API keeps Jupyter's own schemes
    code, _, _ = await api("GET", "eflows/api/workflows", headers=waas)
    assert code == 403


async def test_a_quiet_run_is_answered_before_waas_gives_up(
        api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``waas executions logs --follow`` sends no timeout (so the 1m default) and its
    HTTP client gives up after one minute: a run that prints nothing for a minute must
    be answered (empty) before that, or waas exits with 'Client.Timeout exceeded'.
    The route's clock is a fake one here, one second per look, so no minute is spent."""
    from eflows_extension.handlers import hpcwaas

    _, _, wf = await api("POST", "eflows/api/workflows",
                         hello_spec(tmp_path, "quiet", "import time\ntime.sleep(120)"))
    _, _, ex = await api("POST", f"eflows/hpcwaas/workflows/{wf['id']}", {"inputs": {}})
    looks: list[float] = []

    def monotonic() -> float:
        looks.append(float(len(looks)))
        return looks[-1]

    real_sleep = asyncio.sleep
    monkeypatch.setattr(hpcwaas, "time", SimpleNamespace(monotonic=monotonic))
    monkeypatch.setattr(hpcwaas, "asyncio", SimpleNamespace(sleep=lambda _: real_sleep(0)))
    for query in ({"from": "1000", "levels": "14", "size": "50"},  # what waas sends
                  {"from": "1000", "timeout": "1m0s"}):
        looks.clear()
        code, _, logs = await api("GET", f"eflows/hpcwaas/executions/{ex['id']}/logs",
                                  params=query)
        assert code == 200 and logs["logs"] == [], logs
        assert 45 <= looks[-1] - looks[0] <= hpcwaas.MAX_LOG_TIMEOUT - 5, (query, looks[-1])
    looks.clear()
    await api("GET", f"eflows/hpcwaas/executions/{ex['id']}/logs",
              params={"from": "1000", "timeout": "10s"})
    assert 10 <= looks[-1] - looks[0] <= 11  # a shorter wait asked is kept
    monkeypatch.undo()
    await api("DELETE", f"eflows/hpcwaas/executions/{ex['id']}")
    await wait_status(api, ex["id"])
