"""The native REST API (eflows/api): success and failure of every route."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.server.specs import FIXTURES, hello_spec

MINIMAL = FIXTURES / "workflow-registry" / "minimal_workflow"
SPEC = {"name": "spec-wf", "version": "1.0", "inputs": {"n": {"type": "integer"}},
        "steps": [{"name": "s", "application": "a.py", "arguments": ["${n}"]}]}


def _private_key_text(passphrase: bytes | None = None) -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             encryption).decode()


async def wait_finished(api: Any, execution_id: str, timeout: float = 90) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        code, _, body = await api("GET", f"eflows/api/executions/{execution_id}")
        assert code == 200
        if body["finished"] or loop.time() > deadline:
            return body
        await asyncio.sleep(0.3)


# ---- workflows ---------------------------------------------------------------------------

async def test_register_get_list_delete_a_workflow(api: Any, jp_base_url: str) -> None:
    code, headers, body = await api("POST", "eflows/api/workflows", SPEC)
    assert code == 201, body
    wf_id = body["id"]
    assert headers["Location"] == f"{jp_base_url}eflows/api/workflows/{wf_id}"
    assert body["workflow"]["inputs"][0]["type"] == "integer"
    code, _, body = await api("GET", f"eflows/api/workflows/{wf_id}")
    assert code == 200 and body["name"] == "spec-wf"
    await api("POST", "eflows/api/workflows", {**SPEC, "version": "2.0"})
    code, _, page = await api("GET", "eflows/api/workflows", params={"limit": 1, "offset": 1})
    assert code == 200 and page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["version"] == "2.0"
    code, _, _ = await api("DELETE", f"eflows/api/workflows/{wf_id}")
    assert code == 204
    code, _, body = await api("GET", f"eflows/api/workflows/{wf_id}")
    assert code == 404 and wf_id in body["message"]


async def test_workflow_errors(api: Any) -> None:
    await api("POST", "eflows/api/workflows", SPEC)
    code, _, body = await api("POST", "eflows/api/workflows", SPEC)
    assert code == 409 and "already registered" in body["message"] and body["id"]
    code, _, body = await api("POST", "eflows/api/workflows", raw="{not json")
    assert code == 400 and "JSON" in body["message"] and "body" in body["errors"]
    code, _, body = await api("POST", "eflows/api/workflows", raw="[1, 2]")
    assert code == 400 and "object" in body["message"]
    code, _, body = await api("POST", "eflows/api/workflows", {"version": "1"})
    assert code == 400 and "name" in body["message"]
    code, _, body = await api("POST", "eflows/api/workflows", {"name": 12})
    assert code == 400 and "name" in body["message"]
    code, _, body = await api("POST", "eflows/api/workflows", {"name": "w", "inputs": 5})
    assert code == 400 and "inputs" in body["errors"]
    code, _, body = await api("POST", "eflows/api/workflows",
                              {"name": "w", "inputs": {"n": {"type": "blob"}}})
    assert code == 400 and "inputs" in body["message"]
    code, _, body = await api("GET", "eflows/api/workflows", params={"limit": "many"})
    assert code == 400 and "limit" in body["errors"]
    code, _, body = await api("GET", "eflows/api/workflows", params={"offset": "-1"})
    assert code == 400 and "offset" in body["errors"]
    for method in ("GET", "DELETE"):
        code, _, body = await api(method, "eflows/api/workflows/nope")
        assert code == 404 and "nope" in body["message"]


async def test_import_the_minimal_workflow_shows_its_inputs(api: Any) -> None:
    code, _, report = await api("POST", "eflows/api/workflows/import", {"path": str(MINIMAL)})
    assert code == 201, report
    names = sorted(w["name"] for w in report["registered"])
    assert names == ["minimal_workflow.classic", "minimal_workflow.parallel"]
    classic = next(w for w in report["registered"] if w["name"].endswith("classic"))
    inputs = {i["name"] for i in classic["inputs"]}
    assert {"num_nodes", "vault_id", "user_id", "staged_in_data_path"} <= inputs
    assert isinstance(report["warnings"], list)
    code, _, again = await api("POST", "eflows/api/workflows/import", {"path": str(MINIMAL)})
    assert code == 200 and again["registered"] == []
    assert sum("already registered" in w for w in again["warnings"]) == 2
    code, _, body = await api("GET", f"eflows/api/workflows/{classic['id']}")
    assert code == 200 and len(body["workflow"]["inputs"]) == len(classic["inputs"])


async def test_import_errors_name_the_field(api: Any, tmp_path: Path) -> None:
    code, _, body = await api("POST", "eflows/api/workflows/import", {})
    assert code == 400 and "path" in body["errors"]
    code, _, body = await api("POST", "eflows/api/workflows/import", {"path": 3})
    assert code == 400 and "path" in body["errors"]
    code, _, body = await api("POST", "eflows/api/workflows/import", {"path": "x", "zz": 1})
    assert code == 400 and "zz" in body["errors"]
    code, _, body = await api("POST", "eflows/api/workflows/import",
                              {"path": str(tmp_path / "nowhere")})
    assert code == 400 and body["message"]



async def test_import_reports_each_refused_topology(api: Any, tmp_path: Path) -> None:
    """A registry folder whose one topology names a node type nobody knows: the other one
    is registered, the refused one comes back with its file and reason; alone, a 400."""
    job = ("      type: org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob\n"
           "      properties: {application: {command: /app/run.py}}\n")
    for name, extra in (("good", ""), ("bad", "    Up:\n      type: "
                                              "dls.ansible.nodes.DLSDAGNoSuchPipeline\n")):
        tosca = tmp_path / "reg" / name / "tosca"
        tosca.mkdir(parents=True)
        (tosca / "topology.yml").write_text(
            "topology_template:\n  node_templates:\n    Job:\n" + job + extra)
    code, _, report = await api("POST", "eflows/api/workflows/import",
                                {"path": str(tmp_path / "reg")})
    assert code == 201, report
    assert [w["name"] for w in report["registered"]] == ["good"]
    (refused,) = report["refused"]
    assert "bad/tosca/topology.yml" in refused and "DLSDAGNoSuchPipeline" in refused
    code, _, body = await api("POST", "eflows/api/workflows/import",
                              {"path": str(tmp_path / "reg" / "bad")})
    assert code == 400 and "DLSDAGNoSuchPipeline" in body["message"]

# ---- credentials -------------------------------------------------------------------------

async def test_generate_get_list_delete_credentials(api: Any, jp_base_url: str) -> None:
    code, headers, body = await api("POST", "eflows/api/credentials",
                                    {"name": "cluster", "kind": "ed25519"})
    assert code == 201, body
    cred = body["id"]
    assert headers["Location"] == f"{jp_base_url}eflows/api/credentials/{cred}"
    assert body["public_key"].startswith("ssh-ed25519 ")
    assert set(body) == {"id", "name", "kind", "public_key", "fingerprint", "comment",
                         "created_at", "has_certificate", "metadata"}
    code, _, listing = await api("GET", "eflows/api/credentials")
    assert [c["id"] for c in listing["items"]] == [cred]
    code, _, one = await api("GET", f"eflows/api/credentials/{cred}")
    assert code == 200 and one == body
    code, _, _ = await api("DELETE", f"eflows/api/credentials/{cred}")
    assert code == 204
    for method in ("GET", "DELETE"):
        code, _, body = await api(method, f"eflows/api/credentials/{cred}")
        assert code == 404 and cred in body["message"]


async def test_credential_errors_name_the_field(api: Any) -> None:
    code, _, body = await api("POST", "eflows/api/credentials", {"kind": "ed25519"})
    assert code == 400 and "name" in body["errors"]
    code, _, body = await api("POST", "eflows/api/credentials", {"name": "k", "kind": "dsa"})
    assert code == 400 and "kind" in body["errors"]
    code, _, body = await api("POST", "eflows/api/credentials", {"name": "k", "bits": 2048})
    assert code == 400 and "bits" in body["message"]  # the vault: ed25519 has no size
    code, _, body = await api("POST", "eflows/api/credentials", {"name": "a\nb"})
    assert code == 400 and "name" in body["message"]


async def test_imported_private_keys_are_never_echoed(api: Any,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = _private_key_text()
    protected = _private_key_text(b"s3cret")
    seen: list[str] = []

    async def call(body: Any = None, raw: str | None = None) -> tuple[int, Any]:
        code, _, reply = await api("POST", "eflows/api/credentials/import", body, raw=raw)
        seen.append(str(reply))
        return code, reply

    code, reply = await call({"name": "mine", "private_key": key})
    assert code == 201 and reply["public_key"].startswith("ssh-ed25519 ")
    code, reply = await call({"name": "locked", "private_key": protected,
                              "passphrase": "s3cret"})
    assert code == 201
    code, reply = await call({"name": "locked", "private_key": protected,
                              "passphrase": "wrong"})
    assert code == 400
    code, reply = await call({"name": "locked", "private_key": protected})
    assert code == 400
    broken = key.replace(key.splitlines()[2], "A" * 20)
    code, reply = await call({"name": "broken", "private_key": broken})
    assert code == 400
    code, reply = await call({"name": "junk", "private_key": "not a key"})
    assert code == 400 and "private key" in reply["message"]
    code, reply = await call({"private_key": key})  # missing name
    assert code == 400 and "name" in reply["errors"]
    code, reply = await call({"name": "x", "private_key": key, "extra": key})
    assert code == 400 and "extra" in reply["errors"]
    code, reply = await call({"name": 5, "private_key": key, "passphrase": 7})
    assert code == 400 and {"name", "passphrase"} <= set(reply["errors"])
    code, reply = await call(raw='{"name": "x", "private_key": "' + key[:60])  # bad JSON
    assert code == 400
    code, _, listing = await api("GET", "eflows/api/credentials")
    seen.append(str(listing))
    assert len(listing["items"]) == 2
    for text in seen:
        assert "PRIVATE KEY" not in text and "s3cret" not in text
    assert "PRIVATE KEY" not in caplog.text


# ---- executions --------------------------------------------------------------------------

async def test_execution_failures(api: Any, tmp_path: Path) -> None:
    code, _, body = await api("POST", "eflows/api/workflows/nope/executions", {"inputs": {}})
    assert code == 404
    _, _, wf = await api("POST", "eflows/api/workflows",
                         hello_spec(tmp_path, inputs={"n": {"type": "integer"}}))
    url = f"eflows/api/workflows/{wf['id']}/executions"
    code, _, body = await api("POST", url, {"inputs": {"n": "many"}})
    assert code == 400 and "inputs.n" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": {"n": 1, "zz": 2}})
    assert code == 400 and "inputs.zz" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": []})
    assert code == 400 and "inputs" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": {"n": 1}, "site": "marenostrum"})
    assert code == 400 and "site" in body["errors"]
    code, _, body = await api("POST", url, {"inputs": {"n": 1}, "credential_id": "x" * 22})
    assert code == 400 and "credential_id" in body["errors"]
    code, _, body = await api("POST", url, raw="nope")
    assert code == 400
    code, _, body = await api("GET", "eflows/api/executions", params={"state": "sleeping"})
    assert code == 400 and "sleeping" in body["message"]
    code, _, body = await api("GET", "eflows/api/executions", params={"limit": 0})
    assert code == 400 and "limit" in body["errors"]
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/logs"), ("GET", "/events"),
                         ("GET", "/events/stream")):
        code, _, body = await api(method, f"eflows/api/executions/nope{path}")
        assert code == 404, (method, path)
    code, _, body = await api("GET", "eflows/api/executions/nope/logs",
                              params={"offset": "x"})
    assert code == 400 and "offset" in body["errors"]
    code, _, page = await api("GET", "eflows/api/executions")
    assert page["total"] == 0  # nothing was left behind by the refused requests


async def test_run_a_workflow_locally(api: Any, jp_base_url: str, tmp_path: Path) -> None:
    _, _, cred = await api("POST", "eflows/api/credentials", {"name": "k"})
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    code, headers, body = await api("POST", f"eflows/api/workflows/{wf['id']}/executions",
                                    {"inputs": {}, "site": "local",
                                     "credential_id": cred["id"]})
    assert code == 201, body
    ex = body["id"]
    assert headers["Location"] == f"{jp_base_url}eflows/api/executions/{ex}"
    assert body["credential_id"] == cred["id"] and body["site"] == "local"
    final = await wait_finished(api, ex)
    assert final["state"] == "done", final
    assert final["status"] == "SUCCESS"
    code, _, logs = await api("GET", f"eflows/api/executions/{ex}/logs")
    assert code == 200 and "hello from eflows" in logs["text"]
    code, _, part = await api("GET", f"eflows/api/executions/{ex}/logs",
                              params={"offset": 2, "size": 3})
    assert part["text"] == logs["text"][2:5] and part["next_offset"] == 5
    code, _, events = await api("GET", f"eflows/api/executions/{ex}/events")
    assert code == 200 and isinstance(events, list) and events
    code, _, listing = await api("GET", "eflows/api/executions",
                                 params={"workflow_id": wf["id"], "state": "done"})
    assert [e["id"] for e in listing["items"]] == [ex]
    code, _, listing = await api("GET", "eflows/api/executions", params={"state": "failed"})
    assert listing["items"] == []
    code, _, body = await api("DELETE", f"eflows/api/executions/{ex}")
    assert code == 409 and "already done" in body["message"]
    code, _, body = await api("DELETE", f"eflows/api/workflows/{wf['id']}")
    assert code == 409  # executions refer to it
    if True:  # the live stream replays the same events
        code, headers, stream = await api("GET", f"eflows/api/executions/{ex}/events/stream")
        assert code == 200 and headers["Content-Type"].startswith("text/event-stream")
        assert stream.count("data: ") == len(events)
        last = events[-1]["seq"]
        code, _, rest = await api("GET", f"eflows/api/executions/{ex}/events/stream",
                                  headers={"Last-Event-ID": str(last - 1)})
        assert rest.count("data: ") == 1 and f"id: {last}" in rest


async def test_cancel_a_running_execution(api: Any, tmp_path: Path) -> None:
    _, _, wf = await api("POST", "eflows/api/workflows",
                         hello_spec(tmp_path, "sleeper", "import time\ntime.sleep(120)"))
    _, _, body = await api("POST", f"eflows/api/workflows/{wf['id']}/executions", {})
    ex = body["id"]
    code, _, body = await api("DELETE", f"eflows/api/executions/{ex}")
    assert code == 202 and body["state"] in ("cancelling", "cancelled")
    final = await wait_finished(api, ex, timeout=60)
    assert final["state"] == "cancelled"


async def test_a_step_graph_over_rest_sites_by_environment_steps_and_their_logs(
        api: Any, tmp_path: Path) -> None:
    first = tmp_path / "first.py"
    first.write_text("open('made.txt', 'w').write('from first')\nprint('first ran')\n")
    second = tmp_path / "second.py"
    second.write_text("import sys\nprint('second read', open(sys.argv[1]).read())\n")
    spec = {"name": "two-steps",
            "inputs": [{"name": "nodes", "type": "string", "default": "1"}],
            "steps": [{"name": "first", "application": str(first), "environment": "Here",
                       "num_nodes": "${nodes}"},
                      {"name": "second", "application": str(second), "environment": "There",
                       "depends_on": ["first"], "arguments": ["${steps.first.dir}/made.txt"]}]}
    _, _, wf = await api("POST", "eflows/api/workflows", spec)
    url = f"eflows/api/workflows/{wf['id']}/executions"
    code, _, body = await api("POST", url, {"site": {"Here": "local"}})
    assert code == 400 and "environment 'There' is not bound" in body["errors"]["site"]
    code, _, body = await api("POST", url, {"site": {"Here": "local", "There": "local"},
                                            "inputs": {"nodes": "lots"}})
    assert code == 400 and "steps.first.num_nodes" in body["errors"], body
    code, _, body = await api("POST", url, {"site": {"Here": "local", "There": "local"}})
    assert code == 201, body
    assert body["step_sites"] == {"first": "local", "second": "local"}
    final = await wait_finished(api, body["id"])
    assert final["state"] == "done", final
    code, _, steps = await api("GET", f"eflows/api/executions/{body['id']}/steps")
    assert code == 200
    assert [(s["name"], s["state"], s["depends_on"]) for s in steps["items"]] == [
        ("first", "done", []), ("second", "done", ["first"])]
    assert all(s["execution_id"] and s["job_id"] for s in steps["items"])
    code, _, logs = await api("GET", f"eflows/api/executions/{body['id']}/logs",
                              params={"step": "second"})
    assert code == 200 and "second read from first" in logs["text"]
    code, _, logs = await api("GET", f"eflows/api/executions/{body['id']}/logs")
    assert logs["text"].index("==> step first") < logs["text"].index("==> step second")
    code, _, events = await api("GET", f"eflows/api/executions/{body['id']}/events")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["step"] for e in events if e["type"] == "step"} == {"first", "second"}
    code, _, listing = await api("GET", "eflows/api/executions")
    assert [e["id"] for e in listing["items"]] == [body["id"]]  # steps are not listed


async def test_the_listing_shows_every_site_of_a_graph_and_filters_on_any(
        api: Any, jp_serverapp: Any) -> None:
    """A graph's ``site`` is its first step's: listed by site, a graph on two sites was
    found on that one only, and its record named no other."""
    _, _, wf = await api("POST", "eflows/api/workflows", {"name": "w", "steps": [
        {"name": "s", "application": "/bin/true"}]})
    store = jp_serverapp.web_app.settings["eflows"].execution_store
    graph = store.create(wf["id"], {}, "front", step_sites={"make": "front",
                                                            "read": "back"})
    plain = store.create(wf["id"], {}, "front")
    for site, ids in (("front", [plain.id, graph.id]), ("back", [graph.id]), ("x", [])):
        code, _, page = await api("GET", "eflows/api/executions", params={"site": site})
        assert code == 200 and [e["id"] for e in page["items"]] == ids, (site, page)
        assert page["total"] == len(ids)
    code, _, page = await api("GET", "eflows/api/executions")
    sites = {e["id"]: (e["site"], e["sites"]) for e in page["items"]}
    assert sites == {graph.id: ("front", ["front", "back"]), plain.id: ("front", ["front"])}
    code, _, one = await api("GET", f"eflows/api/executions/{graph.id}")
    assert code == 200 and one["sites"] == ["front", "back"]
