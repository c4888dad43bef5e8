"""The centre's published catalogue through a real Jupyter server, as two hub users see it.

JupyterHub's single-user extension gives each request a ``JupyterHubUser`` whose
``hub_user`` is the hub's user model (name, groups). Here an identity provider does the
same from the test token plus a header naming the hub user, as jupyter_server's own
tests swap identity providers: Alice is in the granted group ``climate``, Bob in
``physics`` only.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from tests.server.specs import FIXTURES, hello_spec

HUB_USERS = {"alice": {"name": "alice", "groups": ["climate"]},
             "bob": {"name": "bob", "groups": ["physics"]}}
CLASSIC, PARALLEL = "minimal_workflow.classic", "minimal_workflow.parallel"


class HubUser(User):
    """What jupyterhub.singleuser.extension.JupyterHubUser is: a User with hub_user."""

    def __init__(self, hub_user: dict[str, Any]) -> None:
        self.hub_user = hub_user
        super().__init__(username=hub_user["name"])


class HubIdentity(IdentityProvider):
    """The test token authenticates; ``X-Test-Hub-User`` says which hub user it is."""

    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await super()._get_user(handler)
        name = handler.request.headers.get("X-Test-Hub-User")
        if user is None or name is None:
            return user
        return HubUser(HUB_USERS[name])


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest,
                     tmp_path: Path) -> dict[str, Any]:
    paths = [str(FIXTURES / "workflow-registry" / "minimal_workflow")]
    if hasattr(request, "param"):  # the tests that run one: greet, for Alice's group
        paths.append(str(request.getfixturevalue("greet_catalogue")))
    jp_server_config["ServerApp"]["identity_provider_class"] = HubIdentity
    jp_server_config["EflowsExtensionApp"].update({
        "catalogue_paths": paths,
        "catalogue_access": {CLASSIC: {"groups": ["climate"]}, "greet": {"groups": ["climate"],
                                                                       "users": ["carol"]}},
        "local_user": "owner", "local_groups": ["climate"]})
    return jp_server_config


def as_user(api: Any, name: str) -> Any:
    async def call(method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return await api(method, path, body, headers={"X-Test-Hub-User": name}, **kwargs)
    return call


def waas_error(body: Any, status: int, error_id: str) -> str:
    """The one error of a body as waas reads it (api/errors.go); its detail."""
    assert set(body) == {"errors"} and len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert (error["id"], error["status"]) == (error_id, status), error
    assert error["title"] and error["detail"]
    return str(error["detail"])


async def test_each_hub_user_lists_what_is_granted(api: Any) -> None:
    alice, bob = as_user(api, "alice"), as_user(api, "bob")
    code, _, body = await alice("GET", "eflows/api/workflows")
    assert code == 200 and [w["name"] for w in body["items"]] == [CLASSIC, PARALLEL]
    assert all(w["published"] and w["read_only"] for w in body["items"])
    assert body["total"] == 2
    code, _, body = await bob("GET", "eflows/api/workflows")
    assert [w["name"] for w in body["items"]] == [PARALLEL] and body["total"] == 1
    # HPCWaaS GET /workflows: exactly what the caller may trigger
    code, _, body = await alice("GET", "eflows/hpcwaas/workflows")
    assert code == 200 and [w["name"] for w in body["workflows"]] == [CLASSIC, PARALLEL]
    code, _, body = await bob("GET", "eflows/hpcwaas/workflows")
    assert [w["name"] for w in body["workflows"]] == [PARALLEL]
    # no hub identity with the request: the configured local identity (in climate)
    code, _, body = await api("GET", "eflows/hpcwaas/workflows")
    assert [w["name"] for w in body["workflows"]] == [CLASSIC, PARALLEL]


async def test_a_workflow_not_granted_is_404_on_every_route(api: Any) -> None:
    alice, bob = as_user(api, "alice"), as_user(api, "bob")
    _, _, listing = await alice("GET", "eflows/api/workflows")
    hidden = next(w["id"] for w in listing["items"] if w["name"] == CLASSIC)
    code, _, body = await alice("GET", f"eflows/api/workflows/{hidden}")
    assert code == 200 and body["published"] is True and body["name"] == CLASSIC
    for method, path, payload in (
            ("GET", f"eflows/api/workflows/{hidden}", None),
            ("DELETE", f"eflows/api/workflows/{hidden}", None),
            ("POST", f"eflows/api/workflows/{hidden}/executions", {"inputs": {}}),
            ("POST", f"eflows/hpcwaas/workflows/{hidden}", {"inputs": {}}),
            ("POST", f"eflows/hpcwaas/workflows/{CLASSIC}", {"inputs": {}})):
        code, _, body = await bob(method, path, payload)
        assert code == 404, (method, path, body)
        if "hpcwaas" in path:
            assert waas_error(body, 404, "not_found").startswith("no workflow with id")
        else:
            assert body["message"].startswith("no workflow with id"), body
    # and what Bob gets is what any unknown id gets
    code, _, unknown = await bob("GET", "eflows/api/workflows/published-000000000000000000000000")
    code, _, denied = await bob("GET", f"eflows/api/workflows/{hidden}")
    assert denied["message"].replace(hidden, "X") == unknown["message"].replace(
        "published-000000000000000000000000", "X")


async def test_published_workflows_are_read_only(api: Any, tmp_path: Any) -> None:
    alice = as_user(api, "alice")
    _, _, listing = await alice("GET", "eflows/api/workflows")
    shared = listing["items"][0]
    code, _, body = await alice("DELETE", f"eflows/api/workflows/{shared['id']}")
    assert code == 403 and "only the operator" in body["message"], body
    code, _, body = await alice("POST", "eflows/api/workflows",
                                hello_spec(tmp_path, name=CLASSIC))
    assert code == 409 and "published in the centre's catalogue" in body["message"]
    code, _, body = await alice("POST", "eflows/api/workflows", hello_spec(tmp_path))
    assert code == 201
    _, _, listing = await alice("GET", "eflows/api/workflows")
    assert [(w["name"], w["published"]) for w in listing["items"]] == [
        (CLASSIC, True), (PARALLEL, True), ("hello", False)]


TOPOLOGY = """tosca_definitions_version: alien_dsl_3_0_0
metadata:
  template_name: greet
  template_version: 1.0.0
description: "Says hello: a published workflow"
topology_template:
  node_templates:
    HelloJob:
      type: org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob
      properties:
        application:
          command: /src/greet.py
"""


@pytest.fixture
def greet_catalogue(tmp_path: Path) -> Path:
    """A second catalogue folder: one registry-layout workflow whose step runs here."""
    tosca = tmp_path / "catalogue" / "greet" / "tosca"
    (tosca / "src").mkdir(parents=True)
    (tosca / "topology.yml").write_text(TOPOLOGY)
    (tosca / "src" / "greet.py").write_text("print('hello from the catalogue')\n")
    return tmp_path / "catalogue"


async def wait_done(call: Any, execution_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, _, body = await call("GET", f"eflows/hpcwaas/executions/{execution_id}")
        if body["status"] not in ("RUNNING", "CANCELLING") or time.monotonic() > deadline:
            return dict(body)
        await asyncio.sleep(0.3)


@pytest.mark.parametrize("jp_server_config", [None], indirect=True)
async def test_triggering_a_granted_published_workflow(api: Any) -> None:
    """Exactly as waas sends it: POST /workflows/<id> {"inputs": {}}, then the status and
    the logs with the query waas builds (url.Values.Encode(): keys sorted)."""
    alice, bob = as_user(api, "alice"), as_user(api, "bob")
    _, _, listing = await alice("GET", "eflows/hpcwaas/workflows")
    greet = next(w for w in listing["workflows"] if w["name"] == "greet")
    code, _, body = await bob("POST", f"eflows/hpcwaas/workflows/{greet['id']}",
                              {"inputs": {}})
    assert code == 404 and waas_error(body, 404, "not_found")
    code, headers, body = await alice("POST", f"eflows/hpcwaas/workflows/{greet['id']}",
                                      {"inputs": {}})
    assert code == 201, body
    execution = headers["Location"].rsplit("/", 1)[-1]  # path.Base(Location)
    assert (await wait_done(alice, execution))["status"] == "SUCCESS"
    code, _, logs = await alice(  # from=0&levels=15&size=-1&timeout=1m0s, in that order
        "GET", f"eflows/hpcwaas/executions/{execution}/logs",
        params={"from": "0", "levels": "15", "size": "-1", "timeout": "1m0s"})
    assert code == 200 and any("hello from the catalogue" in e["content"]
                               for e in logs["logs"]), logs
    # the run's record names the published workflow; the listing still shows it published
    _, _, native = await alice("GET", f"eflows/api/executions/{execution}")
    assert native["workflow_id"] == greet["id"]
    _, _, own = await alice("GET", "eflows/api/workflows")
    assert [w["published"] for w in own["items"]] == [True, True, True]


async def test_error_bodies_waas_reads_and_ours_unchanged(api: Any, jp_serverapp: Any) -> None:
    code, _, body = await api("GET", "eflows/hpcwaas/executions/nope")
    assert code == 404 and "nope" in waas_error(body, 404, "not_found")
    code, _, body = await api("GET", "eflows/hpcwaas/executions/nope/logs",
                              params={"timeout": "soon"})
    assert code == 400 and body["errors"][0]["source"] == {"parameter": "timeout"}
    assert waas_error(body, 400, "bad_request").startswith("timeout: ")
    code, _, body = await api("GET", "eflows/hpcwaas/workflows",
                              headers={"Authorization": "Bearer not-the-token"})
    assert code == 403 and waas_error(body, 403, "forbidden")
    # the native API keeps its own shape: a message, and errors by field
    code, _, body = await api("GET", "eflows/api/executions/nope")
    assert code == 404 and body["message"].startswith("no execution"), body
    code, _, body = await api("GET", "eflows/api/executions", params={"limit": "x"})
    assert code == 400 and set(body["errors"]) == {"limit"} and "message" in body
