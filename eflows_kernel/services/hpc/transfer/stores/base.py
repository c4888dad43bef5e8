"""What every data service adapter offers the transfer layer: list, read from an offset, write.

One adapter per protocol (``http``, ``webdav``, ``s3``, ``b2share``), each behind
:class:`DataStore`, so the guarantees (``.part`` then rename, resume, checksums,
progress events) are written once in ``relay.py`` and not once per protocol.
Credentials arrive as plain :class:`Auth` values (the vault lives above this layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from eflows_kernel.services.hpc.transfer._common import TransferError


class StoreError(TransferError):
    """The data service refused or failed (not found, denied, unreachable)."""


@dataclass(frozen=True)
class Auth:
    """How to log in to a data service: user + secret (WebDAV, S3) or a token (B2SHARE).

    ``repr`` hides the secret so that an Auth in a log line or a traceback shows no
    password (the vault's rule: a secret never reaches a log).
    """

    username: str = ""
    secret: str = ""
    token: str = ""
    options: tuple[tuple[str, str], ...] = ()  # e.g. (("region", "eu-west-1"),)

    def __repr__(self) -> str:
        return f"Auth(username={self.username!r}, secret=***, token=***)"

    def option(self, name: str, default: str = "") -> str:
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data service: its path (relative to what was asked for), size, checksums.

    ``md5`` / ``sha256`` are what the service itself says (B2SHARE's ``md5:...``, an
    S3 ETag of a single-part upload, metadata we wrote); None when it says nothing.
    """

    name: str  # relative POSIX path ('' when the location is the file itself)
    location: str  # what to pass to read()
    size: int | None
    md5: str | None = None
    sha256: str | None = None
    etag: str | None = None  # changes when the file does: a .part of another version restarts


class DataStore(Protocol):
    """A data service seen through one protocol. Implementations are thread-safe."""

    scheme: str

    def files(self, location: str) -> list[RemoteFile]:
        """The file at ``location``, or every file below it (a folder, a prefix, a record)."""

    def read(self, location: str, offset: int = 0, etag: str | None = None) -> Iterator[bytes]:
        """The bytes of one file from ``offset`` on (a resumed download asks for the rest).

        With ``etag`` a resumed read fails rather than continue a different version.
        """

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        """Store ``size`` bytes as the file ``location``, never visible half-written.

        The adapter checks what the service received (the checksum it reports, or the
        bytes read back) against ``sha256`` and raises ChecksumMismatch otherwise.
        """

    def close(self) -> None: ...
