"""JupyterHub at a centre, end to end: batchspawner starts each user's server as a Slurm job
on the test cluster, with the extension in it, configured by docs/centre/.

One hub for the session (tests/plugins/hub.py); the tests of this module run in order on
it (two users in two groups log in and start servers, then one stops, then a workflow of
the other outlives the idle culler). The node has 2 CPUs: one per server, or one server
and one workflow job.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from eflows_kernel.client import EflowsClient
from tests.deploy.stack import sleep_spec
from tests.plugins.hub import HUB_GROUPS, Hub, HubUser, server_job

REPO = Path(__file__).resolve().parents[2]
ALICE, BOB = "eflows-alice", "eflows-bob"
CLASSIC, PARALLEL = "minimal_workflow.classic", "minimal_workflow.parallel"  # published
TERMINAL = {"done", "failed", "cancelled"}
START_TIMES: dict[str, float] = {}


def client_of(user: HubUser) -> EflowsClient:
    """Our REST client on the user's server through the hub: /user/<name>/, the hub token."""
    return EflowsClient(user.server_url, user.token, timeout=60)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def run_in_kernel(user: HubUser, code: str, timeout: float = 60) -> str:
    """Run code in a new kernel of the user's server (through the proxy); its stdout."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    kernel = user.server("POST", "api/kernels", json={"name": "python3"})
    assert kernel.status_code == 201, kernel.text
    kernel_id = kernel.json()["id"]

    async def execute() -> str:
        url = (user.server_url.replace("http://", "ws://")
               + f"api/kernels/{kernel_id}/channels")
        conn = await websocket_connect(HTTPRequest(
            url, headers={"Authorization": f"token {user.token}"}))
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "",
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False}}))
        out: list[str] = []
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
            assert raw is not None, "the kernel's websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                out.append("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                conn.close()
                return "".join(out)

    try:
        return asyncio.run(execute())
    finally:
        user.server("DELETE", f"api/kernels/{kernel_id}")


@pytest.fixture(scope="module")
def users(hub: Hub) -> dict[str, HubUser]:
    return {name: hub.login(name) for name in (ALICE, BOB)}


def test_a_wrong_password_is_refused(hub: Hub) -> None:
    import requests

    session = requests.Session()
    session.get(f"{hub.url}hub/login", timeout=30)
    response = session.post(f"{hub.url}hub/login", timeout=30, allow_redirects=False,
                            data={"username": ALICE, "password": "not-the-password",
                                  "_xsrf": session.cookies.get("_xsrf", path="/hub/")})
    assert response.status_code == 403


def test_each_users_server_is_a_slurm_job_of_theirs(hub: Hub,
                                                    users: dict[str, HubUser]) -> None:
    for name, user in users.items():
        START_TIMES[name] = user.start()
        job = server_job(name)
        assert job is not None, f"no Slurm job for {name}'s server"
        assert (job["state"], job["user"], job["cpus"]) == ("RUNNING", name, "1"), job
        model = user.api("GET", f"users/{name}").json()
        assert model["groups"] == [HUB_GROUPS[name]]
    print("\nserver start as a Slurm job (s):", START_TIMES, file=sys.stderr)
    for user in users.values():
        client = client_of(user)
        assert client.status()["version"]
        sites = {s.name: s for s in client.sites.list()}
        assert sites["cluster"].config.connection == "local"  # the centre's, read-only
        assert sites["cluster"].operator
        lab = user.server("GET", "lab")
        assert lab.status_code == 200, lab.status_code


def test_the_portal_renders_through_the_hub(users: dict[str, HubUser]) -> None:
    alice = users[ALICE]
    notebook = json.loads((REPO / "notebooks" / "portal.ipynb").read_text())
    put = alice.server("PUT", "api/contents/eflows-portal.ipynb",
                       json={"type": "notebook", "format": "json", "content": notebook})
    assert put.status_code in (200, 201), put.text
    page = alice.server("GET", "voila/render/eflows-portal.ipynb")
    assert page.status_code == 200, page.text[:500]
    assert "application/vnd.jupyter.widget-view+json" in page.text


def test_a_kernel_finds_its_server_through_jupyterhubs_environment(
        users: dict[str, HubUser]) -> None:
    code = (
        "import os\n"
        "from eflows_kernel.client import connect, resolve\n"
        "print('OURS', connect(local=False).status()['version'] != '')\n"
        "os.environ.pop('EFLOWS_URL'); os.environ.pop('EFLOWS_TOKEN')\n"
        "s = resolve()\n"
        "print('FROM', s.url_source, s.token_source)\n"
        "print('SITES', sorted(x.name for x in connect(local=False).sites.list()))\n"
    )
    out = run_in_kernel(users[ALICE], code)
    assert "OURS True" in out, out
    assert "FROM $JUPYTERHUB_SERVICE_URL $JUPYTERHUB_API_TOKEN" in out, out
    assert "'cluster'" in out.split("SITES", 1)[1], out


def test_users_never_see_each_others_things(users: dict[str, HubUser]) -> None:
    alice, bob = client_of(users[ALICE]), client_of(users[BOB])
    key = alice.credentials.generate("alice-key")
    site = alice.sites.add({"name": "alice-site", "host": "127.0.0.1", "port": 2222,
                            "login": "eflows", "scheduler": "slurm"})
    spec = {**sleep_spec(), "name": "alice-sleeper"}
    spec["steps"][0]["options"] = {"workers": 1}  # one core: it fits the node once a server ends
    workflow = alice.workflows.register_spec(spec)
    assert key.id not in {c.id for c in bob.credentials.list()}
    assert "alice-site" not in {s.name for s in bob.sites.list()}
    assert workflow.id not in {w["id"] for w in bob.workflows.list().items}
    for path in (f"eflows/api/credentials/{key.id}", f"eflows/api/sites/{site.id}",
                 f"eflows/api/workflows/{workflow.id}"):
        assert users[BOB].server("GET", path).status_code == 404, path
    # A run of Alice's on the cluster (it waits in the queue: the servers hold both CPUs).
    execution = alice.executions.trigger(workflow.id, {"n": 1, "seconds": 1.0},
                                         site="cluster")
    try:
        assert execution.id not in {e.id for e in bob.executions.list(limit=200).items}
        assert users[BOB].server(
            "GET", f"eflows/api/executions/{execution.id}").status_code == 404
        assert execution.id in {e.id for e in alice.executions.list(limit=200).items}
    finally:
        if alice.executions.get(execution.id).state.value not in TERMINAL:
            alice.executions.cancel(execution.id)
    wait_for(lambda: alice.executions.get(execution.id).state.value in TERMINAL, 60,
             "Alice's queued run to be cancelled")
    # Alice's token does not open Bob's server, nor the other way round.
    for path in ("eflows/api/credentials", "eflows/api/executions", "eflows/api/sites"):
        response = users[BOB].server("GET", path, token=users[ALICE].token)
        assert response.status_code in (401, 403), (path, response.status_code)
        response = users[ALICE].server("GET", path, token=users[BOB].token)
        assert response.status_code in (401, 403), (path, response.status_code)


def test_the_catalogue_is_granted_by_hub_group(users: dict[str, HubUser]) -> None:
    """The centre publishes minimal_workflow to physics (tests/hub/jupyterhub_test_config.py):
    the hub's groups reach each server's identity, which lists and hides by them."""
    alice, bob = client_of(users[ALICE]), client_of(users[BOB])
    published = {w["name"]: w for w in alice.workflows.list().items if w["published"]}
    assert sorted(published) == [CLASSIC, PARALLEL], published
    assert all(w["read_only"] for w in published.values())
    waas = users[ALICE].server("GET", "eflows/hpcwaas/workflows")
    assert waas.status_code == 200, waas.text
    assert {CLASSIC, PARALLEL} <= {w["name"] for w in waas.json()["workflows"]}
    # the waas binary's own login, HTTP Basic: waas -u alice:<her hub token>
    listed = waas.json()
    for name, status in ((ALICE, 200), ("", 200), (BOB, 403)):
        basic = requests.get(users[ALICE].server_url + "eflows/hpcwaas/workflows",
                             auth=(name, users[ALICE].token), timeout=60)
        assert basic.status_code == status, (name, basic.status_code, basic.text)
        assert status != 200 or basic.json() == listed

    assert not {CLASSIC, PARALLEL} & {w["name"] for w in bob.workflows.list().items}
    waas = users[BOB].server("GET", "eflows/hpcwaas/workflows")
    assert waas.status_code == 200, waas.text
    assert not {CLASSIC, PARALLEL} & {w["name"] for w in waas.json()["workflows"]}
    hidden = published[CLASSIC]["id"]
    assert users[BOB].server("GET", f"eflows/api/workflows/{hidden}").status_code == 404
    for name_or_id in (hidden, CLASSIC):
        response = users[BOB].server("POST", f"eflows/hpcwaas/workflows/{name_or_id}",
                                     json={"inputs": {}})
        assert response.status_code == 404, (name_or_id, response.status_code, response.text)


def test_stopping_the_server_ends_its_job(users: dict[str, HubUser]) -> None:
    bob = users[BOB]
    assert server_job(BOB) is not None
    bob.stop()
    wait_for(lambda: server_job(BOB) is None or server_job(BOB)["state"] != "RUNNING",
             60, "Bob's server job to end")


def test_a_workflow_outlives_the_idle_culler_and_is_re_attached(hub: Hub,
                                                                users: dict[str, HubUser]) -> None:
    alice = users[ALICE]
    client = client_of(alice)
    spec = sleep_spec()
    spec["steps"][0]["options"] = {"workers": 1}  # one core: the server's job holds the other
    workflow = client.workflows.register_spec(spec)
    execution = client.executions.trigger(workflow.id, {"n": 1, "seconds": 30.0},
                                          site="cluster")
    wait_for(lambda: client.executions.get(execution.id).state.value == "running", 180,
             "the workflow to run on the cluster")
    running = client.executions.get(execution.id)
    assert running.remote_job_id and running.remote_job_id.isdigit()
    server_job_id = server_job(ALICE)["id"]  # type: ignore[index]

    # The hub's idle culler (its role: tests/hub/jupyterhub_test_config.py), made impatient.
    culler = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub_idle_culler", f"--url={hub.api_url}",
         "--timeout=1", "--cull-every=1"],
        env={"JUPYTERHUB_API_TOKEN": hub.culler_token, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        alice.wait_stopped(120)
    finally:
        culler.terminate()
        culler.wait(10)
    wait_for(lambda: server_job(ALICE) is None, 60, "the culled server's job to end")
    workflow_job = subprocess.run(["squeue", "-h", "-j", running.remote_job_id, "-o", "%T"],
                                  capture_output=True, text=True).stdout.strip()
    assert workflow_job == "RUNNING", workflow_job  # the workflow goes on without its server

    alice.start()
    assert server_job(ALICE)["id"] != server_job_id  # type: ignore[index]
    client = client_of(alice)
    done = client.executions.wait(execution.id, timeout=180)
    assert done.state.value == "done", done.error
    events = client.executions.events(execution.id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    alice.stop()
    wait_for(lambda: server_job(ALICE) is None, 60, "Alice's server job to end")
