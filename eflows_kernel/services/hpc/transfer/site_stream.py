"""A file or folder of one site streamed into another through this server, never spooled.

Why stream: two sites share no files and usually no network path or login, so the bytes
pass here; spooling a run directory on this server's disk first doubled the time and
needed the space. Here an SFTP read on the source feeds an SFTP write on the target in
bounded chunks (a reader thread and a queue of :data:`QUEUE_DEPTH` chunks: at most a few
MiB held), so memory stays flat whatever the size. The guarantees are every transfer's:
the bytes land as ``<name>.part`` and get their final name only once the target's own
sha256 of the ``.part`` equals the source's own sha256 of the file (and the bytes that
passed here, when they were all streamed now); a ``.part`` left by an earlier attempt
whose bytes are the source's first bytes is continued, and a file already there with
the source's sha256 is kept. ``cancel`` is looked at between chunks, so a cancel takes
effect mid-file within a chunk's time; it removes the ``.part`` it was writing and never
leaves a partial file under a final name. Either end may be this host (a ``LocalShell``).
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import queue
import stat
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.transfer._common import (
    PART,
    PRIVATE,
    ChecksumMismatch,
    Progress,
    TransferError,
    TransferResult,
    q,
    remote,
    remote_sha256,
)

STREAM_CHUNK = 256 * 1024  # one SFTP read / write; cancel is seen between two of them
QUEUE_DEPTH = 8  # chunks read ahead of the writer: at most 2 MiB held here
# Chunks asked of the source at once (SFTP's readv: all their 32 KiB requests in flight).
# One read() waits for each 32 KiB request in turn, a round trip each: 5 MB/s against
# 93 MB/s for a spooled get() on loopback (benchmarks/bench_site_copy.py, 18.6x the
# time); windows of 4 chunks gave 3.9x, of 16 chunks 2.0x. At most READ_WINDOW more
# chunks (4 MiB) are held here while they arrive.
READ_WINDOW = 16


class TransferCancelled(Exception):
    """The copy was cancelled; its ``.part`` was removed, nothing got a final name."""


@dataclass(frozen=True)
class _File:
    rel: str  # path below the copied item, its own name first (``results/a.txt``)
    size: int
    mode: int


def _walk(sftp: Any, path: str, rel: str) -> Iterator[tuple[str, _File | None]]:
    """(relative path, file) for every regular file, (relative path, None) for every
    folder, below ``path``; links and special files are not followed (a run directory
    could point anywhere on its site)."""
    info = sftp.lstat(path)
    if stat.S_ISREG(info.st_mode or 0):
        yield rel, _File(rel, int(info.st_size or 0), int(info.st_mode or 0o600) & 0o777)
    elif stat.S_ISDIR(info.st_mode or 0):
        yield rel, None
        for name in sorted(sftp.listdir(path)):
            yield from _walk(sftp, posixpath.join(path, name), posixpath.join(rel, name))


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TransferCancelled


def _prefix_sha256(client: paramiko.SSHClient, path: str, size: int) -> str:
    out = remote(client, f"head -c {int(size)} -- {q(path)} | sha256sum")
    return out.decode().split()[0] if out.strip() else ""


def _resume_offset(source: paramiko.SSHClient, source_path: str, target: paramiko.SSHClient,
                   target_sftp: Any, part: str, size: int) -> int:
    """How much of the ``.part`` an earlier attempt left can be kept: all of it when it
    is the source's first bytes (each site hashes its own side), else none."""
    try:
        have = int(target_sftp.stat(part).st_size or 0)
    except OSError:
        return 0
    if not 0 < have <= size:
        return 0
    theirs = remote_sha256(target, [part]).get(part)
    return have if theirs and theirs == _prefix_sha256(source, source_path, have) else 0


def _hand(chunks: queue.Queue[bytes | BaseException | None],
          item: bytes | BaseException | None, stop: threading.Event) -> bool:
    """Put ``item`` for the writer unless it stopped listening (False then)."""
    while not stop.is_set():
        try:
            chunks.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _pump(sftp: Any, path: str, offset: int, chunks: queue.Queue[bytes | BaseException | None],
          stop: threading.Event) -> None:
    """The reader: the source's bytes from ``offset``, chunk by chunk, into ``chunks``
    (``None`` at the end, or the error that stopped it)."""
    try:
        size = int(sftp.stat(path).st_size or 0)
        with sftp.open(path, "rb") as source:
            position = offset
            while position < size:
                end = min(size, position + READ_WINDOW * STREAM_CHUNK)
                window = [(start, min(STREAM_CHUNK, end - start))
                          for start in range(position, end, STREAM_CHUNK)]
                for block in source.readv(window):
                    if not _hand(chunks, block, stop):
                        return
                    position += len(block)
        _hand(chunks, None, stop)
    except Exception as error:  # handed to the writer, which raises it
        _hand(chunks, error, stop)


def _stream_file(source: paramiko.SSHClient, source_sftp: Any, source_path: str,
                 target: paramiko.SSHClient, target_sftp: Any, final: str, file: _File,
                 progress: Progress, cancel: threading.Event | None) -> TransferResult:
    part = final + PART
    expected = remote_sha256(source, [source_path]).get(source_path)
    if expected is None:
        raise TransferError(f"cannot read {source_path} on the source site")
    if remote_sha256(target, [final]).get(final) == expected:  # there already (a re-run)
        progress.add(file.size)
        return TransferResult(file.rel, file.size, expected)
    offset = _resume_offset(source, source_path, target, target_sftp, part, file.size)
    progress.add(offset)
    digest = hashlib.sha256() if offset == 0 else None
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(QUEUE_DEPTH)
    stop = threading.Event()
    reader = threading.Thread(target=_pump, args=(source_sftp, source_path, offset, chunks,
                                                  stop), daemon=True,
                              name="eflows-site-stream")
    reader.start()
    try:
        with target_sftp.open(part, "ab" if offset else "wb") as out:
            out.set_pipelined(True)
            while True:
                _check(cancel)
                try:
                    block = chunks.get(timeout=0.2)
                except queue.Empty:
                    continue
                if isinstance(block, BaseException):
                    raise TransferError(f"reading {source_path} on the source site failed: "
                                        f"{block}") from block
                if block is None:
                    break
                out.write(block)
                if digest is not None:
                    digest.update(block)
                progress.add(len(block))
    except TransferCancelled:
        stop.set()
        _remove(target_sftp, part)
        raise
    finally:
        stop.set()
        reader.join(5)
    landed = remote_sha256(target, [part]).get(part)
    passed = digest.hexdigest() if digest is not None else expected
    if landed != expected or passed != expected:
        _remove(target_sftp, part)
        raise ChecksumMismatch(f"{file.rel}: the bytes that reached the target (sha256 "
                               f"{landed}) are not the source's ({expected}); nothing was "
                               "kept, run the copy again")
    target_sftp.chmod(part, file.mode)
    target_sftp.posix_rename(part, final)
    return TransferResult(file.rel, file.size, expected)


def _remove(sftp: Any, path: str) -> None:
    with contextlib.suppress(OSError):
        sftp.remove(path)


def stream_between(source: paramiko.SSHClient, source_path: str,
                   target: paramiko.SSHClient, target_dir: str,
                   events: EventStream | None = None,
                   cancel: threading.Event | None = None,
                   contents: bool = False,
                   only: Sequence[str] = ()) -> list[TransferResult]:
    """``source_path`` (a file or folder on the source site) into ``target_dir`` on the
    target site, under its own name; one ``transfer`` progress (direction ``in``) for
    all its bytes. Raises :class:`TransferCancelled` once ``cancel`` is set.

    ``contents``: a folder's files go straight into ``target_dir`` (``source/a`` lands
    as ``target_dir/a``), as the DLS's ``ssh2ssh`` DAG writes them (each file's name
    with ``source_path`` replaced by ``target_path``); a file still keeps its name.

    ``only``: paths below the folder ``source_path`` (a step's declared outputs), the only
    ones streamed, each to the same path below its name in ``target_dir`` (still one
    progress); one that is not there is a :class:`TransferError` naming it."""
    source_sftp, target_sftp = source.open_sftp(), target.open_sftp()
    name = posixpath.basename(source_path.rstrip("/")) or "data"
    progress: Progress | None = None
    try:
        top = source_path.rstrip("/") or "/"
        try:
            folder = not only and contents and stat.S_ISDIR(
                source_sftp.lstat(top).st_mode or 0)
        except OSError as error:
            raise TransferError(f"{source_path} cannot be read on the source site: "
                                f"{error}") from None
        roots = [(posixpath.join(top, below), posixpath.join(name, below))
                 for below in only] or [(top, "" if folder else name)]
        entries: list[tuple[str, _File | None]] = []
        for path, rel in roots:
            try:
                found = list(_walk(source_sftp, path, rel))
            except OSError as error:
                raise TransferError(f"{path} cannot be read on the source site: "
                                    f"{error}") from None
            if not found:
                raise TransferError(f"{path} is neither a file nor a folder")
            known = {r for r, _f in entries}  # two outputs may overlap (a folder, a file in it)
            entries += [e for e in found if e[0] not in known]
        folders = [posixpath.join(target_dir, rel) for rel, f in entries if f is None]
        folders += sorted({posixpath.dirname(posixpath.join(target_dir, f.rel))
                           for _rel, f in entries if f is not None} - set(folders))
        files = [f for _rel, f in entries if f is not None]
        remote(target, PRIVATE + "xargs -0 mkdir -p --",  # any number, any name
               stdin=b"".join(d.encode() + b"\0" for d in [target_dir, *folders]))
        progress = Progress(events, name, "in", sum(f.size for f in files))
        progress.start()
        results = []
        for file in files:
            _check(cancel)
            below = file.rel if folder else (
                file.rel.split("/", 1)[1] if "/" in file.rel else "")
            results.append(_stream_file(
                source, source_sftp, posixpath.join(source_path, below) if below
                else source_path, target, target_sftp, posixpath.join(target_dir, file.rel),
                file, progress, cancel))
        progress.finish()
        return results
    except BaseException as error:
        if progress is not None:
            progress.fail(error if not isinstance(error, TransferCancelled)
                          else TransferCancelled("cancelled"))
        raise
    finally:
        source_sftp.close()
        target_sftp.close()


__all__ = ["QUEUE_DEPTH", "STREAM_CHUNK", "TransferCancelled", "stream_between"]
