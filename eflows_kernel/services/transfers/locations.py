"""Where a movement's data is, and with which login it is reached.

A location is a URL (``webdav(s)://``, ``s3://bucket/key``, ``b2share://host/<id>``, a
record's or file's ``http(s)://`` URL) or, for the eFlows4HPC ``dls`` / ``b2share``
kinds, a bare B2SHARE record id, resolved against the one B2SHARE login in the vault
(the DLS resolved its data catalogue ids the same way, to a B2SHARE record). The login
is the credential named by id, else the one whose URL is the longest prefix of the
location, else none (public data).

A WebDAV location that is a path, not a URL (``Regions/``, ``b2drop:Regions/``), is
read as the DLS reads its WebDAV object ids: relative to a configured WebDAV
*connection*, named before the colon or by the movement (else ``default``). A WebDAV
login of the vault is bound to a connection by its ``dls_connection`` option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.hpc.transfer.stores import (
    Auth,
    DataStore,
    StoreError,
    http_form,
    open_store,
    protocol_of,
)
from eflows_kernel.services.hpc.transfer.stores.b2share import RECORD_ID, server_url
from eflows_kernel.services.hpc.transfer.stores.mlflow import server_url as mlflow_server_url
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy

# mlflow: a model (attrs.json) into an MLflow tracking server; mlflow_search: model-search
# results (pd.csv + model.dat), as the DLS's two model pipelines
MLFLOW_KINDS = ("mlflow", "mlflow_search")
DATA_KINDS = ("http", "webdav", "s3", "b2share", "dls", "image", *MLFLOW_KINDS)
DEFAULT_CONNECTION = "default"
_CONNECTION_PATH = re.compile(r"([A-Za-z0-9_.-]+):(?!//)(.*)", re.DOTALL)


@dataclass(frozen=True)
class Location:
    """A resolved location: its protocol, the URL the adapter takes, the login's id."""

    protocol: str
    url: str
    credential_id: str | None
    title: str | None = None  # a new B2SHARE record's title; an MLflow experiment's name
    mode: str = ""  # MLflow: which of the DLS's model pipelines ("mlflow", "mlflow_search")


def resolve(location: str, kind: str, credentials: ServiceCredentials | None,
            credential_id: str | None = None, direction: str = "in",
            connection: str | None = None) -> Location:
    """The protocol, URL and login of ``location`` for a movement of ``kind``.

    Out to B2SHARE (``dls`` / ``b2share``) the location is the server a new record is
    made on (a bare value: the title of a record on the one B2SHARE login's server, as
    the DLS took a metadata id). ``connection``: the DLS WebDAV connection a WebDAV
    path is relative to, when the path does not name one. Raises ValidationError for
    what the user can fix.
    """
    location = location.strip()
    if kind in MLFLOW_KINDS:
        return _mlflow(location, kind, credentials, credential_id)
    if not location:
        raise ValidationError("the data location is empty")
    if kind == "webdav" and "://" not in location:
        location, bound = _connection_path(location, credentials, connection)
        credential_id = credential_id or bound
    if direction == "out" and kind in ("dls", "b2share"):
        title = None
        if "://" not in location:
            title, location = location, _only_b2share(credentials)
        try:
            server = server_url(location)
        except StoreError as error:
            raise ValidationError(error.message) from None
        login = credential_id
        if login is None and credentials is not None:
            found = credentials.find(server, "b2share")
            login = found.id if found is not None else None
        if login is None:
            raise ValidationError(f"results go to {server} as a new B2SHARE record, which "
                                  "needs a login: add a b2share credential (its token)")
        return Location("b2share", server, login, title)
    if "://" not in location and kind in ("dls", "b2share") and RECORD_ID.match(location):
        server = _only_b2share(credentials)
        location = f"{server.rstrip('/')}/records/{location}"
    protocol_kind = "b2share" if kind == "dls" else kind
    try:
        protocol = protocol_of(location, protocol_kind)
    except StoreError as error:
        raise ValidationError(error.message) from None
    if credential_id is None and credentials is not None:
        found = credentials.find(location, None)
        credential_id = found.id if found is not None else None
    elif credential_id is not None and credentials is not None:
        credentials.get(credential_id)  # 404 now, not in the middle of a run
    return Location(protocol, location, credential_id)


def _mlflow(location: str, kind: str, credentials: ServiceCredentials | None,
            credential_id: str | None) -> Location:
    """An MLflow tracking server (``http(s)://host[:port]``, ``#<experiment>`` after it for
    model-search results), or, empty or a bare experiment name, the server of the one
    MLflow login in the vault: the DLS's one ``my_mlflow`` connection."""
    url, _, experiment = location.partition("#") if "://" in location else ("", "", location)
    if not url:
        servers = [c for c in (credentials.list() if credentials else []) if c.kind == "mlflow"]
        if len(servers) != 1:
            raise ValidationError(
                "a model upload goes to the MLflow tracking server of the one MLflow login "
                f"in the vault ({len(servers)} found): add one with 'eflows data-logins add "
                "NAME mlflow http(s)://host:port --username USER', or give the server's "
                "URL as the movement's target")
        url, credential_id = servers[0].url, credential_id or servers[0].id
    try:
        server = mlflow_server_url(url)
    except StoreError as error:
        raise ValidationError(error.message) from None
    if credential_id is None and credentials is not None:
        found = credentials.find(server, "mlflow")
        credential_id = found.id if found is not None else None
    elif credential_id is not None and credentials is not None:
        credentials.get(credential_id)
    return Location("mlflow", server, credential_id, experiment.strip() or None, kind)


def _connection_path(path: str, credentials: ServiceCredentials | None,
                     connection: str | None) -> tuple[str, str]:
    """A WebDAV path of a DLS connection as the URL of the login bound to it, and that
    login's id."""
    named = _CONNECTION_PATH.fullmatch(path)
    name, rel = (named.group(1), named.group(2)) if named else \
        (connection or DEFAULT_CONNECTION, path)
    logins = [c for c in (credentials.list() if credentials else [])
              if c.kind == "webdav" and c.options.get("dls_connection") == name]
    if len(logins) != 1:
        raise ValidationError(
            f"the WebDAV location {path!r} is a path of the DLS connection {name!r}, and "
            f"{'no WebDAV login' if not logins else f'{len(logins)} WebDAV logins'} in the "
            f"vault {'is' if not logins else 'are'} bound to it: bind one with "
            f"'eflows data-logins add NAME webdav URL --username USER --option "
            f"dls_connection={name}', or give the location as a webdav(s):// URL")
    return f"{logins[0].url.rstrip('/')}/{rel.lstrip('/')}", logins[0].id


def _only_b2share(credentials: ServiceCredentials | None) -> str:
    servers = [c for c in (credentials.list() if credentials else []) if c.kind == "b2share"]
    if len(servers) != 1:
        raise ValidationError(
            "a bare record id needs exactly one B2SHARE login in the vault to say which "
            f"server it is on ({len(servers)} found); give the record's URL instead "
            "(https://<server>/records/<id>)")
    return servers[0].url


def check_location(location: Location, policy: UrlPolicy | None) -> Location:
    """``location`` if ``policy`` lets this server fetch it (UrlRefused, a 400, if not).

    Checked when a movement is planned, so a workflow naming a loopback or private
    host (a metadata service, this server's own ports) is refused before anything
    runs; every request the adapter then sends is checked again (redirects too).
    """
    url = http_form(location.url)
    if policy is not None and url is not None:
        policy.check(url)
    return location


def open_location(location: Location, credentials: ServiceCredentials | None,
                  policy: UrlPolicy | None = None) -> DataStore:
    """The adapter for a resolved location, logged in (close it when done)."""
    auth = None
    if location.credential_id is not None and credentials is not None:
        secret = credentials.secret_for_use(location.credential_id)
        auth = Auth(secret.username, secret.secret, secret.token,
                    tuple(sorted(secret.options.items())))
    return open_store(location.protocol, auth, policy)
