"""B2SHARE (EUDAT) records by id: their file list from the public record API, then each file.

A record is ``GET <server>/api/records/<id>``; its ``files`` list gives each file's
``key`` (its name), ``size``, ``checksum`` (``md5:<hex>``) and a download link
(``links.self``, else ``<links.files>/<key>``, the record's file bucket). A token, when
the record is not public, goes as B2SHARE expects it: the ``access_token`` query
parameter (it is never shown: every message prints the URL without its query).

Locations: ``b2share://host/<id>`` (HTTPS), or the record's own ``http(s)://`` URL
(``.../records/<id>`` or ``.../api/records/<id>``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO

import httpx

from eflows_kernel.services.hpc.transfer.stores.base import Auth, RemoteFile, StoreError
from eflows_kernel.services.hpc.transfer.stores.http import (
    TIMEOUT,
    check_response,
    public,
    read_range,
)
from eflows_kernel.services.paths import safe_relative

RECORD_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def record_api_url(location: str) -> str:
    """The API URL of a record location (``b2share://`` or a record page / API URL)."""
    if location.startswith("b2share://"):
        host, _, record = location[len("b2share://"):].partition("/")
        return f"https://{host}/api/records/{check_record_id(record.strip('/'))}"
    parsed = urllib.parse.urlsplit(location)
    match = re.match(r"^(.*?)/(?:api/)?records/([^/]+)/?$", parsed.path)
    if parsed.scheme not in ("http", "https") or not match:
        raise StoreError(f"not a B2SHARE record location: {public(location)} (expected "
                         "b2share://host/<record id> or https://host/records/<record id>)")
    prefix, record = match.groups()
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc,
                                    f"{prefix}/api/records/{check_record_id(record)}", "", ""))


def check_record_id(record: str) -> str:
    if not RECORD_ID.match(record):
        raise StoreError(f"{record!r} is not a B2SHARE record id (letters, digits, '-', '_')")
    return record


class B2ShareStore:
    """One B2SHARE server; a token only for records that are not public."""

    scheme = "b2share"

    def __init__(self, auth: Auth | None = None) -> None:
        self.token = auth.token if auth else ""
        self.client = httpx.Client(timeout=TIMEOUT, follow_redirects=True)

    def _params(self) -> dict[str, str] | None:
        return {"access_token": self.token} if self.token else None

    def record(self, location: str) -> dict[str, Any]:
        url = record_api_url(location)
        response = self.client.get(url, params=self._params(),
                                   headers={"Accept": "application/json"})
        check_response(response, f"GET {public(url)}")
        try:
            data = response.json()
        except ValueError:
            raise StoreError(f"GET {public(url)}: not a B2SHARE record (no JSON)") from None
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            raise StoreError(f"GET {public(url)}: not a B2SHARE record (no 'files' list)")
        return data

    def files(self, location: str) -> list[RemoteFile]:
        data = self.record(location)
        bucket = (data.get("links") or {}).get("files")
        found = []
        for item in data["files"]:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise StoreError(f"{public(location)}: a file of the record has no 'key'")
            name = safe_relative(item["key"], "B2SHARE file key")
            link = (item.get("links") or {}).get("self") or (
                f"{bucket.rstrip('/')}/{urllib.parse.quote(item['key'])}" if bucket else None)
            if not link:
                raise StoreError(f"{public(location)}: file {name!r} has no download link")
            algorithm, _, value = str(item.get("checksum") or "").partition(":")
            size = item.get("size")
            found.append(RemoteFile(name, link, size if isinstance(size, int) else None,
                                    md5=value.lower() if algorithm == "md5" and value else None,
                                    etag=item.get("version_id") or item.get("checksum")))
        if not found:
            raise StoreError(f"B2SHARE record {public(location)} has no files")
        return found

    def read(self, location: str, offset: int = 0, etag: str | None = None) -> Iterator[bytes]:
        # etag here is the record's own checksum/version, not an HTTP ETag: the md5 check
        # of the whole file is what catches a file that changed under a resumed download.
        return read_range(self.client, location, offset, None, params=self._params())

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        raise StoreError("writing to B2SHARE (a new record) is not done by this deployer; "
                         "stage the results out to WebDAV (B2DROP) or S3")

    def close(self) -> None:
        self.client.close()
