"""The vault against a lost key, a swapped record and a key that must change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eflows_kernel.services.app import Services, ServicesConfig
from eflows_kernel.services.credentials import (
    ENV_VAR,
    CredentialVault,
    MasterKeyError,
    SqlCredentialRepository,
    VaultError,
)
from eflows_kernel.services.state import StateStore


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def _vault(tmp_path: Path) -> tuple[StateStore, CredentialVault]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    return store, CredentialVault(SqlCredentialRepository(store),
                                  key_file=tmp_path / "vault.key")


def test_a_lost_key_file_is_not_silently_regenerated(tmp_path: Path) -> None:
    store, vault = _vault(tmp_path)
    vault.generate("a")
    vault.generate("b")
    (tmp_path / "vault.key").unlink()
    with pytest.raises(MasterKeyError, match=r"missing, but 2 credential.*Restore the file"):
        CredentialVault(SqlCredentialRepository(store), key_file=tmp_path / "vault.key")
    assert not (tmp_path / "vault.key").exists()
    store.close()


def test_the_ciphertext_is_bound_to_every_public_field(tmp_path: Path) -> None:
    """Swapping the public key (or fingerprint, certificate) shown with a record, in the
    database, makes the record unusable rather than showing a key that is not the one
    used."""
    store, vault = _vault(tmp_path)
    mine, other = vault.generate("mine"), vault.generate("other")
    assert vault.private_key_for_use(mine.id) is not None
    store.close()
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:
        public, fingerprint = conn.execute("SELECT public_key, fingerprint FROM credentials "
                                           "WHERE id = ?", (other.id,)).fetchone()
        conn.execute("UPDATE credentials SET public_key = ?, fingerprint = ? WHERE id = ?",
                     (public, fingerprint, mine.id))
    conn.close()
    store, vault = _vault(tmp_path)
    assert vault.get(mine.id).fingerprint == other.fingerprint  # what a user would be shown
    with pytest.raises(VaultError, match="altered"):
        vault.private_key_for_use(mine.id)
    assert vault.private_key_for_use(other.id) is not None
    store.close()


def test_rotating_the_master_key_re_encrypts_every_record(tmp_path: Path) -> None:
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs")
    services = Services(config)
    ids = [services.vault.generate(name).id for name in ("a", "b", "c")]
    old_key = (tmp_path / "vault.key").read_bytes()
    count, message = services.rotate_master_key()
    assert count == 3 and "vault.key.old" in message
    assert (tmp_path / "vault.key.old").read_bytes() == old_key
    assert (tmp_path / "vault.key").read_bytes() != old_key
    assert not (tmp_path / "vault.key.new").exists()
    for credential_id in ids:  # the running vault goes on with the new key
        assert services.vault.private_key_for_use(credential_id) is not None
    services.close()
    again = Services(config)
    for credential_id in ids:  # and so does the next start
        assert again.vault.private_key_for_use(credential_id) is not None
    again.close()
    store = StateStore(config.state_url)
    stale = CredentialVault(SqlCredentialRepository(store), key_file=tmp_path / "vault.key.old")
    with pytest.raises(MasterKeyError, match="another master key"):
        stale.private_key_for_use(ids[0])
    store.close()
