"""Logins to data services (WebDAV/B2DROP, S3, B2SHARE, MLflow), kept like the SSH keys.

A user adds one with the service's URL and its secret (a password, an S3 secret key,
a B2SHARE token); the vault encrypts the secret under its master key (AES-256-GCM bound
to the record's id) and gives back an id. Listing shows the URL, kind and user name,
never the secret. A data movement finds its login by id, or by the longest
registered URL that its location starts with, so one B2DROP login serves every path
on that share. Only the transfer layer gets the secret, in memory, through
:meth:`ServiceCredentials.secret_for_use`.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from eflows_kernel.services.credentials import keys
from eflows_kernel.services.credentials.errors import CredentialNotFound, VaultError
from eflows_kernel.services.credentials.vault import CredentialVault, new_credential_id
from eflows_kernel.services.state.store import StateStore
from eflows_kernel.services.state.tables import ServiceCredentialRow

SERVICE_KINDS = ("webdav", "s3", "b2share", "http", "mlflow")
PURPOSE = "service-credential"
OPTION_NAMES = frozenset({"endpoint_url", "region", "community", "dls_connection"})
_SCHEMES = {"webdav": ("webdav", "webdavs", "http", "https"), "s3": ("s3",),
            "b2share": ("b2share", "http", "https"), "http": ("http", "https"),
            "mlflow": ("http", "https")}


@dataclass(frozen=True)
class ServiceCredentialInfo:
    """What anyone may see of a data service login: never its secret."""

    id: str
    name: str
    kind: str
    url: str
    username: str
    options: dict[str, str]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "url": self.url,
                "username": self.username, "options": dict(self.options),
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ServiceSecret:
    """A login in clear, for one transfer; its ``repr`` hides the secret."""

    kind: str
    username: str
    secret: str
    token: str
    options: dict[str, str]

    def __repr__(self) -> str:
        return f"ServiceSecret(kind={self.kind!r}, username={self.username!r}, secret=***)"


def _normal(url: str) -> str:
    """A URL compared by scheme family, host, port and path (webdav:// == http://)."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"webdav": "http", "dav": "http", "webdavs": "https", "davs": "https",
              "b2share": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}/"


def _info(row: ServiceCredentialRow) -> ServiceCredentialInfo:
    return ServiceCredentialInfo(row.id, row.name, row.kind, row.url, row.username,
                                 dict(row.options or {}), row.created_at)


class ServiceCredentials:
    """Add, list, find, delete data service logins; decrypt one for a transfer."""

    def __init__(self, store: StateStore, vault: CredentialVault) -> None:
        self.store, self.vault = store, vault

    def add(self, name: str, kind: str, url: str, username: str = "", secret: str = "",
            token: str = "", options: dict[str, str] | None = None) -> ServiceCredentialInfo:
        """Store a login; the secret (password, S3 secret key, token) only as ciphertext."""
        name = keys.check_label(name, "name", required=True)
        if kind not in SERVICE_KINDS:
            raise VaultError(f"kind must be one of {', '.join(SERVICE_KINDS)}, not {kind!r}",
                             kind=kind)
        parsed = urllib.parse.urlsplit(url if isinstance(url, str) else "")
        if parsed.scheme.lower() not in _SCHEMES[kind] or not parsed.netloc:
            raise VaultError(f"url must be the {kind} service's address "
                             f"({' or '.join(s + '://' for s in _SCHEMES[kind])}...)", url=url)
        if parsed.username or parsed.password or parsed.query:
            raise VaultError("url must not hold a user, password or query: give the user "
                             "name and the secret as their own fields", url="hidden")
        for label, value in (("username", username), ("secret", secret), ("token", token)):
            if not isinstance(value, str) or "\n" in value or len(value) > 4096:
                raise VaultError(f"{label} must be one line of text", field=label)
        if kind in ("webdav", "s3") and not (username and secret):
            raise VaultError(f"a {kind} login needs a username (S3: access key id) and a "
                             "secret (password, app password or S3 secret key)",
                             fields={"secret": "required"})
        if kind == "b2share" and not token:
            raise VaultError("a B2SHARE login is its access token: give token",
                             fields={"token": "required"})
        options = {str(k): str(v) for k, v in (options or {}).items()}
        unknown = set(options) - OPTION_NAMES
        if unknown:
            raise VaultError(f"unknown option(s) {sorted(unknown)}; known: "
                             f"{sorted(OPTION_NAMES)}", fields={"options": sorted(unknown)})
        credential_id = new_credential_id()
        payload = json.dumps({"secret": secret, "token": token}).encode()
        nonce, ciphertext = self.vault.seal(PURPOSE, credential_id, payload)
        row = ServiceCredentialRow(
            id=credential_id, name=name, kind=kind, url=url.rstrip("/"), username=username,
            options=options, created_at=datetime.now(timezone.utc),
            key_id=self.vault.key_id, nonce=nonce, ciphertext=ciphertext)
        with self.store.session() as session:
            session.add(row)
        return _info(row)

    def _row(self, credential_id: str) -> ServiceCredentialRow:
        with self.store.session(write=False) as session:
            row = session.get(ServiceCredentialRow, credential_id) \
                if isinstance(credential_id, str) else None
        if row is None:
            raise CredentialNotFound(str(credential_id))
        return row

    def list(self) -> list[ServiceCredentialInfo]:
        with self.store.session(write=False) as session:
            rows = session.scalars(select(ServiceCredentialRow).order_by(
                ServiceCredentialRow.created_at, ServiceCredentialRow.id))
            return [_info(r) for r in rows]

    def get(self, credential_id: str) -> ServiceCredentialInfo:
        return _info(self._row(credential_id))

    def delete(self, credential_id: str) -> None:
        with self.store.session() as session:
            row = session.get(ServiceCredentialRow, credential_id) \
                if isinstance(credential_id, str) else None
            if row is None:
                raise CredentialNotFound(str(credential_id))
            session.delete(row)

    def find(self, location: str, kind: str | None = None) -> ServiceCredentialInfo | None:
        """The login whose URL is the longest prefix of ``location`` (of ``kind`` if given)."""
        target = _normal(location)
        best = None
        for info in self.list():
            if kind is not None and info.kind != kind:
                continue
            prefix = _normal(info.url)  # an S3 login's url is s3://bucket[/prefix]
            if target.startswith(prefix) and (
                    best is None or len(prefix) > len(_normal(best.url))):
                best = info
        return best

    def secret_for_use(self, credential_id: str) -> ServiceSecret:
        """The login in clear, in memory, for one transfer (never logged, never returned)."""
        row = self._row(credential_id)
        data = json.loads(self.vault.unseal(PURPOSE, row.id, row.nonce, row.ciphertext,
                                            row.key_id))
        return ServiceSecret(row.kind, row.username, data.get("secret", ""),
                             data.get("token", ""), dict(row.options or {}))
