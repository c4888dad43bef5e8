"""The vault on the state database: SqlCredentialRepository.

The vault's own behaviour tests run here again with an SQL repository (their
``vault`` fixture is overridden below), then the SQLite file itself is checked
for leaks.
"""

from __future__ import annotations

import base64
import inspect
import os
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import (
    CredentialRecord,
    CredentialVault,
    SqlCredentialRepository,
    VaultError,
)
from eflows_kernel.services.state import StateStore
from tests.services.credentials import test_vault, test_vault_revoke
from tests.services.credentials.key_material import (
    PASSPHRASE,
    certificate_for,
    ed25519_key,
    openssh,
    pem,
    private_material,
    public_line,
    rsa_key,
)

# Every vault test that takes the ``vault`` fixture, collected again in this module.
for _module in (test_vault, test_vault_revoke):
    for _name, _test in vars(_module).items():
        if _name.startswith("test_") and "vault" in inspect.signature(_test).parameters:
            globals()[f"{_name}_on_sql"] = _test


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield store


@pytest.fixture
def vault(state: StateStore) -> CredentialVault:
    return CredentialVault(SqlCredentialRepository(state), master_key=os.urandom(32))


def _record(n: int, **changes: object) -> CredentialRecord:
    values = {"id": f"id{n}", "name": f"k{n}", "kind": "ed25519",
              "public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:x", "comment": "",
              "created_at": datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n),
              "key_id": "abc", "nonce": bytes(12), "ciphertext": b"\x00\xff" * 20}
    return CredentialRecord(**{**values, **changes})


def test_repository_contract(state: StateStore) -> None:
    repo = SqlCredentialRepository(state)
    later = _record(2, certificate="ssh-ed25519-cert-v01@openssh.com AAAA")
    cet = timezone(timedelta(hours=1))
    earlier = _record(1, created_at=datetime(2024, 1, 1, 1, 0, 30, 123456, tzinfo=cet))
    repo.add(later)
    repo.add(earlier)
    assert repo.get("id2") == later
    assert repo.get("id1") == earlier  # same instant, returned in UTC
    assert repo.list() == [earlier, later]
    with pytest.raises(VaultError, match="already exists"):
        repo.add(later)
    changed = later.with_certificate(None)
    repo.update(changed)
    assert repo.get("id2") == changed
    with pytest.raises(VaultError, match="to update"):
        repo.update(_record(3))
    assert repo.delete("id1") is True
    assert repo.delete("id1") is False
    assert repo.get("id1") is None
    assert repo.get(None) is None  # type: ignore[arg-type]
    assert [r.id for r in repo.list()] == ["id2"]


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_sqlite_round_trip_and_no_private_material(tmp_path: Path) -> None:
    master = os.urandom(32)
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'state.sqlite'}"
    state = StateStore(url)
    vault = CredentialVault(SqlCredentialRepository(state), master_key=master)
    keys = [ed25519_key(), rsa_key()]
    infos = [vault.import_key("ed", openssh(keys[0], PASSPHRASE), passphrase=PASSPHRASE),
             vault.import_key("rsa", pem(keys[1]), certificate=certificate_for(keys[1]))]
    infos.append(vault.generate("generated"))
    keys.append(vault.private_key_for_use(infos[2].id))

    for raw in (_all_bytes(folder), None):  # with the WAL live, then after closing
        if raw is None:
            state.close()
            raw = _all_bytes(folder)
        assert b"PRIVATE KEY" not in raw
        assert PASSPHRASE.encode() not in raw
        assert b"OPENSSH" not in raw
        for key in keys:
            for secret in private_material(key):
                assert secret not in raw
                assert base64.b64encode(secret)[:40] not in raw
                assert secret.hex().encode() not in raw
    for file in folder.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600

    with StateStore(url) as reopened_state:
        reopened = CredentialVault(SqlCredentialRepository(reopened_state), master_key=master)
        assert reopened.list() == infos
        for info, key in zip(infos, keys, strict=True):
            assert public_line(reopened.private_key_for_use(info.id)) == public_line(key)
