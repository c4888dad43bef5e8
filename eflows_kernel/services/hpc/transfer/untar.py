"""Unpacking a folder a site sent as tar, member by member, so it cannot leave its folder.

Why not ``tarfile.extractall(filter="data")``: the site (a compromised login node, or the
workflow's own program) writes the stream, and the filter has been bypassed on the
Pythons we support (CVE-2025-4517: a symlink chain long enough to overflow ``realpath``
lets a later member land anywhere). So nothing here asks tarfile to write: every member
is checked first against rules that need no path resolution at all. Its name is
relative, without ``..``, NUL or absolute parts; it is a directory, a regular file, or a
hard link to a regular file already unpacked; symbolic links are never created (the
cluster's manifest, ``find -type f``, has none either), devices and FIFOs are refused.
A file must be one the cluster listed, with the size it listed, within a bound on the
total, and its bytes are hashed as they are written, so no file is read twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from eflows_kernel.services.hpc.transfer._common import CHUNK, TransferError
from eflows_kernel.services.paths import UnsafePath, within

MAX_MEMBERS = 1_000_000  # entries of one folder (files, directories, links)
MAX_FOLDER_BYTES = 1 << 40  # 1 TiB: what one staged-out folder may bring back


class UnsafeArchive(TransferError):
    """The site sent an archive that would write outside its folder or more than it said."""


@dataclass(frozen=True)
class Listed:
    """One file the cluster said the folder holds."""

    size: int
    sha256: str


def relative_name(name: str) -> str:
    """The member's name as a relative path inside the folder ('' for the folder itself)."""
    if "\0" in name or name.startswith("/"):
        raise UnsafeArchive(f"the archive member {name!r} is an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"the archive member {name!r} climbs out with '..'")
    return "/".join(parts)


def unpack(stream: BinaryIO, folder: Path, listed: dict[str, Listed],
           max_bytes: int = MAX_FOLDER_BYTES, changing: bool = False) -> dict[str, str]:
    """Unpack the tar ``stream`` into the new ``folder``; {relative path: sha256} written.

    ``folder`` must not exist (it is made here, so nothing in it predates the archive);
    on any error it is removed again, whole. The caller compares the result with
    ``listed`` (a file the archive left out is its concern, a file it added is ours).
    ``changing``: the folder is still being written (a sync while its job runs), so a
    file made or resized since it was listed is passed over, never written, instead of
    refusing the whole archive; everything else is refused as always.
    """
    total = sum(item.size for item in listed.values())
    if total > max_bytes:
        raise UnsafeArchive(f"the folder holds {total} bytes on the cluster; at most "
                            f"{max_bytes} are brought back in one stage-out")
    folder.mkdir(mode=0o700)
    try:
        return _unpack(stream, folder, listed, changing)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _unpack(stream: BinaryIO, folder: Path, listed: dict[str, Listed],
            changing: bool) -> dict[str, str]:
    written: dict[str, str] = {}
    count = 0
    with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[arg-type]
        for member in archive:
            count += 1
            if count > MAX_MEMBERS:
                raise UnsafeArchive(f"the archive holds more than {MAX_MEMBERS} entries")
            rel = relative_name(member.name)
            if member.issym():
                continue  # never created: a link is how an archive reaches outside
            if not rel:
                if member.isdir():
                    continue
                raise UnsafeArchive("the archive's root entry is not a directory")
            try:
                target = within(folder, rel)
            except UnsafePath as error:
                raise UnsafeArchive(f"the archive member {member.name!r}: {error}") from None
            if member.isdir():
                target.mkdir(mode=0o700, parents=True, exist_ok=True)
                continue
            expected = listed.get(rel)
            if expected is None and changing:
                continue  # made since the listing: the next sync brings it
            if expected is None:
                raise UnsafeArchive(f"the archive holds {rel!r}, which the cluster did not "
                                    "list in the folder")
            if rel in written:
                raise UnsafeArchive(f"the archive holds {rel!r} twice")
            if member.islnk():
                source = relative_name(member.linkname)
                if source not in written and changing and source in listed:
                    continue  # a link to a file passed over (it changed)
                if source not in written:
                    raise UnsafeArchive(f"the archive links {rel!r} to {member.linkname!r}, "
                                        "which is not a file unpacked before it")
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                shutil.copyfile(within(folder, source), _new_file(target, member.mode))
                written[rel] = written[source]
                continue
            if not member.isreg() or member.issparse():
                raise UnsafeArchive(f"the archive member {rel!r} is neither a file nor a "
                                    "folder (devices, FIFOs and sparse files are refused)")
            if member.size != expected.size and changing:
                continue  # resized since the listing: the next sync brings it
            if member.size != expected.size:
                raise UnsafeArchive(f"the archive's {rel!r} is {member.size} bytes; the "
                                    f"cluster listed {expected.size}")
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            written[rel] = _write(archive.extractfile(member), _new_file(target, member.mode),
                                  member.size)
    return written


def _new_file(target: Path, mode: int) -> Path:
    """``target`` created empty (never an existing file or link), group/world write off."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 (mode & 0o755) | 0o600)
    os.close(fd)
    return target


def _write(source: BinaryIO | None, target: Path, size: int) -> str:
    digest = hashlib.sha256()
    left = size
    with target.open("r+b") as out:
        while left > 0 and source is not None and (block := source.read(min(CHUNK, left))):
            digest.update(block)
            out.write(block)
            left -= len(block)
    if left:
        raise UnsafeArchive(f"the archive ended inside {target.name!r}")
    return digest.hexdigest()
