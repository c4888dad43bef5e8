"""Data service logins in the vault: encrypted at rest, found by URL, never shown or logged."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import (
    CredentialNotFound,
    CredentialVault,
    MasterKeyError,
    SqlCredentialRepository,
    VaultError,
)
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.state import StateStore

SECRET = "b2drop-app-password-XYZ"


@pytest.fixture
def state(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")


def logins(state: StateStore, key: bytes | None = None) -> ServiceCredentials:
    vault = CredentialVault(SqlCredentialRepository(state), master_key=key or KEY)
    return ServiceCredentials(state, vault)


KEY = os.urandom(32)


def test_secret_is_stored_encrypted_and_never_shown(state: StateStore, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    creds = logins(state)
    info = creds.add("b2drop", "webdav", "https://b2drop.eudat.eu/remote.php/webdav",
                     username="me", secret=SECRET)
    assert SECRET not in repr(info.to_dict()) and SECRET not in repr(creds.list())
    assert creds.get(info.id).username == "me"
    used = creds.secret_for_use(info.id)
    assert used.secret == SECRET and SECRET not in repr(used)
    state.close()
    assert SECRET.encode() not in (tmp_path / "state.sqlite").read_bytes()
    for wal in tmp_path.glob("state.sqlite*"):
        assert SECRET.encode() not in wal.read_bytes()
    assert SECRET not in caplog.text


def test_another_master_key_cannot_decrypt(state: StateStore) -> None:
    info = logins(state).add("s3", "s3", "s3://bucket", username="AKIA", secret=SECRET,
                             options={"endpoint_url": "http://127.0.0.1:9000"})
    with pytest.raises(MasterKeyError, match="another master key"):
        logins(state, os.urandom(32)).secret_for_use(info.id)


def test_found_by_the_longest_url_prefix(state: StateStore) -> None:
    creds = logins(state)
    share = creds.add("share", "webdav", "webdavs://b2drop.eudat.eu/remote.php/webdav",
                      username="a", secret="1")
    team = creds.add("team", "webdav", "https://b2drop.eudat.eu/remote.php/webdav/team",
                     username="b", secret="2")
    bucket = creds.add("bucket", "s3", "s3://results", username="k", secret="s")
    found = creds.find("https://b2drop.eudat.eu/remote.php/webdav/team/run/x.txt")
    assert found is not None and found.id == team.id
    found = creds.find("webdavs://b2drop.eudat.eu/remote.php/webdav/mine/x.txt")
    assert found is not None and found.id == share.id
    found = creds.find("s3://results/run-1/")
    assert found is not None and found.id == bucket.id
    assert creds.find("https://other.example.org/x") is None
    assert creds.find("s3://results-other/x") is None


@pytest.mark.parametrize(("kind", "url", "extra", "message"), [
    ("ftp", "ftp://x", {}, "kind must be one of"),
    ("webdav", "s3://x", {"username": "u", "secret": "p"}, "url must be"),
    ("webdav", "https://u:p@host/dav", {"username": "u", "secret": "p"}, "must not hold"),
    ("webdav", "https://host/dav", {"username": "u"}, "needs a username"),
    ("b2share", "https://b2share.eudat.eu", {}, "access token"),
    ("s3", "s3://b", {"username": "u", "secret": "p", "options": {"acl": "x"}}, "unknown"),
])
def test_bad_logins_are_refused_with_the_field(state: StateStore, kind: str, url: str,
                                               extra: dict, message: str) -> None:
    with pytest.raises(VaultError, match=message) as error:
        logins(state).add("n", kind, url, **extra)
    assert error.value.status == 400
    assert "p@" not in str(error.value.to_dict())


def test_delete_forgets_it(state: StateStore) -> None:
    creds = logins(state)
    info = creds.add("t", "b2share", "https://b2share.eudat.eu", token="tok")
    creds.delete(info.id)
    with pytest.raises(CredentialNotFound):
        creds.get(info.id)
    with pytest.raises(CredentialNotFound):
        creds.delete(info.id)
