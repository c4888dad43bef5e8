"""Where the vault's master key comes from: argument, EFLOWS_VAULT_KEY, or a 0600 key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import (
    ENV_VAR,
    KEY_FILE_NAME,
    CredentialVault,
    InMemoryCredentialRepository,
    JsonFileCredentialRepository,
    MasterKeyError,
    VaultError,
    new_master_key,
)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / KEY_FILE_NAME
    store = tmp_path / "data" / "credentials.json"
    vault = CredentialVault(JsonFileCredentialRepository(store), key_file=key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(base64.b64decode(key_file.read_text())) == 32
    info = vault.generate("k")

    again = CredentialVault(JsonFileCredentialRepository(store), key_file=key_file)
    assert again.private_key_for_use(info.id) is not None
    master = base64.b64decode(key_file.read_text())
    direct = CredentialVault(JsonFileCredentialRepository(store), master_key=master)
    assert direct.private_key_for_use(info.id) is not None
    assert str(key_file) in repr(vault)
    assert key_file.read_text().strip() not in repr(vault)


def test_key_file_is_created_0600_despite_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        CredentialVault(InMemoryCredentialRepository(), key_file=tmp_path / KEY_FILE_NAME)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(new_master_key())
    key_file.chmod(mode)
    with pytest.raises(MasterKeyError, match=f"run: chmod 600 {key_file}") as caught:
        CredentialVault(InMemoryCredentialRepository(), key_file=key_file)
    assert f"{mode:04o}" in str(caught.value)
    assert key_file.read_text() not in str(caught.value)
    key_file.chmod(0o600)
    CredentialVault(InMemoryCredentialRepository(), key_file=key_file)


@pytest.mark.parametrize("content", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_malformed_key_file_is_refused(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(content)
    key_file.chmod(0o600)
    with pytest.raises(MasterKeyError, match="base64 encoding of 32 random bytes"):
        CredentialVault(InMemoryCredentialRepository(), key_file=key_file)


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    key_dir = tmp_path / "dir.key"
    key_dir.mkdir(mode=0o700)
    with pytest.raises(MasterKeyError, match=r"dir\.key"):
        CredentialVault(InMemoryCredentialRepository(), key_file=key_dir)


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_environment_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, encode) -> None:
    master = os.urandom(32)
    monkeypatch.setenv(ENV_VAR, encode(master).decode())
    repo = InMemoryCredentialRepository()
    key_file = tmp_path / KEY_FILE_NAME
    vault = CredentialVault(repo, key_file=key_file)
    assert not key_file.exists()  # configuration wins over the file
    assert "environment" in repr(vault)
    info = vault.generate("k")
    monkeypatch.delenv(ENV_VAR)
    assert CredentialVault(repo, master_key=master).private_key_for_use(info.id) is not None


@pytest.mark.parametrize("value", ["c2hvcnQ=", "definitely not base64 %%%",
                                   base64.b64encode(os.urandom(64)).decode()])
def test_bad_environment_key_is_refused_without_echo(monkeypatch: pytest.MonkeyPatch,
                                                     value: str) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(MasterKeyError, match=ENV_VAR) as caught:
        CredentialVault(InMemoryCredentialRepository())
    assert value not in str(caught.value)


def test_no_key_at_all_is_a_clear_error() -> None:
    with pytest.raises(MasterKeyError, match=f"set {ENV_VAR}"):
        CredentialVault(InMemoryCredentialRepository())


@pytest.mark.parametrize("master", [b"", b"x" * 16, b"x" * 33, "x" * 32])
def test_argument_key_must_be_32_bytes(master: object) -> None:
    with pytest.raises(MasterKeyError, match="32 bytes"):
        CredentialVault(InMemoryCredentialRepository(), master_key=master)  # type: ignore[arg-type]


def test_master_key_errors_are_vault_errors() -> None:
    assert issubclass(MasterKeyError, VaultError)
