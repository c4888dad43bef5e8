"""``eflows data-logins`` and ``eflows transfers`` as a subprocess against a real server,
and the same calls through the in-process client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.cli.main import main
from eflows_kernel.client import LocalClient

SECRET = "dav-password-not-on-the-command-line"


async def test_data_logins_take_the_secret_from_stdin_and_never_print_it(cli: Any) -> None:
    made = await cli("data-logins", "add", "share", "webdav",
                     "https://b2drop.example.org/dav", "--username", "me", "--secret-stdin",
                     stdin=SECRET + "\n")
    assert made.code == 0, made.err
    login = made.out.strip().removeprefix("id: ")
    listing = await cli("data-logins", "list")
    assert login in listing.out and "b2drop.example.org" in listing.out
    as_json = await cli("data-logins", "list", "--json")
    assert json.loads(as_json.out)[0]["username"] == "me"
    for output in (made, listing, as_json):
        assert SECRET not in output.out + output.err
    no_secret = await cli("data-logins", "add", "x", "s3", "s3://b")
    assert no_secret.code == 2 and "--secret-stdin" in no_secret.err
    assert (await cli("data-logins", "delete", login)).code == 0
    assert (await cli("data-logins", "delete", login)).code == 1


async def test_transfers_schedule_list_pause_resume_delete(cli: Any, tmp_path: Path) -> None:
    made = await cli("transfers", "schedule", "nightly", "https://example.org/data.bin",
                     str(tmp_path / "mirror"), "--every", "1d", "--paused", "--contents")
    assert made.code == 0, made.err
    schedule = made.out.split()[1]
    shown = await cli("transfers", "show", schedule, "--json")
    assert json.loads(shown.out)["contents"] is True
    listing = await cli("transfers", "list")
    assert schedule in listing.out and "paused" in listing.out and "1d" in listing.out
    assert "note" not in made.err + listing.err  # a server fires them
    resumed = await cli("transfers", "resume", schedule, "--json")
    assert resumed.code == 0 and json.loads(resumed.out)["paused"] is False
    paused = await cli("transfers", "pause", schedule)
    assert paused.code == 0 and "paused" in paused.out
    bad = await cli("transfers", "schedule", "x", "cluster:out", "webdav://h/s", "--every",
                    "5m")
    assert bad.code == 1 and "site" in bad.err and "Traceback" not in bad.err
    assert (await cli("transfers", "delete", schedule)).code == 0
    gone = await cli("transfers", "show", schedule)
    assert gone.code == 1 and schedule in gone.err


def test_local_client_has_the_same_data_part(tmp_path: Path) -> None:
    with LocalClient(f"sqlite:///{tmp_path / 's.sqlite'}", tmp_path / "vault.key",
                     tmp_path / "runs") as client:
        login = client.data.add_login("rec", "b2share", "https://b2share.example.org",
                                      token="tok-123")
        assert "tok-123" not in str(client.data.logins())
        schedule = client.data.schedule({"name": "s", "every": "1h", "paused": True,
                                         "source": "https://b2share.example.org/records/ab1",
                                         "kind": "b2share", "target": str(tmp_path / "m")})
        assert client.data.get_schedule(schedule["id"])["paused"] is True
        assert [s["id"] for s in client.data.schedules()] == [schedule["id"]]
        client.data.delete_schedule(schedule["id"])
        client.data.delete_login(login["id"])
        assert client.data.logins() == [] and client.data.schedules() == []


def schedule_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> int:
    """``eflows --local transfers schedule`` on a state of ``tmp_path``'s own."""
    monkeypatch.setenv("EFLOWS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("EFLOWS_STATE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    return main(["--local", "transfers", "schedule", "s", "https://example.org/d.bin",
                 str(tmp_path / "m"), "--every", "1h", *options])


def test_a_local_schedule_says_it_fires_only_with_a_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--local``: nothing fires the schedule once the command exits; it says so."""
    assert schedule_locally(tmp_path, monkeypatch) == 0
    made = capsys.readouterr()
    assert made.out.startswith("id: ")
    assert made.err.count("\n") == 1 and "only while a Jupyter server" in made.err
    assert main(["--local", "transfers", "list", "--json"]) == 0
    listed = capsys.readouterr()
    assert len(json.loads(listed.out)) == 1 and "only while a Jupyter server" in listed.err


def test_transfers_list_says_what_the_last_sync_sent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A folder sync's last firing: how many files it sent, how many were up to date."""
    from eflows_kernel.services.state import StateStore
    from eflows_kernel.services.transfers.synced import SyncedFiles

    assert schedule_locally(tmp_path, monkeypatch, "--json") == 0
    made = json.loads(capsys.readouterr().out)
    assert made["last_sync"] is None
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        SyncedFiles(state).update(made["id"], {}, set(), {"sent": 2, "up_to_date": 10})
    assert main(["--local", "transfers", "list"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if made["id"] in line]
    assert len(row) == 1 and "2 sent, 10 up to date" in row[0]
