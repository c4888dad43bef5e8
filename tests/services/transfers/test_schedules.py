"""Periodic transfers: persisted, fired on their period, surviving a restart, pausable."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.services.app import Services, ServicesConfig
from eflows_kernel.services.errors import NotFoundError, ValidationError
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import (
    ScheduleSpec,
    ScheduleStore,
    TransferScheduler,
    parse_period,
)
from tests.plugins.data_services import HttpFiles, WebDavShare


def config(tmp_path: Path) -> ServicesConfig:
    # The loopback test servers stand for a data server on the centre's own network.
    return ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                          vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                          allow_private_urls=True)


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_periodic_transfer_fires_at_least_twice_and_survives_a_restart(
        tmp_path: Path, http_files: HttpFiles) -> None:
    (http_files.root / "status.txt").write_text("v1")
    mirror = tmp_path / "mirror"
    services = Services(config(tmp_path))
    services.start()
    schedule = services.transfers.add({"name": "sync status", "every": "1s",
                                       "source": f"{http_files.url}/status.txt",
                                       "target": str(mirror)})
    wait_for(lambda: services.transfers.get(schedule.id).runs >= 2)
    services.close()
    before = services.transfers.get(schedule.id)
    assert before.last_state == "done" and before.last_error is None
    assert before.last_run is not None and before.next_run > before.last_run
    assert (mirror / "status.txt").read_text() == "v1"
    shown = before.to_dict()
    assert shown["every"] == "1s" and shown["last_run"] and shown["next_run"]

    (http_files.root / "status.txt").write_text("v2")
    time.sleep(1.5)  # nobody runs it while the server is down
    again = Services(config(tmp_path))
    assert again.transfers.get(schedule.id).runs == before.runs
    again.start()
    try:
        wait_for(lambda: again.transfers.get(schedule.id).runs >= before.runs + 2)
        assert (mirror / "status.txt").read_text() == "v2"

        again.transfers.pause(schedule.id)
        time.sleep(0.5)  # a firing under way may still finish
        paused = again.transfers.get(schedule.id).runs
        time.sleep(2.5)
        assert again.transfers.get(schedule.id).runs == paused
        assert again.transfers.get(schedule.id).paused
        again.transfers.resume(schedule.id)
        wait_for(lambda: again.transfers.get(schedule.id).runs > paused)
    finally:
        again.close()


def test_a_failing_firing_is_recorded_and_retried_next_period(
        tmp_path: Path, webdav_share: WebDavShare) -> None:
    services = Services(config(tmp_path))
    services.start()
    try:
        schedule = services.transfers.add({"name": "missing", "every": "1s", "kind": "webdav",
                                           "source": f"{webdav_share.url}/not-there",
                                           "target": str(tmp_path / "m")})
        wait_for(lambda: services.transfers.get(schedule.id).runs >= 2)
        failed = services.transfers.get(schedule.id)
        assert failed.last_state == "failed"
        assert "401" in (failed.last_error or "")  # no login for the share in the vault
        assert webdav_share.password not in (failed.last_error or "")
    finally:
        services.close()


def test_a_sync_bound_to_a_run_that_is_over_stops_firing(tmp_path: Path,
                                                         http_files: HttpFiles) -> None:
    (http_files.root / "bound.txt").write_text("b")
    services = Services(config(tmp_path))
    spec = ScheduleSpec(name="orphan", every="1s", source=f"{http_files.url}/bound.txt",
                        target=str(tmp_path / "m"))
    services.transfers.schedules.add(spec, execution_id="no-such-execution")
    services.start()
    try:
        wait_for(lambda: services.transfers.list() == [])
        assert not (tmp_path / "m").exists()  # dropped, not run
    finally:
        services.close()


def test_a_schedule_is_checked_when_made(tmp_path: Path) -> None:
    services = Services(config(tmp_path))
    transfers = services.transfers
    with pytest.raises(ValidationError, match="every must be a period"):
        transfers.add({"name": "x", "every": "soon", "source": "https://h/x", "target": "/tmp"})
    with pytest.raises(ValidationError, match="needs the site") as error:
        transfers.add({"name": "x", "every": "10m", "source": "cluster:results",
                       "target": "webdav://h/share"})
    assert error.value.details["fields"] == {"site": "required with a cluster: path"}
    with pytest.raises(ValidationError, match="no site named"):
        transfers.add({"name": "x", "every": "10m", "source": "cluster:results",
                       "target": "webdav://h/share", "site": "nowhere", "credential_id": "c"})
    services.site_service.add({"name": "hpc", "host": "hpc.example.org", "login": "me"})
    with pytest.raises(ValidationError) as error:  # a typo: now, not at every period
        transfers.add({"name": "x", "every": "10m", "source": "cluster:results",
                       "target": "webdav://h/share", "site": "hpc", "credential_id": "k-typo"})
    assert error.value.details["fields"] == {
        "credential_id": "no SSH credential 'k-typo' in the vault"}
    key = services.vault.generate("hpc-key")
    made = transfers.add({"name": "x", "every": "10m", "source": "cluster:results",
                          "target": "webdav://h/share", "site": "hpc", "credential_id": key.id})
    transfers.delete(made.id)
    with pytest.raises(ValidationError, match=r"source: .*not a data location"):
        transfers.add({"name": "x", "every": "10m", "source": "ftp://h/x", "target": "/tmp"})
    with pytest.raises(NotFoundError):
        transfers.get("s0000")
    assert transfers.list() == []
    services.close()


@pytest.mark.parametrize(("text", "seconds"), [("10m", 600), ("1h30m", 5400), ("45s", 45),
                                               ("2d", 172800), (30, 30), (" 1H ", 3600)])
def test_periods_read_as_people_write_them(text: str | int, seconds: int) -> None:
    assert parse_period(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m", "-5m", "10 minutes", 0, True, "400d"])
def test_bad_periods_are_refused(text: str | int) -> None:
    with pytest.raises(ValidationError, match="every must"):
        parse_period(text)


def test_the_end_of_a_run_can_wait_for_a_firing_still_running(tmp_path: Path) -> None:
    """A run's end drops its syncs and waits for one still running (deploy/periodic.py):
    a late sync must not land older files after the final one."""
    state = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    schedules = ScheduleStore(state)
    started, release = threading.Event(), threading.Event()

    def fire(_schedule: object) -> None:
        started.set()
        release.wait(10)

    scheduler = TransferScheduler(schedules, fire)
    schedule = schedules.add(ScheduleSpec(name="sync", every="1h", source="https://h/x",
                                          target=str(tmp_path / "m")), "run-1")
    scheduler.start()
    try:
        assert started.wait(10)
        assert schedules.delete_for("run-1") == 1
        assert not scheduler.wait_idle([schedule.id], 0.3)  # it still runs
        release.set()
        assert scheduler.wait_idle([schedule.id], 10)
        assert scheduler.wait_idle(["another"], 0.01)  # nothing of that one runs
    finally:
        release.set()
        scheduler.stop()
        state.close()


def test_a_firing_is_a_sync_of_a_folder_that_may_be_written_meanwhile(
        tmp_path: Path, http_files: HttpFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schedule's site folder may belong to a running job: its files that change while
    sent wait for the next firing (``stage_out(changing=True)``,
    tests/services/hpc/test_changing_folder.py) instead of failing every period."""
    from eflows_kernel.services.transfers import service as transfers_service
    seen: list[dict] = []
    monkeypatch.setattr(transfers_service, "move",
                        lambda *args, **kwargs: seen.append(kwargs))
    services = Services(config(tmp_path))
    try:
        schedule = services.transfers.add({"name": "sync", "every": "1h",
                                           "source": f"{http_files.url}/status.txt",
                                           "target": str(tmp_path / "mirror")})
        services.transfers.fire(schedule)
    finally:
        services.close()
    assert [kwargs["changing"] for kwargs in seen] == [True]
