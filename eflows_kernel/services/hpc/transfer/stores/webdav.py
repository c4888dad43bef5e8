"""WebDAV (B2DROP, Nextcloud, wsgidav...): PROPFIND to list, GET ranges, PUT + MOVE to write.

``webdav://host/path`` is WebDAV over HTTP, ``webdavs://`` over HTTPS (an ``https://``
URL given for a WebDAV movement is taken as is). Uploads go to ``<name>.part`` and are
MOVEd onto the final name only after the bytes read back hash to what was sent, so a
reader of the share never sees a partial file under its real name.
"""

from __future__ import annotations

import hashlib
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import BinaryIO

import httpx

from eflows_kernel.services.hpc.transfer._common import PART, ChecksumMismatch
from eflows_kernel.services.hpc.transfer.stores.base import Auth, RemoteFile, StoreError
from eflows_kernel.services.hpc.transfer.stores.http import (
    check_response,
    http_client,
    public,
    read_range,
    url_name,
)
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.paths import safe_relative

DAV = "{DAV:}"
PROPFIND_BODY = (b'<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
                 b"<d:resourcetype/><d:getcontentlength/><d:getetag/></d:prop></d:propfind>")
MAX_DEPTH = 32  # folders below folders: more than this is a loop, not data


def http_url(location: str) -> str:
    """``webdav(s)://`` as the ``http(s)://`` URL it stands for."""
    for scheme, real in (("webdavs://", "https://"), ("webdav://", "http://"),
                         ("davs://", "https://"), ("dav://", "http://")):
        if location.startswith(scheme):
            return real + location[len(scheme):]
    return location


class WebDavStore:
    """One WebDAV service, logged in with a user name and password (or app token)."""

    scheme = "webdav"

    def __init__(self, auth: Auth | None = None, policy: UrlPolicy | None = None) -> None:
        basic = (auth.username, auth.secret) if auth and auth.username else None
        self.client = http_client(policy, basic)

    # ---- reading -----------------------------------------------------------------------

    def _propfind(self, url: str) -> list[tuple[str, bool, int | None, str | None]]:
        """(absolute path, is folder, size, etag) of ``url`` and its direct children."""
        response = self.client.request("PROPFIND", url, content=PROPFIND_BODY,
                                       headers={"Depth": "1",
                                                "Content-Type": "application/xml"})
        check_response(response, f"PROPFIND {public(url)}")
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as error:
            raise StoreError(f"PROPFIND {public(url)}: not a WebDAV answer ({error})") from None
        entries = []
        for item in root.iter(f"{DAV}response"):
            href = item.findtext(f"{DAV}href") or ""
            path = urllib.parse.unquote(urllib.parse.urlsplit(href).path)
            is_dir = item.find(f".//{DAV}resourcetype/{DAV}collection") is not None
            length = item.findtext(f".//{DAV}getcontentlength")
            etag = item.findtext(f".//{DAV}getetag")
            entries.append((path, is_dir, int(length) if length and length.isdigit() else None,
                            etag))
        return entries

    def files(self, location: str) -> list[RemoteFile]:
        url = http_url(location)
        top = urllib.parse.unquote(httpx.URL(url).path).rstrip("/")
        entries = self._propfind(url)
        this = next((e for e in entries if e[0].rstrip("/") == top), None)
        if this is None:
            raise StoreError(f"PROPFIND {public(url)}: the service did not describe it")
        if not this[1]:
            return [RemoteFile(url_name(url), url, this[2], etag=this[3])]
        found: list[RemoteFile] = []
        self._walk(url.rstrip("/") + "/", top + "/", entries, found, 0)
        return found

    def _walk(self, url: str, top: str, entries: list[tuple[str, bool, int | None, str | None]],
              found: list[RemoteFile], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise StoreError(f"{public(url)}: folders nested deeper than {MAX_DEPTH}")
        here = urllib.parse.unquote(httpx.URL(url).path)
        for path, is_dir, size, etag in entries:
            if path.rstrip("/") == here.rstrip("/"):
                continue
            if not path.startswith(top):
                raise StoreError(f"{public(url)}: the listing names {path!r}, outside the "
                                 "folder asked for")
            rel = safe_relative(path[len(top):].rstrip("/"), "WebDAV entry")
            child = url.rstrip("/") + "/" + urllib.parse.quote(rel.rsplit("/", 1)[-1])
            if is_dir:
                self._walk(child + "/", top, self._propfind(child + "/"), found, depth + 1)
            else:
                found.append(RemoteFile(rel, child, size, etag=etag))

    def read(self, location: str, offset: int = 0, etag: str | None = None) -> Iterator[bytes]:
        return read_range(self.client, http_url(location), offset, etag)

    # ---- writing -----------------------------------------------------------------------

    def _make_folders(self, url: str) -> None:
        """MKCOL every missing parent folder of ``url`` (405: it exists already)."""
        parsed = httpx.URL(url)
        parts = parsed.path.strip("/").split("/")[:-1]
        path = ""
        for part in parts:
            path += "/" + part
            response = self.client.request("MKCOL", str(parsed.copy_with(path=path + "/")))
            if response.status_code not in (201, 405, 301, 409) and not response.is_success:
                check_response(response, f"MKCOL {path}")

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        url = http_url(location)
        part = url + PART
        self._make_folders(url)
        response = self.client.put(part, content=iter(lambda: data.read(1 << 20), b""),
                                   headers={"Content-Length": str(size)})
        check_response(response, f"PUT {public(part)}")
        digest = hashlib.sha256()
        for block in read_range(self.client, part, 0):
            digest.update(block)
        if digest.hexdigest() != sha256:
            raise ChecksumMismatch(f"{public(url)}: the share holds sha256 {digest.hexdigest()}"
                                   f" after the upload, not {sha256}; kept as {public(part)}")
        response = self.client.request("MOVE", part, headers={"Destination": url,
                                                              "Overwrite": "T"})
        check_response(response, f"MOVE {public(part)}")

    def close(self) -> None:
        self.client.close()
