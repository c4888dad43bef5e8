"""Plain HTTP(S): read-only, one file per URL, resumed with ``Range`` + ``If-Range``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import BinaryIO

import httpx

from eflows_kernel.services.hpc.transfer.stores.base import Auth, RemoteFile, StoreError
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy, UrlRefused

CHUNK = 1 << 20
TIMEOUT = httpx.Timeout(60.0, connect=15.0)


def http_client(policy: UrlPolicy | None, auth: tuple[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> httpx.Client:
    """The HTTP client of an adapter: every request it sends (each redirect hop, each
    link a service hands back, such as a B2SHARE file's) is checked against ``policy``
    first (``url_policy.py``: no secret in it, no loopback or private host unless the
    operator allows them), since this server, not the site, fetches it."""
    hooks = {"request": [lambda request: _check(policy, request)]} if policy else {}
    return httpx.Client(auth=auth, headers=dict(headers or {}), timeout=TIMEOUT,
                        follow_redirects=True, event_hooks=hooks)


def _check(policy: UrlPolicy, request: httpx.Request) -> None:
    try:
        policy.check(str(request.url))
    except UrlRefused as error:
        raise StoreError(f"{public(str(request.url))}: {error.message}") from None


def url_name(url: str) -> str:
    """The last path segment of a URL (what a downloaded file is called)."""
    path = httpx.URL(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1] or "download"


def check_response(response: httpx.Response, what: str) -> None:
    """A clear StoreError for a refused request (401/403/404 say what to do)."""
    if response.is_success:
        return
    hint = {401: "the service wants a login: add a credential for it",
            403: "the credential is not allowed to do this",
            404: "there is nothing at that location"}.get(response.status_code, "")
    raise StoreError(f"{what}: HTTP {response.status_code} {response.reason_phrase}"
                     + (f" ({hint})" if hint else ""))


def read_range(client: httpx.Client, url: str, offset: int,
               etag: str | None = None) -> Iterator[bytes]:
    """GET from ``offset``. A server that answers the whole file instead (it ignores
    ranges, or ``If-Range`` says the file changed) is an error: the caller starts over."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    if offset and etag:
        headers["If-Range"] = etag
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and offset:
            return  # nothing left to read
        check_response(response, f"GET {public(url)}")
        if offset and response.status_code != 206:
            raise StoreError(f"GET {public(url)}: the server did not resume at byte {offset} "
                             "(the file changed or ranges are not supported); start again")
        yield from response.iter_bytes(CHUNK)


def public(url: str) -> str:
    """A URL as it may be shown: no user:password, no query (it may hold a token)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))


class HttpStore:
    """Any HTTP(S) URL, read only (the HTTP->SSH movement of the eFlows4HPC DLS)."""

    scheme = "http"

    def __init__(self, auth: Auth | None = None, policy: UrlPolicy | None = None) -> None:
        basic = (auth.username, auth.secret) if auth and auth.username else None
        headers = {"Authorization": f"Bearer {auth.token}"} if auth and auth.token else {}
        self.client = http_client(policy, basic, headers)

    def files(self, location: str) -> list[RemoteFile]:
        response = self.client.head(location)
        if response.status_code == 405:  # HEAD not allowed: ask for the first byte instead
            response = self.client.get(location, headers={"Range": "bytes=0-0"})
        check_response(response, f"HEAD {public(location)}")
        size = response.headers.get("Content-Length")
        if response.status_code == 206:
            size = response.headers.get("Content-Range", "").rpartition("/")[2] or None
        return [RemoteFile(url_name(location), location,
                           int(size) if size and size.isdigit() else None,
                           etag=response.headers.get("ETag"))]

    def read(self, location: str, offset: int = 0, etag: str | None = None) -> Iterator[bytes]:
        return read_range(self.client, location, offset, etag)

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        raise StoreError(f"cannot write to {public(location)}: plain HTTP is read-only here "
                         "(use a webdav:// location to upload over HTTP)")

    def close(self) -> None:
        self.client.close()
