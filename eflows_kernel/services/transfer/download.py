"""Cluster -> local (stage-out) of one file, with the same .part + sha256 + resume rules."""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.transfer._common import (
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
        raise TransferError(f"nothing to stage out: {remote_path} is not a file on the cluster")
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
