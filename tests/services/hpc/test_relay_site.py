"""Data services <-> the real test site (sshd on 127.0.0.1:2222), through this machine.

The HTTP->SSH movement of the eFlows4HPC DLS (``plainhttp2ssh``), a WebDAV folder staged
in, and a result folder staged out to S3; run under ``flock /tmp/eflows-e2e.lock``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer.relay import relay_from_site, relay_to_site
from eflows_kernel.services.hpc.transfer.stores import Auth, open_store
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import ScheduleSpec, TransfersService
from tests.plugins.cluster import SshdInfo
from tests.plugins.data_services import HttpFiles, S3Endpoint, WebDavShare


def test_http_to_ssh_lands_checked_on_the_site(client: paramiko.SSHClient, sshd: SshdInfo,
                                               rdir: str, http_files: HttpFiles,
                                               tmp_path: Path) -> None:
    data = b'{"event": "2003_0521_boumardes"}\n' * 3000
    (http_files.root / "parameters.json").write_bytes(data)
    log = EventStream("relay")
    store = open_store("http")
    results = relay_to_site(client, store, f"{http_files.url}/parameters.json",
                            f"{rdir}/inputs", tmp_path / "spool", log)
    store.close()
    assert (sshd.home / rdir / "inputs" / "parameters.json").read_bytes() == data
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    done = [e for e in log.events() if e["type"] == "transfer" and e["state"] == "done"]
    assert len(done) == 2  # fetched here, then staged in
    assert not (tmp_path / "spool").exists()


def test_webdav_folder_to_site_and_results_to_s3(client: paramiko.SSHClient, sshd: SshdInfo,
                                                 rdir: str, webdav_share: WebDavShare,
                                                 s3_endpoint: S3Endpoint,
                                                 tmp_path: Path) -> None:
    src = webdav_share.root / "templates-set"
    (src / "sub").mkdir(parents=True)
    (src / "t1.cfg").write_text("one\n")
    (src / "sub" / "t2.cfg").write_text("two\n")
    dav = open_store("webdav", Auth(webdav_share.username, webdav_share.password))
    relay_to_site(client, dav, f"{webdav_share.url}/templates-set", f"{rdir}/data",
                  tmp_path / "in")
    dav.close()
    landed = sshd.home / rdir / "data"
    assert (landed / "t1.cfg").read_text() == "one\n"
    assert (landed / "sub" / "t2.cfg").read_text() == "two\n"

    ssh.run(client, f"mkdir -p {rdir}/results && printf 'r1' > {rdir}/results/a.txt")
    s3_endpoint.client().create_bucket(Bucket="relay-out")
    s3 = open_store("s3", Auth(s3_endpoint.access_key, s3_endpoint.secret_key,
                               options=(("endpoint_url", s3_endpoint.endpoint_url),)))
    pushed = relay_from_site(client, f"{rdir}/results", s3, "s3://relay-out/run-1",
                             tmp_path / "out")
    s3.close()
    assert [r.name for r in pushed] == ["results/a.txt"]
    body = s3_endpoint.client().get_object(Bucket="relay-out", Key="run-1/results/a.txt")
    assert body["Body"].read() == b"r1"


def test_a_periodic_sync_of_a_dls_webdav_stage_out_lands_as_its_final_copy(
        client: paramiko.SSHClient, rdir: str, webdav_share: WebDavShare,
        site_sessions: Callable[[], Any], tmp_path: Path) -> None:
    """The DLS's WebDAV stage-out writes the files below its ``source_path`` into its
    folder (``contents``): a periodic sync of it (a schedule's firing, through the
    transfers service and a session of its own) must land them there too, as the final
    copy (``send_out`` -> ``relay_from_site(contents=True)``) does."""
    ssh.run(client, f"mkdir -p {rdir}/results/sub && printf one > {rdir}/results/a.txt && "
                    f"printf two > {rdir}/results/sub/b.txt")
    state = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    vault = CredentialVault(SqlCredentialRepository(state), master_key=os.urandom(32))
    logins = ServiceCredentials(state, vault)
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password)

    transfers = TransfersService(state, lambda: logins, site_sessions,
                                 url_policy=UrlPolicy(allow_private=True))
    final = open_store("webdav", Auth(webdav_share.username, webdav_share.password))
    relay_from_site(client, f"{rdir}/results", final, f"{webdav_share.url}/{rdir}-final",
                    tmp_path / "final", contents=True)
    final.close()
    spec = ScheduleSpec(name="run:to_share", source=f"cluster:{rdir}/results",
                        target=f"{webdav_share.url}/{rdir}-synced", every="1s",
                        site="cluster", credential_id="key", kind="webdav", contents=True)
    transfers.fire(transfers.schedules.add(spec, None))
    try:
        landed = {}
        for name in ("final", "synced"):
            root = webdav_share.root / f"{rdir}-{name}"
            landed[name] = {p.relative_to(root).as_posix(): p.read_text()
                            for p in root.rglob("*") if p.is_file()}
        assert landed["final"] == {"a.txt": "one", "sub/b.txt": "two"}
        assert landed["synced"] == landed["final"]
    finally:
        state.close()
