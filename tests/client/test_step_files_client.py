"""Every step's run files through the clients and the CLI: ``runs.step_files`` and
``step=`` over REST and in-process, ``eflows executions files --site [--step]``.

The graph's records and folders are those a finished graph on two sites leaves
(``tests/server/specs.py:two_site_graph``, sites on this host with a work directory each).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eflows_kernel.client import EflowsClient, LocalClient
from eflows_kernel.services.errors import ConflictError
from tests.client.helpers import call
from tests.server.specs import two_site_graph


async def test_the_rest_client_and_the_cli_read_each_steps_folder(
        client: EflowsClient, cli: Any, jp_serverapp: Any, tmp_path: Path) -> None:
    ids = two_site_graph(jp_serverapp.web_app.settings["eflows"], tmp_path)
    run = ids["parent"]
    steps = {s["step"]: s for s in await call(client.runs.step_files, run)}
    assert {n: s["status"] for n, s in steps.items()} == {
        "make": "listed", "keep": "listed", "here": "listed", "lost": "site_gone",
        "later": "not_started"}
    assert [f["path"] for f in await call(client.runs.site_files, run, step="keep")] == [
        "job.sh", "kept.txt"]
    got = await call(client.runs.site_download, run, "kept.txt", tmp_path, step="keep")
    assert got == tmp_path / "kept.txt" and got.read_text() == "kept on back\n"
    here = await call(client.runs.files, run, step="here")
    assert [f["path"] for f in here["items"]] == ["output.log"]
    assert (await call(client.runs.preview, run, "output.log", step="here"))["text"] == \
        "ran here\n"
    try:
        await call(client.runs.site_files, run, step="later")
    except ConflictError as error:
        assert "has not started" in str(error)
    else:
        raise AssertionError("a step never started was listed")

    listed = await cli("executions", "files", run, "--site")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].split() == ["STEP", "SITE", "PATH", "BYTES", "KIND"]
    assert any(line.split()[:3] == ["make", "front", "made.txt"] for line in lines), lines
    assert any(line.split()[:3] == ["keep", "back", "kept.txt"] for line in lines), lines
    assert any(line.split()[:4] == ["here", "local", "(here)", "output.log"]
               for line in lines), lines
    assert any(line.startswith("lost") and "(site_gone:" in line for line in lines), lines
    assert any(line.startswith("later") and "(not_started:" in line for line in lines)
    as_json = await cli("executions", "files", run, "--site", "--json")
    assert [s["step"] for s in json.loads(as_json.out)["steps"]] == [
        "make", "keep", "here", "lost", "later"]
    one = await cli("executions", "files", run, "--site", "--step", "make", "--json")
    assert [f["path"] for f in json.loads(one.out)["items"]] == ["job.sh", "made.txt"]
    target = tmp_path / "got"
    target.mkdir()
    fetched = await cli("executions", "files", run, "--site", "--step", "make",
                        "--get", "made.txt", "--to", str(target))
    assert fetched.code == 0, fetched.err
    assert (target / "made.txt").read_text() == "made on front\n"
    fetched = await cli("executions", "files", run, "--step", "here", "--get", "output.log",
                        "--to", str(target))
    assert fetched.code == 0 and (target / "output.log").read_text() == "ran here\n"
    refused = await cli("executions", "files", run, "--site", "--step", "later")
    assert refused.code != 0 and "has not started" in refused.err


def test_the_in_process_client_reads_each_steps_folder(tmp_path: Path) -> None:
    local = LocalClient(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                        vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs")
    try:
        ids = two_site_graph(local.services, tmp_path)
        run = ids["parent"]
        steps = {s["step"]: s for s in local.runs.step_files(run)}
        assert [f["path"] for f in steps["make"]["items"]] == ["job.sh", "made.txt"]
        (log,) = steps["here"]["items"]
        assert Path(log["local_path"]).read_text() == "ran here\n"
        assert steps["lost"]["status"] == "site_gone"
        got = local.runs.site_download(run, "made.txt", tmp_path, step="make")
        assert got.read_text() == "made on front\n"
        copied = local.runs.download(run, "output.log", tmp_path / "copy.log", step="here")
        assert copied.read_text() == "ran here\n"
        assert local.runs.files(run, step="here")["items"][0]["local_path"] == \
            log["local_path"]
    finally:
        local.close(cancel_runs=True)
