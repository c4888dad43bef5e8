"""What a folder on a site holds, from one ``find``: each file's size and mtime, no byte read.

An incremental sync (``transfers/synced.py``) compares this with what it sent last
time; the site's own clock comes with the listing, so a file written in the last
moments before it (whose mtime a coarse clock may not move again) can be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import paramiko

from eflows_kernel.services.hpc.transfer._common import TransferError, q, remote
from eflows_kernel.services.hpc.transfer.untar import MAX_MEMBERS, UnsafeArchive


@dataclass(frozen=True)
class Stat:
    """A file as the site lists it: bytes, and mtime as ``find`` prints it (``%T@``)."""

    size: int
    mtime: str  # seconds since the epoch with the fraction the file system keeps


@dataclass(frozen=True)
class FolderListing:
    clock: float  # the site's time when it listed the folder (seconds since the epoch)
    files: dict[str, Stat]  # path below the folder -> its size and mtime


def list_folder(client: paramiko.SSHClient, folder: str) -> FolderListing | None:
    """The regular files below ``folder`` on the site (links are not followed, as the
    folder's stage-out sends none); None when ``folder`` is not a folder."""
    out = remote(client, f"if [ -d {q(folder)} ]; then date +%s.%N && cd {q(folder)} && "
                         "find . -type f -printf '%s\\0%T@\\0%P\\0'; fi")
    if not out.strip():
        return None
    clock, _, rest = out.partition(b"\n")
    fields = rest.split(b"\0")
    if len(fields) // 3 > MAX_MEMBERS:
        raise UnsafeArchive(f"{folder} holds more than {MAX_MEMBERS} files")
    try:
        files = {fields[i + 2].decode(errors="surrogateescape"):
                 Stat(int(fields[i]), fields[i + 1].decode())
                 for i in range(0, len(fields) - 2, 3)}
        return FolderListing(float(clock), files)
    except ValueError:
        raise TransferError(f"the site's listing of {folder} does not read") from None
