"""``EflowsClient`` against a real Jupyter server: every method, and error mapping."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.client import ClientError, EflowsClient, LocalClient, connect, split_url
from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from tests.client.helpers import INCREMENT_CHAIN, MINIMAL, Server, call

SPEC = {"name": "spec-wf", "version": "1.0", "inputs": {"n": {"type": "integer"}},
        "steps": [{"name": "s", "application": "a.py", "arguments": ["${n}"]}]}


async def test_workflow_round_trips(client: EflowsClient) -> None:
    registered = await call(client.workflows.register_spec, SPEC)
    assert registered.name == "spec-wf" and registered.workflow.inputs[0].type == "integer"
    assert (await call(client.workflows.get, registered.id)) == registered
    page = await call(client.workflows.list)
    assert page.total == 1 and page.items[0]["id"] == registered.id
    assert (await call(client.workflows.list, name="other")).total == 0
    report = await call(client.workflows.import_folder, str(MINIMAL))
    names = sorted(w["name"] for w in report["registered"])
    assert names == ["minimal_workflow.classic", "minimal_workflow.parallel"]
    classic = next(w for w in report["registered"] if w["name"].endswith("classic"))
    shown = await call(client.workflows.get, classic["id"])
    assert {"num_nodes", "vault_id", "user_id"} <= {i.name for i in shown.workflow.inputs}
    from_file = await call(client.workflows.register_python_file, str(INCREMENT_CHAIN),
                           inputs=[{"name": "length", "type": "integer"}])
    assert from_file.workflow.steps[0].arguments == ["${length}"]
    await call(client.workflows.delete, registered.id)
    with pytest.raises(NotFoundError, match=registered.id):
        await call(client.workflows.get, registered.id)


async def test_errors_are_the_service_classes(client: EflowsClient) -> None:
    await call(client.workflows.register_spec, SPEC)
    with pytest.raises(ConflictError, match="already registered") as conflict:
        await call(client.workflows.register_spec, SPEC)
    assert conflict.value.details["id"]
    with pytest.raises(ValidationError) as invalid:
        await call(client.workflows.register_spec, {"name": "w", "inputs": 5})
    assert "inputs" in invalid.value.details["errors"]
    with pytest.raises(ValidationError) as invalid:
        await call(client.credentials.generate, "k", "dsa")
    assert "kind" in invalid.value.details["errors"]
    with pytest.raises(NotFoundError, match="nope"):
        await call(client.executions.get, "nope")
    with pytest.raises(NotFoundError):
        await call(client.credentials.delete, "nope")


async def test_a_wrong_token_and_no_server_are_client_errors(server: Server) -> None:
    bad = EflowsClient(server.url, "wrong-token")
    with pytest.raises(ClientError, match="token was refused") as refused:
        await call(bad.workflows.list)
    assert refused.value.status == 403 and server.url in str(refused.value)
    gone = EflowsClient("http://127.0.0.1:9/", "t", timeout=5)
    with pytest.raises(ClientError, match=r"cannot reach .*127\.0\.0\.1:9/"):
        await call(gone.workflows.list)


async def test_credential_round_trips(client: EflowsClient) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    info = await call(client.credentials.generate, "cluster")
    assert info.public_key.startswith("ssh-ed25519 ") and info.fingerprint.startswith("SHA256:")
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()
    imported = await call(client.credentials.import_key, "mine", pem, comment="me@here")
    assert imported.comment == "me@here"
    assert {c.id for c in await call(client.credentials.list)} == {info.id, imported.id}
    assert (await call(client.credentials.get, info.id)) == info
    await call(client.credentials.delete, info.id)
    assert [c.id for c in await call(client.credentials.list)] == [imported.id]


@pytest.mark.slow
async def test_execution_round_trips(client: EflowsClient) -> None:
    wf = await call(client.workflows.register_python_file, str(INCREMENT_CHAIN),
                    inputs=[{"name": "length", "type": "integer"}])
    with pytest.raises(ValidationError) as invalid:
        await call(client.executions.trigger, wf.id, {"length": "many"})
    assert "inputs.length" in invalid.value.details["errors"]
    execution = await call(client.executions.trigger, wf.id, {"length": "4"})
    assert execution.inputs == {"length": 4} and execution.site == "local"
    events = [e async for e in _aiter(client.executions.follow, execution.id)]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free, no repeats
    tasks = [e for e in events if e["type"] == "task"]
    assert {e["name"] for e in tasks if e.get("name")} == {"increment", "read"}
    done = await call(client.executions.get, execution.id)
    assert done.state.value == "done", done.error
    text, offset = await call(client.executions.logs, execution.id)
    assert "RESULT" in text and offset == len(text.encode())
    tail, _ = await call(client.executions.logs, execution.id, offset)
    assert tail == ""
    assert (await call(client.executions.events, execution.id, seqs[-2]))[0]["seq"] == seqs[-1]
    page = await call(client.executions.list, workflow_id=wf.id)
    assert [e.id for e in page.items] == [execution.id]
    assert (await call(client.executions.list, state="running")).total == 0
    with pytest.raises(ConflictError, match="already done"):
        await call(client.executions.cancel, execution.id)
    slow = await call(client.executions.trigger, wf.id, {"length": "4"})
    cancelled = await call(client.executions.cancel, slow.id)
    assert cancelled.state.value in ("cancelling", "cancelled", "done")
    final = await call(client.executions.wait, slow.id, 60)
    assert final.finished


async def _aiter(function: Any, *args: Any) -> Any:
    """Drain a blocking generator in a thread, then yield its items."""
    for item in await call(lambda: list(function(*args))):
        yield item


async def test_the_server_advertises_itself_to_kernels(server: Server, jp_fetch: Any) -> None:
    # Kernels inherit the server's environment: the variables are in its process.
    advertised = split_url(os.environ["EFLOWS_URL"])[0]
    assert advertised.split(":")[-1] == server.url.split(":")[-1]  # same port and base URL
    assert os.environ["EFLOWS_TOKEN"] == server.token
    response = await jp_fetch("api", "kernels", method="POST", body="{}")
    assert response.code == 201
    found = connect()
    assert isinstance(found, EflowsClient)
    assert (await call(found.status))["version"]


def test_connect_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EFLOWS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("EFLOWS_STATE_URL", f"sqlite:///{tmp_path / 's.sqlite'}")
    local = connect()
    assert isinstance(local, LocalClient)
    local.close()
    monkeypatch.setenv("EFLOWS_URL", "http://kernel-host:8888/user/a/")
    monkeypatch.setenv("EFLOWS_TOKEN", "from-env")
    remote = connect()
    assert isinstance(remote, EflowsClient) and remote.url == "http://kernel-host:8888/user/a/"
    assert remote._http.token == "from-env"
    explicit = connect("http://other:1/lab?token=t")
    assert explicit.url == "http://other:1/" and explicit._http.token == "from-env"
    assert isinstance(connect(local=True, state_url=f"sqlite:///{tmp_path / 'x'}"), LocalClient)


def test_split_url_keeps_the_base_and_the_token() -> None:
    assert split_url("http://h:8888/lab/tree/x.ipynb?token=abc") == ("http://h:8888/", "abc")
    assert split_url("https://hub/user/lab/lab") == ("https://hub/user/lab/", None)
    assert split_url("http://h:1/base") == ("http://h:1/base/", None)
    with pytest.raises(ClientError):
        split_url("ftp://h/")


def test_local_client_has_the_same_interface(tmp_path: Path) -> None:
    with LocalClient(f"sqlite:///{tmp_path / 'state.sqlite'}", tmp_path / "vault.key",
                     tmp_path / "runs", workers=1) as local:
        wf = local.workflows.register_spec(SPEC)
        assert local.workflows.list().items[0]["id"] == wf.id
        with pytest.raises(ConflictError):
            local.workflows.register_spec(SPEC)
        key = local.credentials.generate("k")
        assert local.credentials.get(key.id) == key
        with pytest.raises(NotFoundError):
            local.credentials.get("nope-nope-nope-nope-x")
        with pytest.raises(ValidationError):
            local.credentials.generate("k", "dsa")
        with pytest.raises(NotFoundError):
            local.executions.trigger("nope", {})
        with pytest.raises(ValidationError) as invalid:
            local.executions.trigger(wf.id, {"n": "x"})
        assert "n" in invalid.value.details["fields"]
        report = local.workflows.import_folder(str(MINIMAL))
        assert len(report["registered"]) == 2
        for part in ("workflows", "credentials", "executions"):
            remote_methods = {m for m in dir(getattr(EflowsClient("http://h/"), part))
                              if not m.startswith("_")}
            local_methods = {m for m in dir(getattr(local, part)) if not m.startswith("_")}
            assert remote_methods - {"poll_interval"} <= local_methods, part
