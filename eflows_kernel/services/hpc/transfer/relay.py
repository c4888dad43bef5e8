"""Data services <-> this machine <-> a site, with the guarantees of every other transfer.

Data from a WebDAV share, an S3 bucket, a B2SHARE record or an HTTP URL is fetched into
a spool folder here (each file as ``<name>.part``, resumed from where an earlier attempt
stopped when the service still has the same version of it, checked against the
service's own MD5/SHA-256 when it gives one, sha256 always computed), then staged in with
:func:`stage_in` (sha256 checked again on the site). The way out is the same in
reverse: :func:`stage_out` into the spool, then each file written to the service,
which checks what it received. The data crosses this machine because the cluster does
not hold the service's credentials; the spool is per execution, so a restarted server
resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
from pathlib import Path
from typing import BinaryIO

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.transfer._common import (
    PART,
    ChecksumMismatch,
    Progress,
    TransferResult,
    file_sha256,
)
from eflows_kernel.services.hpc.transfer.download import (
    stage_out,
    stage_out_files,
    staged_name,
)
from eflows_kernel.services.hpc.transfer.image_archive import (
    archive_kind,
    check_image_archive,
    image_candidates,
    unpack_on_site,
)
from eflows_kernel.services.hpc.transfer.stores import DataStore, RemoteFile, StoreError
from eflows_kernel.services.hpc.transfer.stores.b2share import B2ShareStore
from eflows_kernel.services.hpc.transfer.stores.http import public
from eflows_kernel.services.hpc.transfer.upload import stage_in
from eflows_kernel.services.paths import safe_relative, within

STATE = ".state.json"  # beside a .part: which version of the file it holds


def _resume_offset(part: Path, item: RemoteFile) -> int:
    """Bytes of ``part`` that are the start of the same version of the file, else 0."""
    state = part.with_name(part.name + STATE)
    if not part.is_file() or not state.is_file() or item.etag is None:
        return 0
    try:
        saved = json.loads(state.read_text())
    except ValueError:
        return 0
    have = part.stat().st_size
    if saved.get("etag") != item.etag or saved.get("size") != item.size:
        return 0
    return have if item.size is None or have <= item.size else 0


def fetch_file(store: DataStore, item: RemoteFile, target: Path,
               events: EventStream | None = None) -> TransferResult:
    """One file of a data service into ``target`` (via ``target.part``), checked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART)
    state = part.with_name(part.name + STATE)
    offset = _resume_offset(part, item)
    progress = Progress(events, public(item.location), "in", item.size)
    progress.start(offset)
    # md5 only when the service gives one to compare with (it costs as much as sha256)
    hashes = [hashlib.sha256()] + ([hashlib.md5(usedforsecurity=False)] if item.md5 else [])
    sha = hashes[0]
    try:
        if offset:
            with part.open("rb") as f:
                while block := f.read(1 << 22):
                    for h in hashes:
                        h.update(block)
        else:
            state.write_text(json.dumps({"etag": item.etag, "size": item.size}))
        with part.open("ab" if offset else "wb") as f:
            for block in store.read(item.location, offset, item.etag):
                f.write(block)
                for h in hashes:
                    h.update(block)
                progress.add(len(block))
        size = part.stat().st_size
        problem = None
        if item.size is not None and size != item.size:
            problem = f"{size} bytes arrived, the service announced {item.size}"
        elif item.md5 is not None and hashes[-1].hexdigest() != item.md5.lower():
            problem = f"md5 {hashes[-1].hexdigest()} is not the service's {item.md5}"
        elif item.sha256 is not None and sha.hexdigest() != item.sha256.lower():
            problem = f"sha256 {sha.hexdigest()} is not the service's {item.sha256}"
        if problem:
            part.unlink()  # a resumed file that does not check out is fetched again whole
            raise ChecksumMismatch(f"{public(item.location)}: {problem}")
        os.replace(part, target)
        state.unlink(missing_ok=True)
    except BaseException as error:
        progress.fail(error)
        raise
    progress.finish()
    return TransferResult(item.name, size, sha.hexdigest())


def fetch(store: DataStore, location: str, local_dir: Path,
          events: EventStream | None = None) -> list[TransferResult]:
    """The file at ``location`` (as ``local_dir/<its name>``) or every file below it (with
    their relative paths), each name checked to stay inside ``local_dir``."""
    items = store.files(location)
    local_dir.mkdir(parents=True, exist_ok=True)
    return [fetch_file(store, item,
                       within(local_dir, *safe_relative(item.name, "file name").split("/")),
                       events)
            for item in items]


class _CountingReader:
    def __init__(self, f: BinaryIO, progress: Progress) -> None:
        self.f, self.progress = f, progress

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.progress.add(len(data))
        return data


def push(store: DataStore, local: Path, location: str,
         events: EventStream | None = None) -> list[TransferResult]:
    """A local file (to ``<location>/<name>``) or folder (each file below it) to a service."""
    base = location.rstrip("/")
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    results = []
    for path in files:
        rel = local.name if path == local else safe_relative(
            f"{local.name}/{path.relative_to(local).as_posix()}", "file name")
        target = f"{base}/{rel}"
        size, digest = path.stat().st_size, file_sha256(path)
        progress = Progress(events, public(target), "out", size)
        progress.start()
        try:
            with path.open("rb") as f:
                store.write(target, _CountingReader(f, progress), size,  # type: ignore[arg-type]
                            digest)
        except BaseException as error:
            progress.fail(error)
            raise
        progress.finish()
        results.append(TransferResult(rel, size, digest))
    return results


def relay_to_site(client: paramiko.SSHClient, store: DataStore, location: str,
                  remote_dir: str, spool: Path,
                  events: EventStream | None = None,
                  folder_name: str | None = None) -> list[TransferResult]:
    """A data service's file or folder into ``remote_dir`` on the site, through ``spool``.

    A folder's files land in ``remote_dir`` itself, unless ``folder_name`` is given: then
    a folder lands as ``remote_dir/<folder_name>`` (an image directory is one thing, the
    ``<step_id>.sif`` the step runs), a file of that name as itself.
    """
    fetched = fetch(store, location, spool, events)
    if folder_name and [r.name for r in fetched] != [folder_name]:
        holder = spool.with_name(spool.name + ".folder")
        shutil.rmtree(holder, ignore_errors=True)
        holder.mkdir(parents=True)
        os.replace(spool, holder / folder_name)
        try:
            return stage_in(client, holder / folder_name, remote_dir, events)
        finally:
            shutil.rmtree(holder, ignore_errors=True)
    tops = sorted({r.name.split("/", 1)[0] for r in fetched})
    results = []
    for top in tops:
        results += stage_in(client, spool / top, remote_dir, events)
    shutil.rmtree(spool, ignore_errors=True)
    return results


def relay_image_to_site(client: paramiko.SSHClient, store: DataStore, location: str,
                        remote_dir: str, spool: Path, image_name: str,
                        events: EventStream | None = None) -> list[TransferResult]:
    """A container image of a data service onto the site as ``remote_dir/<image_name>``.

    A single-file image (SIF, squashfs) lands as that file. A directory image kept as one
    tar (``.tar``, ``.tar.gz``, ``.tgz``, or any name whose bytes are a tar; an image
    store's ``<step_id>.sif`` may also be kept as ``<step_id>.tar`` beside it) is fetched
    and sent as one file, checked here member by member (``image_archive``), then
    unpacked on the site with its modes, empty directories and links. A folder on the
    service comes file by file, as :func:`relay_to_site` brings any folder.
    """
    errors: list[StoreError] = []
    for candidate in image_candidates(location):
        try:
            items = store.files(candidate)
        except StoreError as error:
            errors.append(error)
            continue
        break
    else:
        raise errors[0]
    base = posixpath.basename(candidate.rstrip("/"))
    if len(items) != 1 or items[0].name != base:
        return relay_to_site(client, store, candidate, remote_dir, spool, events,
                             folder_name=image_name)
    fetched = spool / f"{image_name}.fetched"
    fetch_file(store, items[0], fetched, events)
    kind = archive_kind(fetched, base)
    if kind is None:
        local = spool / image_name
        os.replace(fetched, local)
        results = stage_in(client, local, remote_dir, events)
    else:
        checked = check_image_archive(fetched)
        local = spool / f"{image_name}.tar"
        os.replace(fetched, local)
        results = stage_in(client, local, remote_dir, events)
        unpack_on_site(client, posixpath.join(remote_dir, local.name),
                       posixpath.join(remote_dir, image_name), checked)
    shutil.rmtree(spool, ignore_errors=True)
    return results


def relay_from_site(client: paramiko.SSHClient, remote_path: str, store: DataStore,
                    location: str, spool: Path,
                    events: EventStream | None = None,
                    contents: bool = False, changing: bool = False,
                    only: dict[str, int] | None = None) -> list[TransferResult]:
    """A file or folder of the site to ``<location>/<its name>`` on a data service; with
    ``contents``, a folder's files go to ``<location>/<path below the folder>`` (what
    the DLS's WebDAV stage-out does with its ``source_path``); ``changing``: a sync of
    a folder still being written (``stage_out``); ``only``: the files of the folder to
    send ({path below it: size listed}, an incremental sync: ``stage_out_files``)."""
    if only is not None:
        local = spool / staged_name(remote_path)
        if not stage_out_files(client, remote_path, only, spool, events):
            shutil.rmtree(spool, ignore_errors=True)
            return []
    else:
        local = spool / stage_out(client, remote_path, spool, events, changing=changing).name
    if contents and local.is_dir():
        pushed = [r for child in sorted(local.iterdir())
                  for r in push(store, child, location, events)]
    else:
        pushed = push(store, local, location, events)
    shutil.rmtree(spool, ignore_errors=True)
    return pushed


def publish_from_site(client: paramiko.SSHClient, remote_path: str, store: B2ShareStore,
                      server: str, title: str, spool: Path, community: str = "",
                      events: EventStream | None = None) -> tuple[str, list[TransferResult]]:
    """A file or folder of the site as a new B2SHARE record (its files by relative name);
    the record's URL and what was uploaded."""
    result = stage_out(client, remote_path, spool, events)
    local = spool / result.name
    record, bucket = store.create_draft(server, title, community)
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    results = []
    for path in files:
        rel = path.name if path == local else safe_relative(
            path.relative_to(local).as_posix(), "file name")
        results += push(store, path, f"{bucket.rstrip('/')}/{rel.rsplit('/', 1)[0]}"
                        if "/" in rel else bucket, events)
    url = store.publish(record)
    shutil.rmtree(spool, ignore_errors=True)
    return url, results


def site_to_site(source: paramiko.SSHClient, source_path: str, target: paramiko.SSHClient,
                 target_dir: str, spool: Path,
                 events: EventStream | None = None) -> list[TransferResult]:
    """A file or folder of one site into ``target_dir`` on another, through ``spool`` here.

    Both legs keep the guarantees of every transfer (the source's sha256 checked on
    arrival here, the bytes sent checked again on the target, ``.part`` until then,
    progress events); the spool is removed whatever happens.
    """
    try:
        fetched = stage_out(source, source_path, spool, events)
        return stage_in(target, spool / fetched.name, target_dir, events)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
