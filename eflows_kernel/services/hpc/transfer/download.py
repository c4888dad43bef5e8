"""Cluster -> local (stage-out) of a file or a folder, with the same .part + sha256 rules.

A file streams over one exec channel and resumes from a matching ``.part``. A folder
streams as one tar over one channel into ``<name>.part/``, and every file in it is then
checked against the sha256 the cluster computed before sending; only a folder that
matches entirely is renamed to its final name.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tarfile
from pathlib import Path

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.transfer._common import (
    CHUNK,
    PART,
    ChecksumMismatch,
    Progress,
    TransferError,
    TransferResult,
    file_sha256,
    prefer_fast_cipher,
    q,
    remote,
    remote_sha256,
    remote_size,
)


def stage_out(client: paramiko.SSHClient, remote_path: str, local_dir: str | os.PathLike[str],
              events: EventStream | None = None, *, resume: bool = True,
              fast_cipher: bool = True) -> TransferResult:
    """Download the remote file ``remote_path`` into ``local_dir`` (created if missing).

    The remote sha256 is taken first; the download streams ``cat`` (or ``tail`` from the
    offset of a matching local ``.part``) over one exec channel with a large window, and the
    local file is renamed only if the hash of what arrived matches.
    """
    if fast_cipher:
        prefer_fast_cipher(client)
    size = remote_size(client, remote_path)
    if size is None:
        if _is_remote_dir(client, remote_path):
            return _stage_out_folder(client, remote_path, Path(local_dir), events)
        raise TransferError(f"nothing to stage out: {remote_path} is neither a file nor a "
                            "folder on the cluster")
    expected = remote_sha256(client, [remote_path]).get(remote_path)
    name = posixpath.basename(remote_path.rstrip("/"))
    target = Path(local_dir)
    target.mkdir(parents=True, exist_ok=True)
    final, part = target / name, target / (name + PART)
    offset = 0
    if resume and part.is_file() and 0 < part.stat().st_size <= size:
        have = part.stat().st_size
        prefix = remote(client, f"head -c {have} -- {q(remote_path)} | sha256sum")
        if prefix.split()[0].decode() == file_sha256(part):
            offset = have
    progress = Progress(events, name, "out", size)
    progress.start(offset)
    try:
        digest = hashlib.sha256()
        with part.open("r+b" if offset else "wb") as f:
            while offset and (block := f.read(CHUNK * 4)):
                digest.update(block)
            f.seek(offset)
            f.truncate()
            channel = client.get_transport().open_session(  # type: ignore[union-attr]
                window_size=32 << 20, max_packet_size=1 << 18)
            channel.exec_command(f"tail -c +{offset + 1} -- {q(remote_path)}")
            while block := channel.recv(CHUNK):
                digest.update(block)
                f.write(block)
                progress.add(len(block))
            status = channel.recv_exit_status()
            channel.close()
        if status != 0:
            raise TransferError(f"reading {remote_path} on the cluster failed ({status})")
        if digest.hexdigest() != expected:
            raise ChecksumMismatch(f"{remote_path}: sha256 mismatch (cluster {expected}, "
                                   f"received {digest.hexdigest()}); kept as {part}")
        os.replace(part, final)
    except BaseException as error:
        progress.fail(error)
        raise
    progress.finish()
    return TransferResult(name, final.stat().st_size, digest.hexdigest())


def _is_remote_dir(client: paramiko.SSHClient, path: str) -> bool:
    return remote(client, f"if [ -d {q(path)} ]; then echo d; fi").strip() == b"d"


def _remote_manifest(client: paramiko.SSHClient, folder: str) -> tuple[dict[str, str], int]:
    """{relative path: sha256} of every file under ``folder``, and their total size."""
    listing = remote(client, f"cd {q(folder)} && find . -type f -printf '%s\\0%P\\0'")
    fields = listing.split(b"\0")
    sizes = {fields[i + 1].decode(): int(fields[i]) for i in range(0, len(fields) - 1, 2)}
    sums = remote_sha256(client, [posixpath.join(folder, name) for name in sizes])
    prefix = folder.rstrip("/") + "/"
    manifest = {path[len(prefix):]: digest for path, digest in sums.items()}
    missing = set(sizes) - set(manifest)
    if missing:
        raise TransferError(f"cannot read {len(missing)} file(s) of {folder} on the cluster, "
                            f"e.g. {sorted(missing)[0]}")
    return manifest, sum(sizes.values())


class _CountingReader:
    """A channel as a file for tarfile, reporting bytes as they arrive."""

    def __init__(self, channel: paramiko.Channel, progress: Progress) -> None:
        self.channel, self.progress = channel, progress

    def read(self, n: int = -1) -> bytes:
        data = self.channel.recv(n if n and n > 0 else CHUNK)
        self.progress.add(len(data))
        return data


def _stage_out_folder(client: paramiko.SSHClient, folder: str, local_dir: Path,
                      events: EventStream | None) -> TransferResult:
    folder = folder.rstrip("/") or "/"
    name = posixpath.basename(folder)
    manifest, total = _remote_manifest(client, folder)
    local_dir.mkdir(parents=True, exist_ok=True)
    final, part = local_dir / name, local_dir / (name + PART)
    if part.exists():
        shutil.rmtree(part)  # a folder is not resumed: it is sent again whole
    progress = Progress(events, name, "out", total)
    progress.start()
    try:
        channel = client.get_transport().open_session(  # type: ignore[union-attr]
            window_size=32 << 20, max_packet_size=1 << 18)
        channel.exec_command(f"tar -cf - -C {q(folder)} .")
        with tarfile.open(fileobj=_CountingReader(channel, progress),  # type: ignore[arg-type]
                          mode="r|") as archive:
            archive.extractall(part, filter="data")  # no absolute paths, links out, devices
        status = channel.recv_exit_status()
        channel.close()
        if status != 0:
            raise TransferError(f"reading {folder} on the cluster failed ({status})")
        received = {str(p.relative_to(part)): file_sha256(p)
                    for p in part.rglob("*") if p.is_file()}
        if received != manifest:
            wrong = sorted(set(received) ^ set(manifest) |
                           {k for k in received if received.get(k) != manifest.get(k)})
            raise ChecksumMismatch(f"{folder}: {len(wrong)} file(s) differ from the cluster's "
                                   f"(e.g. {wrong[0]}); kept as {part}")
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        os.replace(part, final)
    except BaseException as error:
        progress.fail(error)
        raise
    progress.done = total
    progress.finish()
    digest = hashlib.sha256("".join(f"{manifest[k]}  {k}\n" for k in sorted(manifest))
                            .encode()).hexdigest()
    return TransferResult(name, total, digest)
