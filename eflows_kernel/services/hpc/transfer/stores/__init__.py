"""Protocol adapters of the transfer layer, one module per protocol, one DataStore interface.

:func:`open_store` picks the adapter for a location; ``relay.py`` moves the data with
the guarantees every adapter shares (``.part``, resume, checksums, progress events).
"""

from __future__ import annotations

from eflows_kernel.services.hpc.transfer.stores.base import (
    Auth,
    DataStore,
    RemoteFile,
    StoreError,
)
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy

PROTOCOLS = ("http", "webdav", "s3", "b2share", "mlflow")


def protocol_of(location: str, kind: str | None = None) -> str:
    """The protocol a location is spoken in: its scheme, or the movement's kind for http(s)."""
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    if scheme in ("webdav", "webdavs", "dav", "davs"):
        return "webdav"
    if scheme == "s3":
        return "s3"
    if scheme == "b2share":
        return "b2share"
    if scheme in ("http", "https"):
        return kind if kind in ("webdav", "b2share", "mlflow") else "http"
    raise StoreError(f"{location.split('?', 1)[0]!r} is not a data location this deployer "
                     "moves: use http(s)://, webdav(s)://, s3://bucket/key or "
                     "b2share://host/<record id>")


def http_form(location: str) -> str | None:
    """The ``http(s)://`` URL a location is fetched at, to check it against the URL policy
    (None for S3: its endpoint comes from the login the user stored, or AWS)."""
    scheme, sep, rest = location.partition("://")
    real = {"webdav": "http", "dav": "http", "webdavs": "https", "davs": "https",
            "b2share": "https", "http": "http", "https": "https"}.get(scheme.lower())
    return f"{real}://{rest}" if sep and real else None


def open_store(protocol: str, auth: Auth | None = None,
               policy: UrlPolicy | None = None) -> DataStore:
    """A new adapter for ``protocol`` (close it when done); ``policy``: what hosts its
    HTTP requests may reach (every request and redirect checked)."""
    if protocol == "webdav":
        from eflows_kernel.services.hpc.transfer.stores.webdav import WebDavStore

        return WebDavStore(auth, policy)
    if protocol == "s3":
        from eflows_kernel.services.hpc.transfer.stores.s3 import S3Store

        return S3Store(auth)
    if protocol == "b2share":
        from eflows_kernel.services.hpc.transfer.stores.b2share import B2ShareStore

        return B2ShareStore(auth, policy)
    if protocol == "mlflow":
        from eflows_kernel.services.hpc.transfer.stores.mlflow import MlflowStore

        return MlflowStore(auth, policy)
    if protocol == "http":
        from eflows_kernel.services.hpc.transfer.stores.http import HttpStore

        return HttpStore(auth, policy)
    raise StoreError(f"unknown data protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")


__all__ = ["PROTOCOLS", "Auth", "DataStore", "RemoteFile", "StoreError", "http_form",
           "open_store", "protocol_of"]
