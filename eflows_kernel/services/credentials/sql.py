"""The vault's credential records in the state database (``CredentialRepository``).

The vault encrypts before it stores, so this table only ever holds public
facts and AES-GCM ciphertext; unlike the JSON file, SQLite arbitrates writes
from several processes (the Jupyter server and a kernel creating keys at once).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eflows_kernel.services.credentials.errors import VaultError
from eflows_kernel.services.credentials.repository import CredentialRecord
from eflows_kernel.services.state.store import StateStore
from eflows_kernel.services.state.tables import CredentialRow

_FIELDS = tuple(f.name for f in dataclasses.fields(CredentialRecord))


def _row_values(record: CredentialRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in _FIELDS}


def _record(row: CredentialRow) -> CredentialRecord:
    values = {name: getattr(row, name) for name in _FIELDS}
    values["meta"] = values["meta"] or {}  # NULL in rows from before schema 2
    return CredentialRecord(**values)


class SqlCredentialRepository:
    """``CredentialRepository`` on a :class:`StateStore`; thread- and process-safe."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    def add(self, record: CredentialRecord) -> None:
        try:
            with self.store.session() as session:
                if session.get(CredentialRow, record.id) is not None:
                    raise VaultError(f"a credential with id {record.id!r} already exists")
                session.add(CredentialRow(**_row_values(record)))
        except IntegrityError:
            raise VaultError(f"a credential with id {record.id!r} already exists") from None

    def get(self, credential_id: str) -> CredentialRecord | None:
        if not isinstance(credential_id, str):
            return None
        with self.store.session(write=False) as session:
            row = session.get(CredentialRow, credential_id)
            return None if row is None else _record(row)

    def list(self) -> list[CredentialRecord]:
        with self.store.session(write=False) as session:
            rows = session.scalars(select(CredentialRow)
                                   .order_by(CredentialRow.created_at, CredentialRow.id))
            return [_record(row) for row in rows]

    def update(self, record: CredentialRecord) -> None:
        with self.store.session() as session:
            row = session.get(CredentialRow, record.id)
            if row is None:
                raise VaultError(f"no credential with id {record.id!r} to update")
            for name, value in _row_values(record).items():
                setattr(row, name, value)

    def delete(self, credential_id: str) -> bool:
        if not isinstance(credential_id, str):
            return False
        with self.store.session() as session:
            row = session.get(CredentialRow, credential_id)
            if row is None:
                return False
            session.delete(row)
            return True
