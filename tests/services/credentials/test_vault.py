"""The credential vault: generation, import, encryption at rest, no leaks, deletion."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, rsa

from eflows_kernel.services.credentials import (
    CredentialNotFound,
    CredentialVault,
    InMemoryCredentialRepository,
    JsonFileCredentialRepository,
    MasterKeyError,
    VaultError,
)
from tests.services.credentials.key_material import (
    PASSPHRASE,
    SSH_KEYGEN,
    certificate_for,
    ec_key,
    ed25519_key,
    openssh,
    pem,
    private_material,
    public_line,
    rsa_key,
)


@pytest.fixture
def vault() -> CredentialVault:
    return CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))


def expected_fingerprint(public_key: str) -> str:
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def ssh_keygen_fingerprint(public_key: str, tmp_path: Path) -> str:
    path = tmp_path / "key.pub"
    path.write_text(public_key + "\n")
    out = subprocess.run([SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[1]


# ---- generation ----------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "bits", "prefix"), [
    ("ed25519", None, "ssh-ed25519 "),
    ("rsa", 2048, "ssh-rsa "),
])
def test_generate_gives_public_info_and_a_usable_key(vault: CredentialVault, kind: str,
                                                     bits: int | None, prefix: str,
                                                     tmp_path: Path) -> None:
    info = vault.generate("cluster A", kind=kind, bits=bits, comment="me@laptop")
    assert info.kind == kind
    assert info.name == "cluster A"
    assert info.comment == "me@laptop"
    assert info.public_key.startswith(prefix)
    assert info.public_key.endswith(" me@laptop")
    assert not info.has_certificate
    assert info.created_at.tzinfo is not None
    assert info.fingerprint == expected_fingerprint(info.public_key)
    if SSH_KEYGEN:
        assert info.fingerprint == ssh_keygen_fingerprint(info.public_key, tmp_path)
    key = vault.private_key_for_use(info.id)
    assert public_line(key) == " ".join(info.public_key.split()[:2])
    assert info.to_dict()["id"] == info.id


def test_rsa_defaults_to_4096_bits(vault: CredentialVault) -> None:
    info = vault.generate("big", kind="rsa")
    key = vault.private_key_for_use(info.id)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 4096


def test_comment_defaults_to_the_name(vault: CredentialVault) -> None:
    info = vault.generate("mn5")
    assert info.comment == "mn5"
    assert vault.public_key(info.id).endswith(" mn5")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "dsa"}, "unknown key kind"),
    ({"kind": "rsa", "bits": 1024}, "between 2048"),
    ({"kind": "ed25519", "bits": 4096}, "fixed size"),
    ({"comment": "two\nlines"}, "control characters"),
])
def test_generate_rejects_bad_arguments(vault: CredentialVault, kwargs: dict,
                                        message: str) -> None:
    with pytest.raises(VaultError, match=message):
        vault.generate("x", **kwargs)
    assert vault.list() == []


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "tab\there"])
def test_names_must_be_one_printable_line(vault: CredentialVault, name: str) -> None:
    with pytest.raises(VaultError):
        vault.generate(name)


def test_ids_are_unguessable_tokens(vault: CredentialVault) -> None:
    ids = {vault.generate(f"k{i}").id for i in range(5)}
    assert len(ids) == 5
    for credential_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", credential_id)


# ---- import --------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: openssh(ed25519_key()),
    lambda: openssh(rsa_key()),
    lambda: pem(ed25519_key()),
    lambda: pem(rsa_key(), fmt=ser.PrivateFormat.TraditionalOpenSSL),
    lambda: pem(ec_key(), fmt=ser.PrivateFormat.TraditionalOpenSSL),
], ids=["openssh-ed25519", "openssh-rsa", "pkcs8-ed25519", "pem-rsa", "pem-ec"])
def test_import_clear_keys(vault: CredentialVault, make) -> None:
    text = make()
    info = vault.import_key("imported", text)
    key = vault.private_key_for_use(info.id)
    original = ser.load_ssh_private_key(text.encode(), None) if "OPENSSH" in text \
        else ser.load_pem_private_key(text.encode(), None)
    assert public_line(key) == public_line(original)
    assert info.fingerprint == expected_fingerprint(info.public_key)


@pytest.mark.parametrize("make", [
    lambda: openssh(ed25519_key(), PASSPHRASE),
    lambda: openssh(rsa_key(), PASSPHRASE),
    lambda: pem(ed25519_key(), PASSPHRASE),
    lambda: pem(rsa_key(), PASSPHRASE, fmt=ser.PrivateFormat.TraditionalOpenSSL),
], ids=["openssh-ed25519", "openssh-rsa", "pkcs8-ed25519", "pem-rsa"])
def test_import_encrypted_keys(vault: CredentialVault, make) -> None:
    text = make()
    info = vault.import_key("secret", text.encode(), passphrase=PASSPHRASE)
    assert vault.private_key_for_use(info.id) is not None
    with pytest.raises(VaultError, match="wrong passphrase"):
        vault.import_key("secret", text, passphrase="not the passphrase")
    with pytest.raises(VaultError, match="protected by a passphrase"):
        vault.import_key("secret", text)
    assert len(vault.list()) == 1


def test_a_passphrase_for_a_clear_key_is_ignored(vault: CredentialVault) -> None:
    info = vault.import_key("clear", openssh(ed25519_key()), passphrase="unneeded")
    assert info.kind == "ed25519"


@pytest.mark.parametrize("args", [
    ["-t", "ed25519"], ["-t", "rsa", "-b", "2048"], ["-t", "rsa", "-b", "2048", "-m", "PEM"],
    ["-t", "ecdsa"],
])
def test_import_keys_made_by_ssh_keygen(vault: CredentialVault, tmp_path: Path,
                                        args: list[str]) -> None:
    path = tmp_path / "id"
    subprocess.run([SSH_KEYGEN, "-q", *args, "-N", PASSPHRASE, "-C", "me@host", "-f",
                    str(path)], check=True)
    info = vault.import_key("from ssh-keygen", path.read_text(), passphrase=PASSPHRASE)
    pub = path.with_suffix(".pub").read_text().split()
    assert info.public_key.split()[:2] == pub[:2]
    assert info.fingerprint == ssh_keygen_fingerprint(" ".join(pub), tmp_path)
    with pytest.raises(VaultError, match="wrong passphrase"):
        vault.import_key("x", path.read_text(), passphrase="wrong passphrase")


GARBAGE = [
    ("hello world", "not a private key"),
    ("", "not a private key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAc2VjcmV0IHN0dWZm\n"
     "-----END OPENSSH PRIVATE KEY-----\n", "malformed"),
    ("-----BEGIN PRIVATE KEY-----\nAAAAc2VjcmV0IHN0dWZm\n-----END PRIVATE KEY-----\n",
     "malformed"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMkozpowGFwrGgh me", "public key"),
    ("PuTTY-User-Key-File-3: ssh-ed25519\n", "puttygen"),
]


@pytest.mark.parametrize(("text", "message"), GARBAGE)
def test_garbage_is_refused_without_echoing_it(vault: CredentialVault, text: str,
                                               message: str) -> None:
    with pytest.raises(VaultError, match=message) as caught:
        vault.import_key("bad", text)
    assert "c2VjcmV0IHN0dWZm" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_truncated_key_error_does_not_echo_it(vault: CredentialVault) -> None:
    text = openssh(ed25519_key())
    body = text.splitlines()[1:-1]
    broken = "\n".join([text.splitlines()[0], *body[:2], text.splitlines()[-1]])
    with pytest.raises(VaultError) as caught:
        vault.import_key("bad", broken)
    assert all(line not in str(caught.value) for line in body)


def test_weak_or_unsupported_keys_are_refused(vault: CredentialVault) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(VaultError, match="at least 2048"):
        vault.import_key("weak", pem(weak))
    try:
        dsa_key = dsa.generate_private_key(key_size=2048)
    except Exception:  # some OpenSSL builds drop DSA entirely
        return
    with pytest.raises(VaultError, match="unsupported key type"):
        vault.import_key("dsa", pem(dsa_key))


# ---- certificates --------------------------------------------------------------------------

def test_import_with_matching_certificate(vault: CredentialVault) -> None:
    key = ed25519_key()
    cert = certificate_for(key)
    info = vault.import_key("with cert", openssh(key), certificate=cert + "\n")
    assert info.has_certificate
    assert vault.certificate(info.id) == cert.strip()


def test_certificate_for_another_key_is_refused(vault: CredentialVault) -> None:
    key = ed25519_key()
    with pytest.raises(VaultError, match="issued for another key"):
        vault.import_key("mismatch", openssh(key), certificate=certificate_for(ed25519_key()))
    assert vault.list() == []


@pytest.mark.parametrize(("cert", "message"), [
    ("garbage", "not a valid OpenSSH certificate"),
    ("line one\nline two", "one line"),
])
def test_malformed_certificates_are_refused(vault: CredentialVault, cert: str,
                                            message: str) -> None:
    with pytest.raises(VaultError, match=message):
        vault.import_key("x", openssh(ed25519_key()), certificate=cert)


def test_a_plain_public_key_is_not_a_certificate(vault: CredentialVault) -> None:
    key = ed25519_key()
    with pytest.raises(VaultError, match="not an OpenSSH certificate"):
        vault.import_key("x", openssh(key), certificate=public_line(key))


def test_attach_and_remove_certificate(vault: CredentialVault) -> None:
    info = vault.generate("renewable")
    key = vault.private_key_for_use(info.id)
    with pytest.raises(VaultError, match="another key"):
        vault.attach_certificate(info.id, certificate_for(ed25519_key()))
    assert vault.attach_certificate(info.id, certificate_for(key)).has_certificate
    assert vault.get(info.id).has_certificate
    assert not vault.attach_certificate(info.id, None).has_certificate
    assert vault.certificate(info.id) is None


def test_certificate_signed_by_ssh_keygen(vault: CredentialVault, tmp_path: Path) -> None:
    for name in ("ca", "user"):
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp_path / name)], check=True)
    subprocess.run([SSH_KEYGEN, "-q", "-s", str(tmp_path / "ca"), "-I", "tester",
                    "-n", "tester", "-V", "+1h", str(tmp_path / "user.pub")], check=True)
    cert = (tmp_path / "user-cert.pub").read_text()
    info = vault.import_key("user", (tmp_path / "user").read_text(), certificate=cert)
    assert info.has_certificate
    with pytest.raises(VaultError, match="another key"):
        vault.import_key("ca", (tmp_path / "ca").read_text(), certificate=cert)


# ---- encryption at rest --------------------------------------------------------------------

def test_records_hold_ciphertext_only(vault: CredentialVault) -> None:
    key = ed25519_key()
    info = vault.import_key("k", openssh(key))
    record = vault.repository.get(info.id)
    for secret in private_material(key):
        assert secret not in record.ciphertext
    assert len(record.nonce) == 12


def test_ciphertext_is_bound_to_its_record_id(vault: CredentialVault) -> None:
    first = vault.generate("first")
    second = vault.generate("second")
    repo = vault.repository
    moved = dataclasses.replace(repo.get(second.id), nonce=repo.get(first.id).nonce,
                                ciphertext=repo.get(first.id).ciphertext)
    repo.update(moved)
    with pytest.raises(VaultError, match="altered or copied"):
        vault.private_key_for_use(second.id)
    assert vault.private_key_for_use(first.id) is not None


def test_tampered_ciphertext_is_detected(vault: CredentialVault) -> None:
    info = vault.generate("k")
    record = vault.repository.get(info.id)
    flipped = bytes([record.ciphertext[0] ^ 1]) + record.ciphertext[1:]
    vault.repository.update(dataclasses.replace(record, ciphertext=flipped))
    with pytest.raises(VaultError, match="altered"):
        vault.private_key_for_use(info.id)


def test_another_master_key_is_reported_as_such(vault: CredentialVault) -> None:
    info = vault.generate("k")
    other = CredentialVault(vault.repository, master_key=os.urandom(32))
    with pytest.raises(MasterKeyError, match="another master key"):
        other.private_key_for_use(info.id)


def test_same_key_encrypts_differently_each_time(vault: CredentialVault) -> None:
    text = openssh(ed25519_key())
    a = vault.repository.get(vault.import_key("a", text).id)
    b = vault.repository.get(vault.import_key("b", text).id)
    assert a.nonce != b.nonce
    assert a.ciphertext != b.ciphertext
    assert a.fingerprint == b.fingerprint


# ---- persistence and leaks -----------------------------------------------------------------

def test_json_repository_round_trip_and_no_private_material(tmp_path: Path) -> None:
    master = os.urandom(32)
    path = tmp_path / "store" / "credentials.json"
    vault = CredentialVault(JsonFileCredentialRepository(path), master_key=master)
    keys = [ed25519_key(), rsa_key()]
    infos = [vault.import_key("ed", openssh(keys[0], PASSPHRASE), passphrase=PASSPHRASE),
             vault.import_key("rsa", pem(keys[1]), certificate=certificate_for(keys[1]))]
    infos.append(vault.generate("generated"))
    keys.append(vault.private_key_for_use(infos[2].id))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    text = raw.decode()
    assert "PRIVATE KEY" not in text
    assert PASSPHRASE not in text
    assert b"OPENSSH" not in raw
    for key in keys:
        for secret in private_material(key):
            assert base64.b64encode(secret) not in raw
            assert base64.b64encode(secret)[:40] not in raw
            assert secret.hex().encode() not in raw
            assert secret not in raw

    reopened = CredentialVault(JsonFileCredentialRepository(path), master_key=master)
    assert reopened.list() == infos
    for info, key in zip(infos, keys, strict=True):
        assert public_line(reopened.private_key_for_use(info.id)) == public_line(key)


def test_reprs_never_show_private_material(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = CredentialVault(JsonFileCredentialRepository(tmp_path / "c.json"),
                            master_key=master)
    key = ed25519_key()
    info = vault.import_key("k", openssh(key))
    record = vault.repository.get(info.id)
    shown = " ".join([repr(vault), str(vault), repr(info), str(info), repr(record),
                      str(record), repr(vault.repository), repr(vault.list()),
                      repr(info.to_dict())])
    forbidden = [*private_material(key), master, record.ciphertext, record.nonce]
    for secret in forbidden:
        for form in (base64.b64encode(secret), secret.hex().encode(), repr(secret).encode()):
            assert form.decode("latin-1") not in shown
    assert "PRIVATE" not in shown
    assert "ciphertext" not in shown


def test_vault_keeps_no_attribute_holding_the_master_key() -> None:
    master = os.urandom(32)
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=master)
    assert all(value != master for value in vars(vault).values())


# ---- reading, deleting ---------------------------------------------------------------------

def test_list_get_public_key_and_authorized_keys_line(vault: CredentialVault) -> None:
    a = vault.generate("a")
    b = vault.generate("b", kind="rsa", bits=2048)
    assert [i.id for i in vault.list()] == [a.id, b.id]
    assert vault.get(b.id) == b
    assert vault.public_key(a.id) == a.public_key
    line = vault.authorized_keys_line(a.id)
    assert line == f"{' '.join(a.public_key.split()[:2])} eflows:{a.id}"
    assert "\n" not in line


def test_delete(vault: CredentialVault) -> None:
    keep = vault.generate("keep")
    gone = vault.generate("gone")
    vault.delete(gone.id)
    assert [i.id for i in vault.list()] == [keep.id]
    for call in (vault.get, vault.private_key_for_use, vault.delete, vault.public_key,
                 vault.authorized_keys_line):
        with pytest.raises(CredentialNotFound):
            call(gone.id)
    assert vault.repository.get(gone.id) is None


@pytest.mark.parametrize("bad_id", ["", "nope", "../../etc/passwd", "x" * 500, None, 42])
def test_unknown_ids_are_not_found(vault: CredentialVault, bad_id: object) -> None:
    with pytest.raises(CredentialNotFound) as caught:
        vault.get(bad_id)  # type: ignore[arg-type]
    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, VaultError)


def test_json_repository_rejects_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("[1, 2]")
    vault = CredentialVault(JsonFileCredentialRepository(path), master_key=os.urandom(32))
    with pytest.raises(VaultError, match="not a credential store"):
        vault.list()


def test_imported_key_object_type(vault: CredentialVault) -> None:
    info = vault.import_key("k", pem(ed25519_key()))
    assert isinstance(vault.private_key_for_use(info.id), ed25519.Ed25519PrivateKey)


def test_credential_ids_never_start_like_a_command_line_option():
    from eflows_kernel.services.credentials.vault import new_credential_id

    ids = [new_credential_id() for _ in range(2000)]
    assert all(i[0].isalnum() for i in ids) and len(set(ids)) == len(ids)


def test_metadata_is_kept_and_listed_with_the_key(vault: CredentialVault) -> None:
    info = vault.generate("hpcwaas", metadata={"project": "climate", "n": 3,
                                                "privateKey": "x", "publicKey": "y"})
    assert info.metadata == {"project": "climate", "n": 3}  # HPCWaaS' reserved names dropped
    assert vault.get(info.id).metadata == {"project": "climate", "n": 3}
    assert vault.list()[0].to_dict()["metadata"] == {"project": "climate", "n": 3}
    assert vault.generate("plain").metadata == {}


@pytest.mark.parametrize(("metadata", "message"), [
    ("notes", "JSON object"), ({"": 1}, "1 to 64"), ({"x" * 65: 1}, "1 to 64"),
    ({f"k{i}": i for i in range(33)}, "at most 32"), ({"k": "v" * 5000}, "too large"),
    ({"k": object()}, "must be JSON"),
    ({"key": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"}, "must not hold a private key")])
def test_bad_metadata_is_refused_naming_the_field(vault: CredentialVault, metadata: object,
                                                  message: str) -> None:
    with pytest.raises(VaultError, match=message) as caught:
        vault.generate("k", metadata=metadata)  # type: ignore[arg-type]
    assert "metadata" in caught.value.details["errors"]
    assert "BEGIN OPENSSH" not in str(caught.value)
    assert vault.list() == []
