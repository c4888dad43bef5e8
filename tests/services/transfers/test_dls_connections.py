"""WebDAV object ids that are paths, as the DLS reads them: relative to a connection.

The eFlows4HPC Data Logistics Service resolves a WebDAV stage-in's ``oid`` to a path of
a configured WebDAV connection. Here a WebDAV login of the vault is bound to such a
connection by name (its ``dls_connection`` option); an unbound name is a field error
of the run saying which connection to bind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.deploy.staging import plan
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.hpc.transfer import UrlPolicy
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.transfers import DataLogistics
from eflows_kernel.services.transfers.locations import resolve
from eflows_kernel.services.workflows import workflow_from_spec


@pytest.fixture
def logins(tmp_path: Path) -> ServiceCredentials:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    return ServiceCredentials(store, CredentialVault(SqlCredentialRepository(store),
                                                     master_key=os.urandom(32)))


def test_a_webdav_path_is_read_relative_to_the_login_bound_to_its_connection(
        logins: ServiceCredentials) -> None:
    share = logins.add("share", "webdav", "https://dav.example.org/remote.php/webdav/",
                       username="u", secret="s", options={"dls_connection": "default"})
    other = logins.add("other", "webdav", "https://other.example.org/dav",
                       username="u", secret="s", options={"dls_connection": "b2drop"})
    found = resolve("Regions/", "webdav", logins)
    assert (found.url, found.credential_id) == (
        "https://dav.example.org/remote.php/webdav/Regions/", share.id)
    named = resolve("b2drop:/Templates", "webdav", logins)
    assert (named.url, named.credential_id) == ("https://other.example.org/dav/Templates",
                                                other.id)
    by_movement = resolve("Templates", "webdav", logins, connection="b2drop")
    assert by_movement.credential_id == other.id
    assert resolve("webdav://dav.example.org/x", "webdav", logins).url.startswith("webdav://")


def test_an_unbound_connection_is_a_field_error_naming_it(logins: ServiceCredentials,
                                                          tmp_path: Path) -> None:
    logins.add("share", "webdav", "https://dav.example.org/webdav", username="u", secret="s")
    workflow = workflow_from_spec({
        "name": "ptf", "steps": [{"name": "s", "application": "/app.py"}],
        "data_movements": [{"name": "regions", "direction": "in", "kind": "webdav",
                            "source": "Regions/", "target": "data"}]})
    with pytest.raises(ValidationError) as refused:
        plan(workflow, {}, url_policy=UrlPolicy(),
             logistics=DataLogistics(lambda: logins, tmp_path / "runs"))
    message = refused.value.details["fields"]["regions"]
    assert "DLS connection 'default'" in message and "dls_connection=default" in message
