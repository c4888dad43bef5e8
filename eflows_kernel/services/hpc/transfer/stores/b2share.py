"""B2SHARE (EUDAT) records by id: their file list from the public record API, then each file.

A record is ``GET <server>/api/records/<id>``; its ``files`` list gives each file's
``key`` (its name), ``size``, ``checksum`` (``md5:<hex>``) and a download link
(``links.self``, else ``<links.files>/<key>``, the record's file bucket). A token, when
the record is not public, goes as an OAuth2 bearer token in the ``Authorization``
header, which B2SHARE (Invenio's OAuth2 server) accepts as it does the ``access_token``
query parameter; a header, unlike a URL, is not written to HTTP clients' request logs.

Locations: ``b2share://host/<id>`` (HTTPS), or the record's own ``http(s)://`` URL
(``.../records/<id>`` or ``.../api/records/<id>``). Results go out as a new record:
a draft (``POST /api/records/``), each file ``PUT`` into its bucket (B2SHARE answers the
md5 it stored, compared with what was sent), then submitted for publication
(``PATCH .../draft``, a JSON patch of ``publication_state``).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO

from eflows_kernel.services.hpc.transfer._common import ChecksumMismatch
from eflows_kernel.services.hpc.transfer.stores.base import Auth, RemoteFile, StoreError
from eflows_kernel.services.hpc.transfer.stores.http import (
    check_response,
    http_client,
    public,
    read_range,
)
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
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


def server_url(location: str) -> str:
    """The server's base URL of a ``b2share://host`` or ``http(s)://host[/...]`` location."""
    if location.startswith("b2share://"):
        return "https://" + location[len("b2share://"):].split("/", 1)[0]
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise StoreError(f"not a B2SHARE server: {public(location)}")
    return f"{parsed.scheme}://{parsed.netloc}"


def check_record_id(record: str) -> str:
    if not RECORD_ID.match(record):
        raise StoreError(f"{record!r} is not a B2SHARE record id (letters, digits, '-', '_')")
    return record


class B2ShareStore:
    """One B2SHARE server; a token only for records that are not public."""

    scheme = "b2share"

    def __init__(self, auth: Auth | None = None, policy: UrlPolicy | None = None) -> None:
        self.token = auth.token if auth else ""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.client = http_client(policy, headers=headers)

    def record(self, location: str) -> dict[str, Any]:
        url = record_api_url(location)
        response = self.client.get(url,
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
        return read_range(self.client, location, offset, None)

    # ---- a new record -------------------------------------------------------------------

    def create_draft(self, server: str, title: str, community: str = "") -> tuple[str, str]:
        """A new draft record on ``server``: (its API URL, its file bucket's URL)."""
        if not self.token:
            raise StoreError("publishing a B2SHARE record needs a login: add a b2share "
                             "credential (its access token) for the server")
        url = f"{server_url(server)}/api/records/"
        body: dict[str, Any] = {"titles": [{"title": title}], "open_access": True}
        if community:
            body["community"] = community
        response = self.client.post(url, json=body)
        check_response(response, f"POST {public(url)}")
        data = response.json()
        bucket = (data.get("links") or {}).get("files")
        if not data.get("id") or not bucket:
            raise StoreError(f"POST {public(url)}: the draft has no id or file bucket")
        return f"{server_url(server)}/api/records/{check_record_id(str(data['id']))}", bucket

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        """One file into a draft's bucket (``<bucket>/<key>``), checked by the md5 B2SHARE
        reports for what it stored."""
        md5 = hashlib.md5(usedforsecurity=False)

        def chunks() -> Iterator[bytes]:
            while block := data.read(1 << 20):
                md5.update(block)
                yield block

        response = self.client.put(location, content=chunks(),
                                   headers={"Content-Type": "application/octet-stream",
                                            "Content-Length": str(size)})
        check_response(response, f"PUT {public(location)}")
        stored = str((response.json() or {}).get("checksum") or "")
        if stored != f"md5:{md5.hexdigest()}":
            raise ChecksumMismatch(f"{public(location)}: B2SHARE stored {stored or 'nothing'}, "
                                   f"not md5:{md5.hexdigest()}")

    def publish(self, record: str) -> str:
        """Submit a draft for publication; the record's page URL."""
        url = f"{record}/draft"
        response = self.client.patch(
            url, content=json.dumps(
                [{"op": "add", "path": "/publication_state", "value": "submitted"}]),
            headers={"Content-Type": "application/json-patch+json"})
        check_response(response, f"PATCH {public(url)}")
        return record.replace("/api/records/", "/records/")

    def close(self) -> None:
        self.client.close()
