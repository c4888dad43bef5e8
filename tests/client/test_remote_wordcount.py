"""Word count on the real cluster, driven through the REST API and through the CLI.

The server is a real Jupyter server with the extension; the site is the test sshd with
Slurm. The texts are a local folder staged in; counts.json comes back staged out.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.client import EflowsClient
from tests.client.helpers import Server, call
from tests.deploy.stack import (
    EXPECTED_COUNTS,
    seqs_are_gap_free,
    sleep_spec,
    wordcount_spec,
)
from tests.plugins.cluster import SshdInfo


@pytest.fixture
def texts(tmp_path: Path) -> Path:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("the quick brown fox\njumps over the lazy dog\n")
    (folder / "b.txt").write_text("The dog sleeps. The fox runs!\n")
    return folder


def _site_ready(client: EflowsClient, account: SshdInfo) -> str:
    """A trusted site and an authorized credential, as a user sets them up once."""
    client.sites.add({"name": "cluster", "host": account.host, "port": account.port,
                      "login": account.login, "scheduler": "slurm",
                      "python": {"path": "/usr/bin/python3"}})
    client.sites.trust("cluster", client.sites.scan("cluster").fingerprint)
    credential = client.credentials.generate("wordcount").id
    client.sites.authorize("cluster", credential, password=account.password)
    return credential


def _rest_journey(client: EflowsClient, account: SshdInfo, texts: Path) -> None:
    credential = _site_ready(client, account)
    workflow = client.workflows.register_spec(wordcount_spec())
    execution = client.executions.trigger(workflow.id, {"texts": str(texts)}, site="cluster",
                                          credential_id=credential)
    events = list(client.executions.follow(execution.id))  # the live stream, to the end
    done = client.executions.wait(execution.id, timeout=300)
    assert done.state.value == "done", done.error
    assert json.loads(Path(done.outputs["counts"]["path"]).read_text()) == EXPECTED_COUNTS
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    all_events = client.executions.events(execution.id)
    seqs_are_gap_free(all_events)
    assert any(e["type"] == "stage" and e["stage"] == "submit" for e in all_events)
    text, _offset = client.executions.logs(execution.id)
    assert "RESULT" in text
    # the run's folder on the site, browsed over SFTP through the REST API (#17)
    on_site = {f["path"]: f for f in client.runs.site_files(execution.id)}
    assert "counts.json" in on_site and on_site["counts.json"]["bytes"] > 0, sorted(on_site)
    fetched = client.runs.site_download(execution.id, "counts.json", texts.parent)
    assert json.loads(fetched.read_text()) == EXPECTED_COUNTS


async def test_wordcount_through_the_rest_api(client: EflowsClient, clean_account: SshdInfo,
                                             slurm_cluster: str, texts: Path) -> None:
    await call(_rest_journey, client, clean_account, texts)


async def test_wordcount_through_the_cli(cli: Any, client: EflowsClient,
                                        clean_account: SshdInfo, slurm_cluster: str,
                                        texts: Path, tmp_path: Path) -> None:
    credential = await call(_site_ready, client, clean_account)
    spec = tmp_path / "wordcount.json"
    spec.write_text(json.dumps(wordcount_spec()))
    made = await cli("workflows", "register", str(spec))
    assert made.code == 0, made.err
    wf_id = made.out.strip().rsplit(": ", 1)[1]
    run = await cli("workflows", "trigger", wf_id, "-i", f"texts={texts}", "--site", "cluster",
                    "--credential", credential, "--follow", timeout=300)
    assert run.code == 0, run.out + run.err
    execution_id = run.out.splitlines()[0]
    assert "RESULT" in run.out
    status = await cli("executions", "status", execution_id)
    assert "state: done (SUCCESS)" in status.out, status.out
    done = await call(client.executions.get, execution_id)
    assert json.loads(Path(done.outputs["counts"]["path"]).read_text()) == EXPECTED_COUNTS


async def test_a_password_login_through_the_api_and_the_cli(
        cli: Any, client: EflowsClient, clean_account: SshdInfo, slurm_cluster: str,
        texts: Path, tmp_path: Path) -> None:
    """No key: the site's password opens the server's connection once (never stored)."""
    account = clean_account
    await call(client.sites.add, {"name": "cluster", "host": account.host,
                                  "port": account.port, "login": account.login,
                                  "scheduler": "slurm",
                                  "python": {"path": "/usr/bin/python3"}})
    await call(lambda: client.sites.trust("cluster", client.sites.scan("cluster").fingerprint))
    spec = tmp_path / "wordcount.json"
    spec.write_text(json.dumps(wordcount_spec()))
    wf_id = (await cli("workflows", "register", str(spec))).out.strip().rsplit(": ", 1)[1]
    run = await cli("workflows", "trigger", wf_id, "-i", f"texts={texts}", "--site",
                    "cluster", "--password-stdin", "--follow", stdin=account.password + "\n",
                    timeout=300)
    assert run.code == 0, run.out + run.err
    assert account.password not in run.out + run.err
    again = await call(client.executions.trigger, wf_id, {"texts": str(texts)},
                       site="cluster")  # the server's connection is still open
    done = await call(client.executions.wait, again.id, 300)
    assert done.state.value == "done", done.error
    assert json.loads(Path(done.outputs["counts"]["path"]).read_text()) == EXPECTED_COUNTS


def _hpcwaas(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{server.url}eflows/hpcwaas/{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _hpcwaas_cancel(server: Server, client: EflowsClient, account: SshdInfo) -> None:
    credential = _site_ready(client, account)
    workflow = client.workflows.register_spec(sleep_spec())
    code, made = _hpcwaas(server, "POST", f"workflows/{workflow.id}",
                          {"inputs": {"vault_id": credential}, "site": "cluster"})
    assert code == 201 and made["status"] == "RUNNING", made
    deadline = time.monotonic() + 180
    while client.executions.get(made["id"]).state.value != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    code, cancelling = _hpcwaas(server, "DELETE", f"executions/{made['id']}")
    assert code == 202 and cancelling["status"] == "CANCELLING", cancelling
    while True:
        code, body = _hpcwaas(server, "GET", f"executions/{made['id']}")
        if body["status"] != "CANCELLING" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert body["status"] == "CANCELLED", body


async def test_hpcwaas_cancel_of_a_remote_run(server: Server, client: EflowsClient,
                                             clean_account: SshdInfo,
                                             slurm_cluster: str) -> None:
    await call(_hpcwaas_cancel, server, client, clean_account)
