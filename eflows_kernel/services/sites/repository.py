"""Where sites are kept: the protocol the service stores through, and an in-memory one.

``store.py`` keeps them in the state database; :class:`InMemorySiteRepository` serves
tests and single-process use.
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from eflows_kernel.services.sites.config import SiteExists


class SiteRepository(Protocol):
    """Storage of sites (e.g. ``site_store.SiteStore``). Records are dicts ``{"id", "name",
    "config": dict, "host_key": dict | None, ...}``. ``get``/``get_by_name`` may return None
    or raise NotFoundError; ``update`` without ``host_key`` leaves the host key as it is."""

    def add(self, name: str, config: dict[str, Any]) -> dict[str, Any]: ...
    def get(self, site_id: str) -> dict[str, Any] | None: ...
    def get_by_name(self, name: str) -> dict[str, Any] | None: ...
    def list(self) -> list[dict[str, Any]]: ...
    def update(self, site_id: str, config: dict[str, Any] | None = None,
               host_key: Any = ...) -> dict[str, Any]: ...
    def delete(self, site_id: str) -> Any: ...


class InMemorySiteRepository:
    """A dict-backed :class:`SiteRepository` for tests and single-process use."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}

    def add(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        if self.get_by_name(name) is not None:
            raise SiteExists(f"a site named {name!r} exists already")
        record = {"id": secrets.token_hex(8), "name": name, "config": dict(config),
                  "host_key": None}
        self._records[record["id"]] = record
        return dict(record)

    def get(self, site_id: str) -> dict[str, Any] | None:
        record = self._records.get(site_id)
        return None if record is None else dict(record)

    def get_by_name(self, name: str) -> dict[str, Any] | None:
        return next((dict(r) for r in self._records.values() if r["name"] == name), None)

    def list(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._records.values()]

    def update(self, site_id: str, config: dict[str, Any] | None = None,
               host_key: Any = ...) -> dict[str, Any]:
        record = self._records[site_id]
        if config is not None:
            record["config"] = dict(config)
        if host_key is not ...:
            record["host_key"] = None if host_key is None else dict(host_key)
        return dict(record)

    def delete(self, site_id: str) -> bool:
        return self._records.pop(site_id, None) is not None
