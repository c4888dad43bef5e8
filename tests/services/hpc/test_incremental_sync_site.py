"""Periodic syncs of a results folder on the real test site (sshd on 127.0.0.1:2222) into
a real WebDAV share (wsgidav on loopback): a second firing sends only what changed.

The job's folder holds files already synced, one it rewrote in place with the same size
and one it made since; the second firing sends those two alone (the share's copies of
the others are not written again: same inode, same mtime on the server's disk), with
every transfer's guarantees, and says so on the schedule. Run under
``flock /tmp/eflows-e2e.lock``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import ScheduleSpec, TransfersService
from tests.plugins.data_services import WebDavShare


def test_a_second_firing_sends_only_the_new_and_the_changed_file(
        client: paramiko.SSHClient, rdir: str, webdav_share: WebDavShare,
        site_sessions: Callable[[], Any], tmp_path: Path) -> None:
    before = int(time.time()) - 600  # written a while ago: mtimes to be trusted
    ssh.run(client, f"mkdir -p {rdir}/results/sub && printf 'summary v1' > "
                    f"{rdir}/results/summary.txt && printf 'part one' > "
                    f"{rdir}/results/sub/part-1.txt && printf 'tick 0001' > "
                    f"{rdir}/results/progress.txt && "
                    f"find {rdir}/results -type f -exec touch -d @{before} {{}} +")
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    state = StateStore(url)
    logins = ServiceCredentials(state, CredentialVault(SqlCredentialRepository(state),
                                                       master_key=b"k" * 32))
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password)

    def service(store: StateStore) -> TransfersService:
        return TransfersService(store, lambda: logins, site_sessions,
                                url_policy=UrlPolicy(allow_private=True))

    transfers = service(state)
    share = webdav_share.root / f"{rdir}-synced"
    schedule = transfers.schedules.add(ScheduleSpec(
        name="run:to_share", source=f"cluster:{rdir}/results",
        target=f"{webdav_share.url}/{rdir}-synced", every="10m", site="cluster",
        credential_id="key", kind="webdav", contents=True), None)
    try:
        transfers.fire(schedule)
        first = transfers.get(schedule.id).last_sync
        assert first == {"sent": 3, "up_to_date": 0, "left": 0, "gone": 0, "bytes": 27}
        written = {p.relative_to(share).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
                   for p in share.rglob("*") if p.is_file()}
        assert sorted(written) == ["progress.txt", "sub/part-1.txt", "summary.txt"]

        later = before + 300  # the job went on: same size in place, and a new file
        ssh.run(client, f"printf 'tick 0002' > {rdir}/results/progress.txt && "
                        f"printf 'new' > {rdir}/results/sub/part-2.txt && "
                        f"touch -d @{later} {rdir}/results/progress.txt "
                        f"{rdir}/results/sub/part-2.txt")
        state.close()
        state = StateStore(url)  # the server restarted between two firings
        again = service(state)
        again.fire(again.get(schedule.id))
        second = again.get(schedule.id)
        assert second.last_sync == {"sent": 2, "up_to_date": 2, "left": 0, "gone": 0,
                                    "bytes": 12}
        landed = {p.relative_to(share).as_posix(): p.read_text()
                  for p in share.rglob("*") if p.is_file()}
        assert landed == {"summary.txt": "summary v1", "sub/part-1.txt": "part one",
                          "progress.txt": "tick 0002", "sub/part-2.txt": "new"}
        for name in ("summary.txt", "sub/part-1.txt"):  # not sent again
            path = share / name
            assert (path.stat().st_ino, path.stat().st_mtime_ns) == written[name], name
        assert (share / "progress.txt").stat().st_ino != written["progress.txt"][0]
    finally:
        state.close()
