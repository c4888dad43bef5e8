"""Where the vault keeps its records: a small interface plus memory and JSON-file versions.

The vault encrypts before it stores, so a repository only ever sees ciphertext
and public data; the SQLite layer written later implements the same five
methods and can reuse :meth:`CredentialRecord.to_dict` / ``from_dict`` for rows.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from eflows_kernel.services.credentials.errors import VaultError

RECORD_FORMAT = 2  # bump if the encryption scheme or the record layout changes
# 1: the ciphertext's associated data was the record id only; 2: every public field
# (vault.py: _associated_data). Records of format 1 are still read, and re-sealed as 2
# by a change of certificate or a master key rotation.


@dataclass(frozen=True)
class CredentialRecord:
    """One stored credential: public facts in clear, the private key as AES-GCM ciphertext.

    ``key_id`` names the master key that encrypted ``ciphertext`` (an HMAC of
    it, not the key), so a vault started with another key can say so instead of
    reporting every record as tampered with.
    """

    id: str
    name: str
    kind: str
    public_key: str  # "<type> <base64 blob>", no comment
    fingerprint: str
    comment: str
    created_at: datetime
    certificate: str | None = None
    key_id: str = ""
    nonce: bytes = field(default=b"", repr=False)
    ciphertext: bytes = field(default=b"", repr=False)
    format: int = RECORD_FORMAT
    meta: dict[str, Any] = field(default_factory=dict)  # the owner's notes (HPCWaaS metadata)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: bytes as base64, the date as ISO 8601."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["nonce"] = base64.b64encode(self.nonce).decode("ascii")
        data["ciphertext"] = base64.b64encode(self.ciphertext).decode("ascii")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CredentialRecord:
        values = dict(data)
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        values["nonce"] = base64.b64decode(values["nonce"])
        values["ciphertext"] = base64.b64decode(values["ciphertext"])
        return cls(**values)

    def with_certificate(self, certificate: str | None) -> CredentialRecord:
        return replace(self, certificate=certificate)


class CredentialRepository(Protocol):
    """Storage of credential records by id. Implementations must be thread-safe."""

    def add(self, record: CredentialRecord) -> None:
        """Store a new record; a second record with the same id is an error."""

    def get(self, credential_id: str) -> CredentialRecord | None: ...

    def list(self) -> list[CredentialRecord]:
        """Every record, oldest first."""

    def update(self, record: CredentialRecord) -> None:
        """Replace the record with the same id (which must exist)."""

    def delete(self, credential_id: str) -> bool:
        """Remove a record; False if there was none."""


class InMemoryCredentialRepository:
    """Records in a dict: for tests and for a throw-away in-process session."""

    def __init__(self) -> None:
        self._records: dict[str, CredentialRecord] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._records)} credentials)"

    def add(self, record: CredentialRecord) -> None:
        with self._lock:
            if record.id in self._records:
                raise VaultError(f"a credential with id {record.id!r} already exists")
            self._records[record.id] = record

    def get(self, credential_id: str) -> CredentialRecord | None:
        with self._lock:
            return self._records.get(credential_id)

    def list(self) -> list[CredentialRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.created_at)

    def update(self, record: CredentialRecord) -> None:
        with self._lock:
            if record.id not in self._records:
                raise VaultError(f"no credential with id {record.id!r} to update")
            self._records[record.id] = record

    def delete(self, credential_id: str) -> bool:
        with self._lock:
            return self._records.pop(credential_id, None) is not None


class JsonFileCredentialRepository:
    """Records in one JSON file, rewritten atomically on each change.

    Re-read on every call so that two vaults on the same file (a server and a
    CLI) see each other's changes; writes from two processes at the same instant
    are not arbitrated (that is the SQLite layer's job). The file is created
    0600: it holds only ciphertext, but there is no reason to show even that.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _read(self) -> dict[str, CredentialRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
            return {item["id"]: CredentialRecord.from_dict(item)
                    for item in data["credentials"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise VaultError(f"{self.path}: not a credential store ({exc})") from None

    def _write(self, records: dict[str, CredentialRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": RECORD_FORMAT,
                   "credentials": [r.to_dict() for r in records.values()]}
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp makes it 0600
                json.dump(payload, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def _changing(self) -> Iterator[dict[str, CredentialRecord]]:
        with self._lock:
            records = self._read()
            yield records
            self._write(records)

    def add(self, record: CredentialRecord) -> None:
        with self._changing() as records:
            if record.id in records:
                raise VaultError(f"a credential with id {record.id!r} already exists")
            records[record.id] = record

    def get(self, credential_id: str) -> CredentialRecord | None:
        with self._lock:
            return self._read().get(credential_id)

    def list(self) -> list[CredentialRecord]:
        with self._lock:
            return sorted(self._read().values(), key=lambda r: r.created_at)

    def update(self, record: CredentialRecord) -> None:
        with self._changing() as records:
            if record.id not in records:
                raise VaultError(f"no credential with id {record.id!r} to update")
            records[record.id] = record

    def delete(self, credential_id: str) -> bool:
        with self._lock:
            records = self._read()
            if records.pop(credential_id, None) is None:
                return False
            self._write(records)
            return True
