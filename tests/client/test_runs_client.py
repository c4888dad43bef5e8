"""A run's folder and removing runs through both clients and the CLI (a real server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eflows_kernel.client import EflowsClient, LocalClient
from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from tests.client.helpers import APPS, INCREMENT_CHAIN, call


def _run(client: Any) -> str:
    known = client.workflows.list(name="increment_chain").items
    wf_id = known[0]["id"] if known else client.workflows.register_python_file(
        str(INCREMENT_CHAIN), inputs=[{"name": "length", "type": "integer"}]).id
    execution = client.executions.trigger(wf_id, {"length": 2})
    final = client.executions.wait(execution.id, 120)
    assert final.state.value == "done", final.error
    return str(execution.id)


def _check_runs(client: Any, tmp_path: Path) -> None:
    run = _run(client)
    listing = client.runs.files(run)
    paths = [f["path"] for f in listing["items"]]
    assert "output.log" in paths and listing["outputs"] == {}
    assert "RESULT" in client.runs.preview(run, "output.log")["text"]
    written = client.runs.download(run, "output.log", tmp_path)
    assert written == tmp_path / "output.log" and "RESULT" in written.read_text()
    try:
        client.runs.preview(run, "../../state.sqlite")
    except ValidationError as exc:
        assert "leaves the run folder" in str(exc)
    else:
        raise AssertionError("a path out of the run folder was served")
    try:
        client.runs.site_files(run)
    except ValidationError as exc:
        assert "ran on this host" in str(exc)
    else:
        raise AssertionError("a local run was given a site folder")
    archive = client.runs.archive(run)
    assert archive.endswith(f"{run}.tar.gz") and Path(archive).is_file()
    try:
        client.executions.get(run)
    except NotFoundError:
        pass
    else:
        raise AssertionError("the archived run is still listed")
    other = _run(client)
    client.runs.delete(other)
    assert client.executions.list().total == 0


def test_local_client_runs(tmp_path: Path) -> None:
    client = LocalClient(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                         vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                         workers=1)
    try:
        _check_runs(client, tmp_path)
        assert (tmp_path / "archive").is_dir()  # beside runs/, as the default says
    finally:
        client.close(cancel_runs=True)


async def test_rest_client_runs(client: EflowsClient, tmp_path: Path) -> None:
    await call(_check_runs, client, tmp_path)


async def test_cli_files_delete_archive(cli: Any, client: EflowsClient, tmp_path: Path) -> None:
    run = await call(_run, client)
    files = await cli("executions", "files", run, "--json")
    assert files.code == 0, files.err
    assert "output.log" in [f["path"] for f in json.loads(files.out)["items"]]
    got = await cli("executions", "files", run, "--get", "output.log", "--to", str(tmp_path))
    assert got.code == 0 and "RESULT" in (tmp_path / "output.log").read_text()
    bad = await cli("executions", "files", run, "--get", "../x", "--to", str(tmp_path))
    assert bad.code == 1 and "leaves the run folder" in bad.err and "Traceback" not in bad.err
    archived = await cli("executions", "archive", run)
    assert archived.code == 0 and "archived to " in archived.out, archived.err
    again = await cli("executions", "delete", run)
    assert again.code == 1 and run in again.err
    other = await call(_run, client)
    deleted = await cli("executions", "delete", other)
    assert deleted.code == 0 and f"{other}: deleted" in deleted.out
    assert (await call(client.executions.list)).total == 0


def _unfinished_run_stays(client: EflowsClient, tmp_path: Path) -> None:
    script = tmp_path / "sleep.py"
    script.write_text("import time\ntime.sleep(120)\n")
    wf = client.workflows.register_spec({"name": "sleep", "steps": [
        {"name": "main", "application": str(script)}]})
    execution = client.executions.trigger(wf.id)
    try:
        client.runs.delete(execution.id)
    except ConflictError as exc:
        assert "cancel it first" in str(exc)
    else:
        raise AssertionError("a running execution was deleted")
    finally:
        client.executions.cancel(execution.id)


async def test_an_unfinished_run_stays(client: EflowsClient, tmp_path: Path) -> None:
    await call(_unfinished_run_stays, client, tmp_path)


def _flaky_run(client: EflowsClient, ledger: Path) -> str:
    """A failed run of a checkpointing workflow (tests/apps/flaky_squares.py)."""
    wf = client.workflows.register_spec({"name": "flaky", "steps": [{
        "name": "squares", "application": str(APPS / "flaky_squares.py"),
        "arguments": [str(ledger)],
        "extra_compss_opts": "--checkpoint=FT --checkpoint_params=finished.tasks:1"}]})
    failed = client.executions.wait(client.executions.trigger(wf.id).id, 120)
    assert failed.state.value == "failed", failed.error
    return failed.id


async def test_resume_and_rerun_over_rest_and_the_cli(cli: Any, client: EflowsClient,
                                                      tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    failed = await call(_flaky_run, client, ledger)
    assert await call(client.executions.checkpoint_tasks, failed) == 4
    (ledger / "ran.txt").write_text("")
    resumed = await cli("executions", "rerun", failed, "--resume", "--follow")
    assert resumed.code == 0, resumed.err
    assert "RESULT 55" in resumed.out
    assert sorted((ledger / "ran.txt").read_text().split()) == ["4", "5"]  # 0-3 from the checkpoint
    newest = (await call(client.executions.list)).items[0]
    assert newest.resumed_from == failed and newest.state.value == "done"
    status = await cli("executions", "status", newest.id)
    assert f"resumed from: {failed}" in status.out
    # A plain re-run runs every task again.
    again = await cli("executions", "rerun", newest.id, "--json")
    assert again.code == 0, again.err
    rerun = json.loads(again.out)
    assert rerun["resumed_from"] is None and rerun["inputs"] == newest.inputs
    assert (await call(client.executions.wait, rerun["id"], 120)).state.value == "done"
    assert sorted((ledger / "ran.txt").read_text().split()) == \
        ["0", "1", "2", "3", "4", "4", "5", "5"]
    # A run whose workflow keeps no checkpoint is not resumed from scratch: refused.
    plain = await call(_run, client)
    assert await call(client.executions.checkpoint_tasks, plain) == 0
    refused = await cli("executions", "rerun", plain, "--resume")
    assert refused.code == 1 and "no checkpoint" in refused.err, refused.err
    assert "Traceback" not in refused.err
