"""Site records (HPC infrastructures) in the state database: plain CRUD of dicts.

The sites service owns the meaning of ``config`` (host, user, scheduler,
paths...) and validates it; this module only stores it, plus the SSH host
key once the user has trusted it (``None`` until then).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.state.tables import SiteRow, utcnow

_UNSET: Any = object()


def _site(row: SiteRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "config": dict(row.config),
            "host_key": None if row.host_key is None else dict(row.host_key),
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a mapping, got {type(value).__name__}")
    return dict(value)


class SiteStore:
    """Add, get, list, update and delete site records (JSON-ready dicts)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    def add(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """A new site; names are unique (users pick sites by name)."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("site name must be a non-empty string")
        now = utcnow()
        row = SiteRow(id=uuid.uuid4().hex, name=name, config=_mapping(config, "config"),
                      host_key=None, created_at=now, updated_at=now)
        conflict = ConflictError(f"a site named {name!r} already exists", name=name)
        try:
            with self.store.session() as session:
                if session.scalar(select(SiteRow.id).where(SiteRow.name == name)) is not None:
                    raise conflict
                session.add(row)
        except IntegrityError:
            raise conflict from None
        return _site(row)

    @staticmethod
    def _row(session: Any, site_id: str) -> SiteRow:
        row = session.get(SiteRow, site_id) if isinstance(site_id, str) else None
        if row is None:
            raise NotFoundError(f"no site with id {site_id!r}", id=site_id)
        return row

    def get(self, site_id: str) -> dict[str, Any]:
        with self.store.session(write=False) as session:
            return _site(self._row(session, site_id))

    def get_by_name(self, name: str) -> dict[str, Any]:
        with self.store.session(write=False) as session:
            row = session.scalar(select(SiteRow).where(SiteRow.name == name))
            if row is None:
                raise NotFoundError(f"no site named {name!r}", name=name)
            return _site(row)

    def list(self) -> list[dict[str, Any]]:
        """Every site, by name."""
        with self.store.session(write=False) as session:
            return [_site(row) for row in session.scalars(select(SiteRow)
                                                          .order_by(SiteRow.name))]

    def update(self, site_id: str, config: Mapping[str, Any] | None = None,
               host_key: Mapping[str, Any] | None = _UNSET) -> dict[str, Any]:
        """Replace the config and/or the host key (``host_key=None`` forgets it)."""
        with self.store.session() as session:
            row = self._row(session, site_id)
            if config is not None:
                row.config = _mapping(config, "config")
            if host_key is not _UNSET:
                row.host_key = None if host_key is None else _mapping(host_key, "host_key")
            row.updated_at = utcnow()
            session.flush()
            return _site(row)

    def delete(self, site_id: str) -> None:
        """Forget a site; executions keep its name in their records."""
        with self.store.session() as session:
            session.delete(self._row(session, site_id))
