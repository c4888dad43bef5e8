"""A periodic transfer out of the cluster independent of any run, on the real sshd.

The seed's deployment names periodical transfers of data out of HPC systems: a schedule
``cluster:<path>`` -> this machine, every second, through the site's SSH login with the
vault's credential. It fires at least twice, a server restart (a new transfers service
on the same state) picks it up and brings what changed on the site meanwhile, and a
paused schedule does not fire.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.transfers import TransfersService
from tests.deploy.stack import Stack

pytestmark = pytest.mark.timeout(300)


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_schedule_syncs_a_site_folder_out_twice_and_again_after_a_restart(
        stack: Stack, tmp_path: Path) -> None:
    results = stack.sshd.home / "periodic-out"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir()
    (results / "status.txt").write_text("v1")
    shutil.chown(results, stack.sshd.login)
    mirror = tmp_path / "mirror"

    def service() -> TransfersService:
        logins = ServiceCredentials(stack.store, stack.vault)
        made = TransfersService(stack.store, lambda: logins, lambda: stack.sites)
        made.start()
        return made

    transfers = service()
    try:
        schedule = transfers.add({"name": "results out", "every": "1s",
                                  "source": "cluster:periodic-out", "target": str(mirror),
                                  "site": "cluster", "credential_id": stack.credential})
        wait_for(lambda: transfers.get(schedule.id).runs >= 2)
    finally:
        transfers.stop()
    before = transfers.get(schedule.id)
    assert before.last_state == "done", before.last_error
    assert (mirror / "periodic-out" / "status.txt").read_text() == "v1"

    (results / "status.txt").write_text("v2")  # changed on the site while the server is down
    again = service()
    try:
        wait_for(lambda: again.get(schedule.id).runs >= before.runs + 1)
        wait_for(lambda: (mirror / "periodic-out" / "status.txt").read_text() == "v2")
        assert again.get(schedule.id).last_state == "done"
        again.pause(schedule.id)
        time.sleep(1.5)  # a firing under way may still finish
        paused = again.get(schedule.id).runs
        time.sleep(2.5)
        assert again.get(schedule.id).runs == paused
    finally:
        again.stop()
        shutil.rmtree(results, ignore_errors=True)
