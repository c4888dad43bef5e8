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


def test_a_key_with_a_costly_passphrase_is_refused_before_deriving_it() -> None:
    """The sender picks the bcrypt rounds; a million would hold a server thread for hours."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from eflows_kernel.services.credentials import InMemoryCredentialRepository

    key = ed25519.Ed25519PrivateKey.generate()
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=b"k" * 32)
    for rounds, accepted in ((16, True), (1_000_000, False)):
        # Encrypting with a million rounds would itself take hours: patch the count in.
        encryption = serialization.PrivateFormat.OpenSSH.encryption_builder() \
            .kdf_rounds(16).build(b"pw")
        text = key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.OpenSSH, encryption)
        if not accepted:
            text = _with_rounds(text, rounds)
        if accepted:
            assert vault.import_key("ok", text, "pw").kind == "ed25519"
        else:
            with pytest.raises(VaultError, match="1000000 bcrypt rounds"):
                vault.import_key("slow", text, "pw")


def _with_rounds(pem: bytes, rounds: int) -> bytes:
    import base64

    lines = pem.strip().splitlines()
    blob = bytearray(base64.b64decode(b"".join(lines[1:-1])))
    at = len(b"openssh-key-v1\0")
    for _ in range(2):  # past the cipher and KDF names
        at += 4 + int.from_bytes(blob[at:at + 4], "big")
    salt = int.from_bytes(blob[at + 4:at + 8], "big")
    where = at + 8 + salt
    blob[where:where + 4] = rounds.to_bytes(4, "big")
    body = base64.b64encode(bytes(blob))
    return b"\n".join([lines[0], *[body[i:i + 70] for i in range(0, len(body), 70)],
                       lines[-1]]) + b"\n"
