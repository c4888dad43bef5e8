"""The credential vault: SSH keys for the clusters, encrypted at rest, usable in memory.

A user generates or imports a key here, appends :meth:`CredentialVault.authorized_keys_line`
to the cluster's ``~/.ssh/authorized_keys``, and passes the credential id to a
workflow as ``vault_id`` (the HPCWaaS ``POST /ssh_keys`` contract). The private
key never leaves in clear: records hold AES-256-GCM ciphertext bound to their
id, and :meth:`CredentialVault.private_key_for_use` decrypts into memory only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eflows_kernel.services.credentials import keys
from eflows_kernel.services.credentials.errors import CredentialNotFound, MasterKeyError, VaultError
from eflows_kernel.services.credentials.master_key import KEY_BYTES, resolve_master_key
from eflows_kernel.services.credentials.repository import (
    RECORD_FORMAT,
    CredentialRecord,
    CredentialRepository,
)

AUTHORIZED_KEYS_TAG = "eflows"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_credential_id() -> str:
    """An unguessable id that starts with a letter or digit.

    Ids are typed on command lines (``eflows ssh-keys authorize ID``): one starting
    with "-" would be read as an option, so those are drawn again.
    """
    while True:
        credential_id = secrets.token_urlsafe(16)
        if credential_id[0].isalnum():
            return credential_id


_NONCE_BYTES = 12
# HPCWaaS keeps the key pair under these names beside the metadata: never metadata itself.
RESERVED_METADATA = frozenset({"privateKey", "publicKey"})
MAX_METADATA_KEYS = 32
MAX_METADATA_BYTES = 4096


def _bad_metadata(message: str) -> VaultError:
    return VaultError(message, errors={"metadata": message})


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The owner's notes on a key, as stored: a small JSON object of named values.

    ``privateKey`` and ``publicKey`` are left out, as HPCWaaS does (they name its own
    fields); a value that holds a private key is refused, since metadata is listed.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise _bad_metadata("metadata must be a JSON object of names to values")
    kept = {k: v for k, v in metadata.items() if k not in RESERVED_METADATA}
    if len(kept) > MAX_METADATA_KEYS:
        raise _bad_metadata(f"metadata has {len(kept)} entries (at most {MAX_METADATA_KEYS})")
    for name in kept:
        if not isinstance(name, str) or not 1 <= len(name) <= 64:
            raise _bad_metadata("metadata names must be strings of 1 to 64 characters")
    try:
        text = json.dumps(kept)
    except (TypeError, ValueError):
        raise _bad_metadata("metadata values must be JSON (strings, numbers, lists...)") from None
    if len(text.encode()) > MAX_METADATA_BYTES:
        raise _bad_metadata(f"metadata is too large (at most {MAX_METADATA_BYTES} bytes as JSON)")
    if "PRIVATE KEY" in text:
        raise _bad_metadata("metadata must not hold a private key (it is listed with the key)")
    return json.loads(text)  # a plain copy, detached from the caller's objects


@dataclass(frozen=True)
class CredentialInfo:
    """What anyone may see about a credential: the public half and its bookkeeping."""

    id: str
    name: str
    kind: str
    public_key: str  # OpenSSH line: "<type> <base64> [comment]"
    fingerprint: str  # "SHA256:...", as ssh-keygen -l prints it
    comment: str
    created_at: datetime
    has_certificate: bool
    metadata: dict[str, Any] = field(default_factory=dict)  # the owner's notes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the REST API."""
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "public_key": self.public_key, "fingerprint": self.fingerprint,
                "comment": self.comment, "created_at": self.created_at.isoformat(),
                "has_certificate": self.has_certificate, "metadata": dict(self.metadata)}


def _info(record: CredentialRecord) -> CredentialInfo:
    line = f"{record.public_key} {record.comment}" if record.comment else record.public_key
    return CredentialInfo(id=record.id, name=record.name, kind=record.kind, public_key=line,
                          fingerprint=record.fingerprint, comment=record.comment,
                          created_at=record.created_at,
                          has_certificate=record.certificate is not None,
                          metadata=dict(record.meta))


def _associated_data(record: CredentialRecord) -> bytes:
    """What the ciphertext is bound to: every public field of its record.

    Why all of them: the public key, fingerprint and certificate are what a user checks
    before authorizing a key on a cluster; someone who can write the database could
    otherwise swap the public half shown while the private half stays another one.
    """
    if record.format == 1:  # the id only (records written before format 2)
        return f"eflows-vault/1/{record.id}".encode()
    created = record.created_at
    if created.tzinfo is not None:  # SQLite gives it back naive (UTC)
        created = created.astimezone(timezone.utc).replace(tzinfo=None)
    bound = {"id": record.id, "name": record.name, "kind": record.kind,
             "public_key": record.public_key, "fingerprint": record.fingerprint,
             "comment": record.comment, "created_at": created.isoformat(),
             "certificate": record.certificate, "key_id": record.key_id,
             "format": record.format}
    return f"eflows-vault/{record.format}\n".encode() + json.dumps(
        bound, sort_keys=True).encode()


def _key_id(key: bytes) -> str:
    return hmac.new(key, b"eflows-vault key id", hashlib.sha256).hexdigest()[:16]


class CredentialVault:
    """Generate, import, list and use SSH credentials, stored through a repository.

    The master key comes from ``master_key``, else ``EFLOWS_VAULT_KEY`` (base64
    of 32 bytes), else ``key_file`` (created 0600 on first use).
    """

    def __init__(self, repository: CredentialRepository, master_key: bytes | None = None,
                 key_file: Path | None = None) -> None:
        key, self._key_source = resolve_master_key(master_key, key_file,
                                                   stored=lambda: len(repository.list()))
        self._aead = AESGCM(key)
        # Names the master key in each record without revealing it (see CredentialRecord).
        self._key_id = _key_id(key)
        del key
        self.repository = repository

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(repository={self.repository!r}, "
                f"master key from {self._key_source})")

    @property
    def key_source(self) -> str:
        """Where the master key came from: "argument", "environment" or "file <path>"."""
        return self._key_source

    # ---- creating ----------------------------------------------------------------------

    def generate(self, name: str, kind: str = "ed25519", bits: int | None = None,
                 comment: str | None = None,
                 metadata: Mapping[str, Any] | None = None) -> CredentialInfo:
        """A new key pair (ed25519, or RSA of ``bits``, 4096 by default).

        ``comment`` defaults to ``name``; it only decorates the public key line.
        ``metadata`` is the owner's notes, listed with the key (HPCWaaS clients send it).
        """
        name = keys.check_label(name, "name", required=True)
        comment = keys.check_label(name if comment is None else comment, "comment",
                                   required=False)
        meta = check_metadata(metadata)
        return self._store(name, comment, keys.generate_private_key(kind, bits), None, meta)

    def import_key(self, name: str, private_key: str | bytes, passphrase: str | bytes | None = None,
                   certificate: str | None = None, comment: str | None = None) -> CredentialInfo:
        """Store an existing private key (OpenSSH or PEM, passphrase-protected or not).

        The passphrase only unlocks the key for import; the vault re-encrypts it
        under its master key, so the passphrase is not needed (nor kept) later.
        """
        name = keys.check_label(name, "name", required=True)
        comment = keys.check_label(name if comment is None else comment, "comment",
                                   required=False)
        if not isinstance(private_key, str | bytes):
            raise VaultError("private_key must be the text of the key file")
        key = keys.load_private_key(private_key, passphrase)
        cert = keys.check_certificate(certificate, key) if certificate is not None else None
        return self._store(name, comment, key, cert)

    def _store(self, name: str, comment: str, key: keys.PrivateKey,
               certificate: str | None, meta: dict[str, Any] | None = None) -> CredentialInfo:
        public = keys.public_key_line(key)
        record = self._sealed(CredentialRecord(
            id=new_credential_id(), name=name, kind=keys.key_kind(key), public_key=public,
            fingerprint=keys.fingerprint(public), comment=comment,
            created_at=datetime.now(timezone.utc), certificate=certificate,
            meta=meta or {}),
            keys.private_bytes(key))
        self.repository.add(record)
        return _info(record)

    def _sealed(self, record: CredentialRecord, der: bytes,
                aead: AESGCM | None = None, key_id: str | None = None) -> CredentialRecord:
        """``record`` (public fields as given) with ``der`` encrypted under the master key
        (or ``aead``), in the current format, bound to those fields."""
        record = replace(record, key_id=key_id or self._key_id, format=RECORD_FORMAT,
                         nonce=secrets.token_bytes(_NONCE_BYTES), ciphertext=b"")
        return replace(record, ciphertext=(aead or self._aead).encrypt(
            record.nonce, der, _associated_data(record)))

    # ---- reading -----------------------------------------------------------------------

    def _record(self, credential_id: str) -> CredentialRecord:
        record = None
        if isinstance(credential_id, str) and _ID_PATTERN.match(credential_id):
            record = self.repository.get(credential_id)
        if record is None:
            raise CredentialNotFound(str(credential_id))
        return record

    def list(self) -> list[CredentialInfo]:
        return [_info(r) for r in self.repository.list()]

    def get(self, credential_id: str) -> CredentialInfo:
        return _info(self._record(credential_id))

    def public_key(self, credential_id: str) -> str:
        """The OpenSSH public key line, with the credential's comment."""
        return self.get(credential_id).public_key

    def certificate(self, credential_id: str) -> str | None:
        """The OpenSSH certificate line, if one was attached (it is public data)."""
        return self._record(credential_id).certificate

    def authorized_keys_line(self, credential_id: str) -> str:
        """The exact line to append to ``~/.ssh/authorized_keys`` on the cluster.

        Its comment ``eflows:<id>`` tells a person reading the file where the key
        comes from; removal (:meth:`revoke_line`) matches the key itself.
        """
        record = self._record(credential_id)
        return f"{record.public_key} {AUTHORIZED_KEYS_TAG}:{record.id}"

    def revoke_line(self, authorized_keys_text: str, credential_id: str) -> str:
        """``authorized_keys_text`` without this credential's key; other lines untouched."""
        record = self._record(credential_id)
        return keys.remove_authorized_key(authorized_keys_text, record.public_key)

    def private_key_for_use(self, credential_id: str) -> keys.PrivateKey:
        """The decrypted private key object (for paramiko), never written anywhere."""
        return keys.load_private_bytes(self._decrypted(self._record(credential_id)))

    def _decrypted(self, record: CredentialRecord) -> bytes:
        try:
            return self._aead.decrypt(record.nonce, record.ciphertext,
                                      _associated_data(record))
        except InvalidTag:
            if record.key_id and record.key_id != self._key_id:
                raise MasterKeyError(
                    f"credential {record.id!r} was encrypted with another master key "
                    "than the one this vault was started with") from None
            raise VaultError(f"credential {record.id!r} cannot be decrypted: its stored "
                             "record was altered or copied from another record") from None

    # ---- other secrets under the same master key ------------------------------------------

    @property
    def key_id(self) -> str:
        """Names the master key (an HMAC of it) in records encrypted with it."""
        return self._key_id

    def seal(self, purpose: str, record_id: str, secret: bytes) -> tuple[bytes, bytes]:
        """(nonce, ciphertext) of ``secret``, bound to ``purpose`` and ``record_id``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce, self._aead.encrypt(nonce, secret, f"eflows-vault/{purpose}/{record_id}"
                                         .encode())

    def unseal(self, purpose: str, record_id: str, nonce: bytes, ciphertext: bytes,
               key_id: str = "") -> bytes:
        """The secret :meth:`seal` encrypted; a clear error for a wrong key or a forgery."""
        try:
            return self._aead.decrypt(nonce, ciphertext,
                                      f"eflows-vault/{purpose}/{record_id}".encode())
        except InvalidTag:
            if key_id and key_id != self._key_id:
                raise MasterKeyError(f"{purpose} {record_id!r} was encrypted with another "
                                     "master key than the one this vault was started with") \
                    from None
            raise VaultError(f"{purpose} {record_id!r} cannot be decrypted: its stored "
                             "record was altered or copied from another record") from None

    # ---- changing ----------------------------------------------------------------------

    def attach_certificate(self, credential_id: str, certificate: str | None) -> CredentialInfo:
        """Set (or with None, remove) the OpenSSH certificate of a credential, e.g. renewed."""
        record = self._record(credential_id)
        der = self._decrypted(record)
        cert = None
        if certificate is not None:
            cert = keys.check_certificate(certificate, keys.load_private_bytes(der))
        updated = self._sealed(record.with_certificate(cert), der)  # the certificate is bound
        self.repository.update(updated)
        return _info(updated)

    def rotate_master_key(self, new_key: bytes) -> int:
        """Re-encrypt every record under ``new_key``; from now on this vault uses it.

        Every record is decrypted first, so one that cannot be (altered, another key)
        stops the rotation before anything was rewritten. Returns how many were.
        Writing the new key where the next start finds it is the caller's part
        (``master_key.rotate_key_file``), after this returned.
        """
        if not isinstance(new_key, bytes) or len(new_key) != KEY_BYTES:
            raise MasterKeyError(f"the new master key must be {KEY_BYTES} bytes")
        records = [(record, self._decrypted(record)) for record in self.repository.list()]
        aead = AESGCM(new_key)
        key_id = _key_id(new_key)
        for record, der in records:
            self.repository.update(self._sealed(record, der, aead, key_id))
        self._aead, self._key_id = aead, key_id
        return len(records)

    def delete(self, credential_id: str) -> None:
        """Forget a credential. Remove its line from the clusters too (:meth:`revoke_line`)."""
        record = self._record(credential_id)
        self.repository.delete(record.id)
