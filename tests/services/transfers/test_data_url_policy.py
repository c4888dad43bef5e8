"""Data relayed through this server obeys the stage-in rules: no private host, no secret.

A data service's requests come from this server, not from the site: a workflow naming
a loopback or link-local host (a metadata service, this server's own ports) would read
what only this machine can reach. So the location is checked when a run is planned,
every request an adapter sends is checked again (redirects and the links a service hands
back), and a periodic transfer neither reads nor writes what never leaves this machine.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from eflows_kernel.services.app import Services, ServicesConfig
from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.deploy.staging import plan
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.hpc.transfer import UrlPolicy
from eflows_kernel.services.hpc.transfer.relay import fetch
from eflows_kernel.services.hpc.transfer.stores import StoreError, open_store
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import DataLogistics
from eflows_kernel.services.workflows import workflow_from_spec
from tests.plugins.data_services import HttpFiles


def as_public(port: int) -> UrlPolicy:
    """The test's data server stands for a public one; every other host resolves as is."""
    def resolve(host: str, at: int) -> list[str]:
        if host == "127.0.0.1" and at == port:
            return ["93.184.216.34"]
        return sorted({str(i[4][0]) for i in socket.getaddrinfo(host, at)})
    return UrlPolicy(resolve=resolve)


def test_an_adapter_asks_no_private_host_not_even_through_a_redirect(
        tmp_path: Path, http_files: HttpFiles, redirector: tuple[int, list[str]]) -> None:
    (http_files.root / "here.txt").write_text("only this machine sees me")
    store = open_store("http", policy=UrlPolicy())
    with pytest.raises(StoreError, match="loopback"):
        fetch(store, f"{http_files.url}/here.txt", tmp_path / "got")
    assert not any((tmp_path / "got").rglob("*"))

    port, target = redirector
    for hop in ("http://169.254.169.254/latest/meta-data/", http_files.url + "/here.txt"):
        target[0] = hop
        with pytest.raises(StoreError, match="loopback, link-local or private"):
            fetch(open_store("http", policy=as_public(port)),
                  f"http://127.0.0.1:{port}/go/data.txt", tmp_path / "hop")
    target[0] = f"http://127.0.0.1:{port}/data.txt"  # a redirect that stays public
    (got,) = fetch(open_store("http", policy=as_public(port)),
                   f"http://127.0.0.1:{port}/go/data.txt", tmp_path / "ok")
    assert (tmp_path / "ok" / got.name).read_bytes() == b"public data\n"
    # The operator's choice: private data servers allowed.
    (allowed,) = fetch(open_store("http", policy=UrlPolicy(allow_private=True)),
                       f"{http_files.url}/here.txt", tmp_path / "allowed")
    assert allowed.bytes == len("only this machine sees me")


def test_a_run_naming_a_private_data_service_is_refused_before_anything(
        tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    logins = ServiceCredentials(store, CredentialVault(SqlCredentialRepository(store),
                                                       master_key=os.urandom(32)))
    logins.add("records", "b2share", "https://10.0.0.7", token="t")
    logistics = DataLogistics(lambda: logins, tmp_path / "runs")
    workflow = workflow_from_spec({
        "name": "probe", "steps": [{"name": "s", "application": "/app.py"}],
        "data_movements": [
            {"name": "meta", "direction": "in", "kind": "webdav",
             "source": "webdav://169.254.169.254/latest", "target": "inputs/m"},
            {"name": "share", "direction": "in", "kind": "webdav",
             "source": "webdav://127.0.0.1:8888/api", "target": "inputs/s"},
            {"name": "record", "direction": "out", "kind": "b2share", "source": "results",
             "target": "b2share://10.0.0.7"}]})
    with pytest.raises(ValidationError) as refused:
        plan(workflow, {}, url_policy=UrlPolicy(), logistics=logistics)
    fields = refused.value.details["fields"]
    assert set(fields) == {"meta", "share", "record"}
    assert all("loopback, link-local or private" in m for m in fields.values())
    allowed = plan(workflow, {}, url_policy=UrlPolicy(allow_private=True), logistics=logistics)
    assert {i.name for i in allowed.stage_in} == {"meta", "share"}
    # A run re-planned after a restart (its stage-out) is not refused again.
    assert plan(workflow, {}, check_local=False, url_policy=UrlPolicy(),
                logistics=logistics).stage_out


def test_a_periodic_transfer_neither_reads_nor_writes_the_servers_secrets(
        tmp_path: Path) -> None:
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs")
    services = Services(config)
    try:
        services.vault  # noqa: B018 - the key file exists
        for field, spec in (
                ("source", {"source": str(tmp_path / "vault.key"),
                            "target": "webdav://dav.example.org/leak"}),
                ("source", {"source": str(tmp_path), "target": "webdav://dav.example.org/x"}),
                ("target", {"source": "https://example.org/authorized_keys",
                            "target": str(Path.home() / ".ssh")})):
            with pytest.raises(ValidationError, match="private data") as refused:
                services.transfers.add({"name": "n", "every": "1h", **spec})
            assert list(refused.value.details["fields"]) == [field]
        with pytest.raises(ValidationError, match="carries") as refused:
            services.transfers.add({"name": "n", "every": "1h", "target": str(tmp_path / "m"),
                                    "source": "https://example.org/x?access_token=abc"})
        assert list(refused.value.details["fields"]) == ["source"]
        assert services.transfers.list() == []
    finally:
        services.close()
