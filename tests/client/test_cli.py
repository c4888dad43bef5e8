"""The ``eflows`` CLI as a subprocess against a real server, and its token resolution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.cli import main
from eflows_kernel.client import resolve
from tests.client.helpers import INCREMENT_CHAIN, MINIMAL, Server


async def test_import_then_show_the_inputs(cli: Any) -> None:
    result = await cli("workflows", "import", str(MINIMAL))
    assert result.code == 0, result.err
    assert "minimal_workflow.classic" in result.out and "vault_id" in result.out
    classic = next(line.split(": ")[1] for line in result.out.splitlines()
                   if line.startswith("registered minimal_workflow.classic"))
    shown = await cli("workflows", "show", classic)
    assert shown.code == 0, shown.err
    for name in ("num_nodes", "vault_id", "user_id", "staged_in_data_path"):
        assert f"  {name} (" in shown.out
    listing = await cli("workflows", "list", "--json")
    assert listing.code == 0 and json.loads(listing.out)["total"] == 2


async def test_ssh_keys(cli: Any) -> None:
    made = await cli("ssh-keys", "keygen", "cluster")
    assert made.code == 0, made.err
    assert "ssh-ed25519 " in made.out and "PRIVATE" not in made.out + made.err
    key_id = made.out.splitlines()[0].removeprefix("id: ")
    listing = await cli("ssh-keys", "list")
    assert key_id in listing.out and "cluster" in listing.out
    line = await cli("ssh-keys", "authorize", key_id)
    assert line.out.startswith("ssh-ed25519 ")
    assert (await cli("ssh-keys", "delete", key_id)).code == 0
    gone = await cli("ssh-keys", "delete", key_id)
    assert gone.code == 1 and key_id in gone.err and "Traceback" not in gone.err


@pytest.mark.slow
async def test_register_trigger_follow_and_executions(cli: Any) -> None:
    made = await cli("workflows", "register", str(INCREMENT_CHAIN), "-i", "length:integer")
    assert made.code == 0, made.err
    wf_id = made.out.strip().rsplit(": ", 1)[1]
    run = await cli("workflows", "trigger", wf_id, "-i", "length=4", "--follow")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    execution_id = lines[0]
    assert any(line.endswith(" increment done") for line in lines)
    assert "--- logs ---" in run.out and "RESULT" in run.out
    assert "done" in run.err
    listing = await cli("executions", "list")
    assert execution_id in listing.out and "done" in listing.out
    status = await cli("executions", "status", execution_id)
    assert "state: done (SUCCESS)" in status.out and '"length": 4' in status.out
    logs = await cli("executions", "logs", execution_id)
    assert "RESULT" in logs.out
    followed = await cli("executions", "logs", execution_id, "--follow")
    assert followed.code == 0 and "RESULT" in followed.out
    cancel = await cli("executions", "cancel", execution_id)
    assert cancel.code == 1 and "already done" in cancel.err
    bad = await cli("workflows", "trigger", wf_id, "-i", "length=many")
    assert bad.code == 1 and "length" in bad.err and "Traceback" not in bad.err


async def test_user_mistakes_are_one_line(cli: Any, server: Server) -> None:
    wrong = await cli("workflows", "list", "--url", server.url, "--token", "nope", auth=False)
    assert wrong.code == 1 and "token was refused" in wrong.err and server.url in wrong.err
    assert len(wrong.err.strip().splitlines()) == 1
    missing = await cli("workflows", "show", "nope")
    assert missing.code == 1 and "nope" in missing.err and "Traceback" not in missing.err
    usage = await cli("workflows", "trigger", "x", "-i", "novalue")
    assert usage.code == 2 and "name=value" in usage.err
    nothing = await cli("workflows")
    assert nothing.code == 2
    sites = await cli("sites", "check", "nowhere", "--key", "k")
    assert sites.code == 1 and "nowhere" in sites.err and "Traceback" not in sites.err
    down = await cli("workflows", "list", "--url", "http://127.0.0.1:9/", auth=False)
    assert down.code == 1 and "127.0.0.1:9" in down.err


async def test_the_token_from_the_environment_and_the_config_file(
        cli: Any, server: Server, tmp_path: Path) -> None:
    by_env = await cli("workflows", "list", auth=False,
                       env={"EFLOWS_URL": server.url, "EFLOWS_TOKEN": server.token})
    assert by_env.code == 0, by_env.err
    config = tmp_path / "config.toml"
    config.write_text(f'url = "{server.url}"\ntoken = "{server.token}"\n')
    by_file = await cli("workflows", "list", auth=False, env={"EFLOWS_CONFIG": str(config)})
    assert by_file.code == 0, by_file.err
    env_wins = await cli("workflows", "list", auth=False,
                         env={"EFLOWS_CONFIG": str(config), "EFLOWS_TOKEN": "wrong"})
    assert env_wins.code == 1 and "token was refused" in env_wins.err


def test_token_precedence(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('url = "http://file/"\ntoken = "from-file"\n')
    env = {"EFLOWS_URL": "http://env/", "EFLOWS_TOKEN": "from-env", "EFLOWS_CONFIG": str(config)}
    assert resolve("http://opt/", "from-option", environ=env).token == "from-option"
    settings = resolve(environ=env)
    assert (settings.url, settings.token, settings.token_source) == \
        ("http://env/", "from-env", "$EFLOWS_TOKEN")
    settings = resolve(environ={"EFLOWS_CONFIG": str(config)})
    assert (settings.url, settings.token) == ("http://file/", "from-file")
    assert resolve(environ={"EFLOWS_CONFIG": str(tmp_path / "none")}).url is None
    config.write_text('[eflows]\ntoken = "sectioned"\n')
    assert resolve(environ={"EFLOWS_CONFIG": str(config)}).token == "sectioned"


def test_a_hub_spawned_server_is_found_through_jupyterhubs_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('url = "http://file/"\ntoken = "from-file"\n')
    hub = {"JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:41234/user/alice/",
           "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "JUPYTERHUB_API_TOKEN": "hub-token",
           "EFLOWS_CONFIG": str(config)}
    settings = resolve(environ=hub)
    assert (settings.url, settings.token) == ("http://127.0.0.1:41234/user/alice/", "hub-token")
    assert settings.url_source == "$JUPYTERHUB_SERVICE_URL"
    assert settings.token_source == "$JUPYTERHUB_API_TOKEN"
    ipv6 = resolve(environ={**hub, "JUPYTERHUB_SERVICE_URL": "http://[::]:8888/user/alice/"})
    assert ipv6.url == "http://[::1]:8888/user/alice/"
    named = resolve(environ={**hub, "JUPYTERHUB_SERVICE_URL": "http://node7:8888/user/alice/"})
    assert named.url == "http://node7:8888/user/alice/"
    # ours win; the hub's token never goes to a server named elsewhere
    ours = resolve(environ={**hub, "EFLOWS_URL": "http://env/", "EFLOWS_TOKEN": "from-env"})
    assert (ours.url, ours.token) == ("http://env/", "from-env")
    elsewhere = resolve(environ={**hub, "EFLOWS_URL": "http://env/"})
    assert (elsewhere.url, elsewhere.token) == ("http://env/", "from-file")
    prefix_only = {k: v for k, v in hub.items() if k != "JUPYTERHUB_SERVICE_URL"}
    assert resolve(environ=prefix_only).url == "http://file/"


def test_a_broken_config_file_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("url = \n")
    monkeypatch.setenv("EFLOWS_CONFIG", str(config))
    assert main(["workflows", "list"]) == 1
    err = capsys.readouterr().err
    assert "not valid TOML" in err and str(config) in err


def test_local_mode_without_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EFLOWS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("EFLOWS_STATE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    assert main(["--local", "workflows", "import", str(MINIMAL)]) == 0
    assert main(["workflows", "list", "--json"]) == 0  # no server configured: local
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["total"] == 2


async def test_logs_by_level_as_names_or_the_hpcwaas_bitmask(cli: Any, tmp_path: Path) -> None:
    app = tmp_path / "leveled.py"
    app.write_text("print('plain')\nprint('DEBUG detail')\nprint('WARNING careful')\n"
                   "print('ERROR broke')\n")
    made = await cli("workflows", "register", str(app))
    assert made.code == 0, made.err
    wf_id = made.out.strip().rsplit(": ", 1)[1]
    run = await cli("workflows", "trigger", wf_id)
    execution_id = run.out.strip()
    followed = await cli("executions", "logs", execution_id, "--follow", "--levels", "12")
    assert followed.code == 0, followed.err
    assert followed.out.splitlines() == ["WARNING careful", "ERROR broke"]
    debug = await cli("executions", "logs", execution_id, "-l", "DEBUG,error")
    assert debug.out.splitlines() == ["DEBUG detail", "ERROR broke"]
    default = await cli("executions", "logs", execution_id, "--levels", "0")
    assert "DEBUG detail" not in default.out and "plain" in default.out
    everything = await cli("executions", "logs", execution_id)
    assert "DEBUG detail" in everything.out  # no --levels: the whole output
    bad = await cli("executions", "logs", execution_id, "--levels", "LOUD")
    assert bad.code == 1 and "--levels" in bad.err and "LOUD" in bad.err
    assert "Traceback" not in bad.err


async def test_a_two_role_workflow_is_triggered_with_a_site_per_role_and_shows_its_steps(
        cli: Any, tmp_path: Path) -> None:
    """``--site ENV=SITE`` for each role on a real server: a role left out is one line
    naming it, a typo'd role says which ones there are, and the run's status lists each
    step with its site, state, job and what it waited for."""
    spec = tmp_path / "roles.json"
    spec.write_text(json.dumps({"name": "two-roles", "steps": [
        {"name": "first", "application": str(INCREMENT_CHAIN), "arguments": ["2"],
         "environment": "Front"},
        {"name": "second", "application": str(INCREMENT_CHAIN), "arguments": ["2"],
         "environment": "Back", "depends_on": ["first"]}]}))
    made = await cli("workflows", "register", str(spec))
    assert made.code == 0, made.err
    wf_id = made.out.strip().rsplit(": ", 1)[1]
    unbound = await cli("workflows", "trigger", wf_id, "--site", "Front=local")
    assert unbound.code == 1 and "environment 'Back' is not bound" in unbound.err
    assert "Back=SITE" in unbound.err and "Traceback" not in unbound.err
    typo = await cli("workflows", "trigger", wf_id, "--site", "Front=local",
                     "--site", "Bakc=local")
    assert typo.code == 1 and "no environment 'Bakc'" in typo.err and "Back, Front" in typo.err
    run = await cli("workflows", "trigger", wf_id, "--site", "Front=local", "--site",
                    "Back=local", "--follow")
    assert run.code == 0, run.err
    execution_id, *lines = run.out.split("--- logs ---")[0].splitlines()
    steps = [line.split(" ", 1)[1] for line in lines if " step " in f" {line}"]
    assert steps == ["step first running", "step first done", "step second running",
                     "step second done"]
    assert any(line.endswith(" second: task 1 increment done") for line in lines), run.out
    status = await cli("executions", "status", execution_id)
    assert status.code == 0, status.err
    rows = [line.split() for line in status.out.split("steps:\n", 1)[1].splitlines()]
    assert rows[0] == ["STEP", "SITE", "STATE", "JOB", "AFTER"]
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [
        ("first", "local", "done", "-"), ("second", "local", "done", "first")]
    assert all(r[3] != "-" for r in rows[1:])  # each step's own job


def test_site_flags_bind_every_environment_or_each_one() -> None:
    from eflows_kernel.cli.output import UsageError
    from eflows_kernel.cli.workflows import site_binding

    assert site_binding(None) == "local"
    assert site_binding(["hpc"]) == "hpc"
    assert site_binding(["Cluster1=hpc", "Cluster2=other"]) == {"Cluster1": "hpc",
                                                                "Cluster2": "other"}
    with pytest.raises(UsageError, match="ENVIRONMENT=SITE"):
        site_binding(["hpc", "Cluster2=other"])


def test_rerun_of_a_graph_on_two_sites_binds_each_step_to_its_site_again(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``executions rerun`` of a step graph on two sites triggers it on both again: the
    record's ``site`` is its first step's, which would put every step there."""
    import argparse
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from eflows_kernel.cli.executions import cmd_executions_rerun
    from eflows_kernel.services.executions import Execution, ExecutionState

    now = datetime.now(timezone.utc)
    old = Execution(id="g1", workflow_id="w1", site="front", credential_id="c1", inputs={
        "n": 2}, state=ExecutionState.DONE, state_history=[], outputs={}, remote_job_id=None,
        event_log=None, event_seq=0, error=None, created_at=now, updated_at=now,
        step_sites={"make": "front", "make->back": "back", "read": "back",
                    "read:out:results": "back"})
    asked: list[tuple] = []

    def trigger(*args: Any) -> Execution:
        asked.append(args)
        return old.model_copy(update={"id": "g2"})

    client = SimpleNamespace(executions=SimpleNamespace(get=lambda _id: old, trigger=trigger))
    args = argparse.Namespace(id="g1", resume=False, follow=False, json=False)
    assert cmd_executions_rerun(client, args) == 0  # type: ignore[arg-type]
    assert asked == [("w1", {"n": 2}, {"make": "front", "read": "back"}, "c1")]
    assert capsys.readouterr().out.startswith("g2: done")
    one_site = old.model_copy(update={"step_sites": {"make": "front", "read": "front"}})
    assert one_site.site_binding == "front"
    assert old.model_copy(update={"step_sites": None}).site_binding == "front"


def test_list_and_status_of_a_graph_on_two_sites_show_both(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A step graph's ``site`` is its first step's: ``executions list`` showed it alone for
    a graph on two sites; ``--site`` finds the runs on a site (the store's filter)."""
    import argparse
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from eflows_kernel.cli.executions import cmd_executions_list, cmd_executions_status
    from eflows_kernel.services.executions import Execution, ExecutionState
    from eflows_kernel.services.state import Page

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    graph = Execution(id="g1", workflow_id="w1", site="front", credential_id=None, inputs={},
                      state=ExecutionState.RUNNING, state_history=[], outputs={},
                      remote_job_id=None, event_log=None, event_seq=0, error=None,
                      created_at=now, updated_at=now,
                      step_sites={"make": "front", "make->back": "back", "read": "back"})
    plain = graph.model_copy(update={"id": "p1", "step_sites": None})
    asked: list[Any] = []

    def listing(**filters: Any) -> Page[Execution]:
        asked.append(filters["site"])
        return Page[Execution](items=[graph, plain], total=2, limit=50, offset=0)

    client = SimpleNamespace(executions=SimpleNamespace(list=listing, get=lambda i: {
        "g1": graph, "p1": plain}[i], steps=lambda _id: []))
    args = argparse.Namespace(state=None, workflow=None, site="back", limit=50, offset=0,
                              json=False)
    assert cmd_executions_list(client, args) == 0  # type: ignore[arg-type]
    import re
    rows = [re.split(r"\s{2,}", line) for line in capsys.readouterr().out.splitlines()]
    assert asked == ["back"]
    assert [r[:3] for r in rows] == [["ID", "WORKFLOW", "SITE"], ["g1", "w1", "front, back"],
                                     ["p1", "w1", "front"]]
    assert cmd_executions_status(client, argparse.Namespace(  # type: ignore[arg-type]
        id="g1", json=False)) == 0
    assert "sites: front (make), back (read)\n" in capsys.readouterr().out
    assert cmd_executions_status(client, argparse.Namespace(  # type: ignore[arg-type]
        id="p1", json=False)) == 0
    assert "site: front\n" in capsys.readouterr().out
    from eflows_kernel.cli.main import build_parser
    assert build_parser().parse_args(["executions", "list", "--site", "back"]).site == "back"
