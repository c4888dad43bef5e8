"""A directory container image as one tar: packed here, checked here, unpacked on the site.

Why one archive: a Charliecloud (or Singularity sandbox) image directory needs what
WebDAV, B2SHARE, S3 and plain HTTP do not keep file by file: modes (its ``python3``
must stay executable), empty directories (``ch-run`` mounts onto ``/dev``, ``/proc``)
and symbolic links (``/lib -> usr/lib``). A tar keeps all three, travels as one file
with the guarantees of every other transfer, and is unpacked by the site's ``tar``.

The site unpacks bytes this server has read first, member by member, against rules
that need no file system (the members' names, kinds and link targets only): names
relative without ``..`` (``untar.relative_name``), each name once, no member below a
symbolic link of the archive, directories, regular files, hard links to an earlier
file and symbolic links only (devices and FIFOs refused), and every symbolic link
resolving inside the image, following the archive's other links as the kernel would.
An absolute link target is a path of the image (the container sees the image as
``/``), so ``/usr/bin/awk -> /etc/alternatives/awk`` is kept; one that climbs above
the image's root is refused. The sha256 of the archive is checked on the site before
``tar`` reads it, so the site unpacks the bytes checked here.
"""

from __future__ import annotations

import gzip
import tarfile
from dataclasses import dataclass
from pathlib import Path

import paramiko

from eflows_kernel.services.hpc.transfer._common import q, remote
from eflows_kernel.services.hpc.transfer.untar import (
    MAX_FOLDER_BYTES,
    MAX_MEMBERS,
    UnsafeArchive,
    relative_name,
)

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
MAX_LINK_HOPS = 40  # what Linux follows before ELOOP


@dataclass(frozen=True)
class ImageArchive:
    """A checked image archive: how it is compressed ('' or 'gz'), what it holds."""

    compression: str
    members: int
    size: int  # bytes of its regular files


def archive_kind(path: Path, name: str | None = None) -> str | None:
    """'' (a plain tar), 'gz' (a gzipped tar) or None (a single-file image: SIF, squashfs).

    ``name`` is the file's name on the data service (default: ``path``'s). The name
    decides for ``.tar`` / ``.tar.gz`` / ``.tgz``, and then the bytes must agree; any
    other name (``<step_id>.sif`` in an image store) is a tar if its bytes say so.
    """
    with path.open("rb") as f:
        head = f.read(512)
    gzipped = head[:2] == b"\x1f\x8b"
    if gzipped:
        with gzip.open(path, "rb") as f:
            try:
                inner = f.read(512)
            except (OSError, EOFError):
                inner = b""
        tar = _is_tar(inner)
    else:
        tar = _is_tar(head)
    name = name or path.name
    if not tar:
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            raise UnsafeArchive(f"{name} is named as a tar archive but its bytes are "
                                "not one (re-pack the image directory with tar)")
        return None
    return "gz" if gzipped else ""


def _is_tar(block: bytes) -> bool:
    return len(block) >= 262 and block[257:262] == b"ustar"


def check_image_archive(path: Path, max_bytes: int = MAX_FOLDER_BYTES) -> ImageArchive:
    """Read the whole archive and refuse it (UnsafeArchive) unless every member is safe to
    unpack into an empty image directory; what it holds."""
    kind = archive_kind(path)
    if kind is None:
        raise UnsafeArchive(f"{path.name} is not a tar archive")
    seen: set[str] = set()
    links: dict[str, str] = {}  # symbolic link -> its target
    files: set[str] = set()
    members = size = 0
    with tarfile.open(path, mode="r|gz" if kind else "r|") as archive:
        for member in archive:
            members += 1
            if members > MAX_MEMBERS:
                raise UnsafeArchive(f"the image holds more than {MAX_MEMBERS} entries")
            rel = relative_name(member.name)
            if not rel:
                if member.isdir():
                    continue
                raise UnsafeArchive("the archive's root entry is not a directory")
            if rel in seen:
                raise UnsafeArchive(f"the archive holds {rel!r} twice")
            seen.add(rel)
            _below_no_link(rel, links)
            if member.issym():
                links[rel] = member.linkname
            elif member.islnk():
                source = relative_name(member.linkname)
                if source not in files:
                    raise UnsafeArchive(f"the archive links {rel!r} to {member.linkname!r}, "
                                        "which is not a file unpacked before it")
            elif member.isreg() and not member.issparse():
                files.add(rel)
                size += member.size
                if size > max_bytes:
                    raise UnsafeArchive(f"the image unpacks to more than {max_bytes} bytes")
            elif not member.isdir():
                raise UnsafeArchive(f"the archive member {rel!r} is neither a file, a folder "
                                    "nor a link (devices, FIFOs and sparse files are refused: "
                                    "the container runtime provides /dev)")
    for rel in seen:  # a link that came after the members below its name
        _below_no_link(rel, links)
    for rel, target in links.items():
        _resolve_inside(rel, target, links)
    return ImageArchive(kind, members, size)


def _below_no_link(rel: str, links: dict[str, str]) -> None:
    parts = rel.split("/")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in links:
            raise UnsafeArchive(f"the archive member {rel!r} lies below the symbolic link "
                                f"{'/'.join(parts[:i])!r} (it would be written through it)")


def _resolve_inside(rel: str, target: str, links: dict[str, str]) -> None:
    """Follow the link ``rel`` as the kernel would inside the image; refuse an escape."""
    if "\0" in target or not target:
        raise UnsafeArchive(f"the symbolic link {rel!r} has an empty or invalid target")
    start = [] if target.startswith("/") else rel.split("/")[:-1]
    pending = [p for p in target.split("/") if p not in ("", ".")]
    resolved = list(start)
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if not resolved:
                raise UnsafeArchive(f"the symbolic link {rel!r} -> {target!r} leads out of "
                                    "the image")
            resolved.pop()
            continue
        resolved.append(part)
        through = links.get("/".join(resolved))
        if through is not None:
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise UnsafeArchive(f"the symbolic link {rel!r} goes through more than "
                                    f"{MAX_LINK_HOPS} links")
            resolved.pop()
            if through.startswith("/"):
                resolved = []
            pending = [p for p in through.split("/") if p not in ("", ".")] + pending


def pack_image(folder: Path, archive: Path) -> Path:
    """The image directory ``folder`` as one tar (gzipped for a ``.tar.gz`` / ``.tgz``
    name) at ``archive``: modes, empty directories and symbolic links kept, owners not
    (the site's login owns what it unpacks)."""
    if not folder.is_dir():
        raise UnsafeArchive(f"{folder} is not an image directory")
    archive.parent.mkdir(parents=True, exist_ok=True)
    gz = archive.name.lower().endswith((".tar.gz", ".tgz"))

    def anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(archive, "w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(folder, arcname=".", filter=anonymous)
    return archive


def unpack_on_site(client: paramiko.SSHClient, archive: str, image_dir: str,
                   checked: ImageArchive) -> None:
    """Unpack the checked ``archive`` (on the site) as ``image_dir``, replacing what was
    there only once the whole image is out; the archive is removed after."""
    fresh = f"{image_dir}.unpack"
    flags = "-xzpf" if checked.compression == "gz" else "-xpf"
    remote(client, f"set -e; rm -rf {q(fresh)}; mkdir -p {q(fresh)}; "
                   f"tar --no-same-owner {flags} {q(archive)} -C {q(fresh)} || "
                   f"{{ s=$?; chmod -R u+w {q(fresh)}; rm -rf {q(fresh)}; exit $s; }}; "
                   f"if [ -e {q(image_dir)} ]; then chmod -R u+w {q(image_dir)}; "
                   f"rm -rf {q(image_dir)}; fi; "
                   f"mv {q(fresh)} {q(image_dir)}; rm -f {q(archive)}")


def image_candidates(location: str) -> list[str]:
    """Where an image store may keep ``<workflow>/<step_id>.sif``: that name, or the
    directory image packed as ``<step_id>.tar`` / ``.tar.gz`` / ``.tgz`` beside it."""
    if not location.endswith(".sif"):
        return [location]
    base = location[: -len(".sif")]
    return [location, *(base + suffix for suffix in ARCHIVE_SUFFIXES)]


def image_name(location: str) -> str:
    """The name an image of ``location`` has on the site: its file name, without the
    archive suffix of a packed directory image (``<step_id>.sif`` stays so)."""
    name = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
