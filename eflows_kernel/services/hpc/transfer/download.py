"""Cluster -> local (stage-out) of a file or a folder, with the same .part + sha256 rules.

A file streams over one exec channel and resumes from a matching ``.part``. A folder
streams as one tar over one channel into ``<name>.part/``, and every file in it is then
checked against the sha256 the cluster computed before sending; only a folder that
matches entirely is renamed to its final name; the archive is unpacked by ``untar``,
which refuses anything that would land outside that folder, and a folder that fails
is removed whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import posixpath
import shutil
import tempfile
import threading
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
from eflows_kernel.services.hpc.transfer.untar import MAX_MEMBERS, Listed, UnsafeArchive, unpack
from eflows_kernel.services.paths import UnsafePath, check_component, within

log = logging.getLogger(__name__)


def stage_out(client: paramiko.SSHClient, remote_path: str, local_dir: str | os.PathLike[str],
              events: EventStream | None = None, *, resume: bool = True,
              fast_cipher: bool = True, changing: bool = False) -> TransferResult:
    """Download the remote file ``remote_path`` into ``local_dir`` (created if missing).

    The remote sha256 is taken first; the download streams ``cat`` (or ``tail`` from the
    offset of a matching local ``.part``) over one exec channel with a large window, and the
    local file is renamed only if the hash of what arrived matches.

    ``changing``: a folder still being written (a periodic sync): the files that
    changed while it was sent are left out (each kept file still matches the sha256 the
    cluster computed), not the whole folder refused; the next sync brings them.
    """
    if fast_cipher:
        prefer_fast_cipher(client)
    size = remote_size(client, remote_path)
    if size is None:
        if _is_remote_dir(client, remote_path):
            return _stage_out_folder(client, remote_path, Path(local_dir), events,
                                     changing)[0]
        raise TransferError(f"nothing to stage out: {remote_path} is neither a file nor a "
                            "folder on the cluster")
    expected = remote_sha256(client, [remote_path]).get(remote_path)
    name = staged_name(remote_path)
    target = Path(local_dir)
    target.mkdir(parents=True, exist_ok=True)
    final, part = within(target, name), within(target, name + PART)
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


def _remote_manifest(client: paramiko.SSHClient, folder: str,
                     only: dict[str, int] | None = None,
                     changing: bool = False) -> dict[str, Listed]:
    """{relative path: size and sha256} of every file under ``folder`` (of the files
    ``only`` names, with the sizes it gives, when given); ``changing``: a file gone
    before it was hashed is left out, not an error."""
    if only is not None:
        sizes = dict(only)
    else:
        listing = remote(client, f"cd {q(folder)} && find . -type f -printf '%s\\0%P\\0'")
        fields = listing.split(b"\0")
        if len(fields) // 2 > MAX_MEMBERS:
            raise UnsafeArchive(f"{folder} holds more than {MAX_MEMBERS} files")
        sizes = {fields[i + 1].decode(errors="surrogateescape"): int(fields[i])
                 for i in range(0, len(fields) - 1, 2)}
    sums = remote_sha256(client, [posixpath.join(folder, name) for name in sizes])
    prefix = folder.rstrip("/") + "/"
    digests = {path[len(prefix):]: digest for path, digest in sums.items()}
    missing = set(sizes) - set(digests)
    if missing and changing:
        sizes = {name: size for name, size in sizes.items() if name in digests}
    elif missing:
        raise TransferError(f"cannot read {len(missing)} file(s) of {folder} on the cluster, "
                            f"e.g. {sorted(missing)[0]}")
    return {name: Listed(size, digests[name]) for name, size in sizes.items()}


class _CountingReader:
    """A channel as a file for tarfile, reporting bytes as they arrive."""

    def __init__(self, channel: paramiko.Channel, progress: Progress) -> None:
        self.channel, self.progress = channel, progress

    def read(self, n: int = -1) -> bytes:
        data = self.channel.recv(n if n and n > 0 else CHUNK)
        self.progress.add(len(data))
        return data


def folder_command(folder: str) -> str:
    """What the site runs to send ``folder``; a seam for the tests of a hostile site."""
    return f"tar -cf - -C {q(folder)} ."


def live_folder_command(folder: str) -> str:
    """``folder_command`` for a folder still being written: a file removed or changed
    while tar reads it is a warning (status 1), not the end of the archive."""
    return f"tar --ignore-failed-read -cf - -C {q(folder)} ."


def subset_folder_command(folder: str) -> str:
    """``live_folder_command`` for some files of the folder, named on its stdin."""
    return f"tar --ignore-failed-read --null --no-recursion -cf - -C {q(folder)} -T -"


def _send_names(channel: paramiko.Channel, names: list[str]) -> threading.Thread:
    """Write ``names`` (``./``-prefixed: never read as an option) to the channel's stdin
    from a thread: tar sends while it reads them, so writing them all first could wait
    forever on a full window."""
    payload = b"".join(b"./" + n.encode(errors="surrogateescape") + b"\0" for n in names)

    def send() -> None:
        with contextlib.suppress(OSError, EOFError):
            channel.sendall(payload)
            channel.shutdown_write()

    thread = threading.Thread(target=send, daemon=True, name="eflows-tar-names")
    thread.start()
    return thread


def _stage_out_folder(client: paramiko.SSHClient, folder: str, local_dir: Path,
                      events: EventStream | None, changing: bool = False,
                      only: dict[str, int] | None = None
                      ) -> tuple[TransferResult, dict[str, str]]:
    """The folder into ``local_dir/<its name>``; with ``only`` ({path below it: size}),
    those files alone, merged into what is there already (each file renamed into place
    once the whole set checked out). The result, and {path: sha256} of what arrived."""
    folder = folder.rstrip("/") or "/"
    name = staged_name(folder)
    listed = _remote_manifest(client, folder, only, changing)
    total = sum(item.size for item in listed.values())
    local_dir.mkdir(parents=True, exist_ok=True)
    final, part = within(local_dir, name), within(local_dir, name + PART)
    if part.exists():
        shutil.rmtree(part)  # a folder is not resumed: it is sent again whole
    progress = Progress(events, name, "out", total)
    progress.start()
    try:
        channel = client.get_transport().open_session(  # type: ignore[union-attr]
            window_size=32 << 20, max_packet_size=1 << 18)
        names = None
        if only is not None:
            channel.exec_command(subset_folder_command(folder))
            names = _send_names(channel, sorted(listed))
        else:
            channel.exec_command(live_folder_command(folder) if changing else
                                 folder_command(folder))
        received = unpack(_CountingReader(channel, progress), part,  # type: ignore[arg-type]
                          listed, changing=changing)
        status = channel.recv_exit_status()
        channel.close()
        if names is not None:
            names.join(5)
        manifest = {rel: item.sha256 for rel, item in listed.items()}
        if changing and status in (0, 1):  # 1: a file changed while tar read it
            received = manifest = _kept_unchanged(client, part, received, manifest, folder)
            status = 0
        if status != 0:
            raise TransferError(f"reading {folder} on the cluster failed ({status})")
        if received != manifest:
            wrong = sorted(set(received) ^ set(manifest) |
                           {k for k in received if received.get(k) != manifest.get(k)})
            raise ChecksumMismatch(f"{folder}: {len(wrong)} file(s) differ from the cluster's "
                                   f"(e.g. {wrong[0]}); nothing was kept")
        if only is not None and final.is_dir():
            _merge(part, final, manifest)
        else:
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            os.replace(part, final)
    except BaseException as error:
        shutil.rmtree(part, ignore_errors=True)  # never a half folder
        progress.fail(error)
        raise
    progress.done = total
    progress.finish()
    digest = hashlib.sha256("".join(f"{manifest[k]}  {k}\n" for k in sorted(manifest))
                            .encode()).hexdigest()
    return TransferResult(name, total, digest), manifest


def _merge(part: Path, final: Path, files: dict[str, str]) -> None:
    """Each file of ``part`` renamed onto its place in ``final`` (the rest is kept)."""
    for rel in sorted(files):
        target = within(final, rel)
        if target.is_dir():
            shutil.rmtree(target)  # a folder on this side, a file on the site's now
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(within(part, rel), target)
    shutil.rmtree(part)


def stage_out_files(client: paramiko.SSHClient, folder: str, files: dict[str, int],
                    local_dir: str | os.PathLike[str],
                    events: EventStream | None = None) -> dict[str, str]:
    """Some files of a site folder still being written (an incremental sync): ``files``
    ({path below ``folder``: size listed}) into ``local_dir/<folder's name>/``, each
    checked against the sha256 the site computes now, merged into what is there; the
    files that changed while sent are left out. {path: sha256} of those that came."""
    if not files:
        return {}
    return _stage_out_folder(client, folder, Path(local_dir), events, True, files)[1]


RETRIES = 2  # single-file attempts at a file that changed while its folder was sent


def _kept_unchanged(client: paramiko.SSHClient, part: Path, received: dict[str, str],
                    manifest: dict[str, str], folder: str) -> dict[str, str]:
    """The files of a changing folder that arrived as the cluster hashed them; the
    others (changed, resized, removed while sent) are dropped from ``part``, then asked
    again one by one (hash, then send: a window of one round trip instead of the whole
    folder's), so a file the job rewrites every second still comes with most syncs.

    Each lands in a scratch folder first, inside ``part`` (so what removes a failed
    ``part`` removes it too): its download's own ``<name>.part`` must not be a file of
    the folder (``model`` beside the job's ``model.part``, a write-then-rename)."""
    kept = {rel: digest for rel, digest in received.items() if manifest.get(rel) == digest}
    for rel in set(received) - set(kept):
        within(part, rel).unlink()
    again = sorted(set(manifest) - set(kept))
    if again:
        _ask_again(client, part, folder, again, kept)
    if len(kept) < len(manifest):
        log.info("eflows: %s: %d of %d file(s) changed while sent, left for the next sync",
                 folder, len(manifest) - len(kept), len(manifest))
    return kept


def _ask_again(client: paramiko.SSHClient, part: Path, folder: str, names: list[str],
               kept: dict[str, str]) -> None:
    """Each of ``names`` downloaded alone into ``part`` (``kept`` gets those that came),
    through a scratch folder removed at the end, whatever happens."""
    scratch = Path(tempfile.mkdtemp(prefix=".eflows-again-", dir=part))
    try:
        for rel in names:
            for _attempt in range(RETRIES):
                try:
                    result = stage_out(client, posixpath.join(folder, rel), scratch,
                                       resume=False, fast_cipher=False)
                except (TransferError, OSError):
                    continue  # changed again, or gone: the next sync
                target = within(part, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(within(scratch, result.name), target)
                kept[rel] = result.sha256
                break
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def staged_name(remote_path: str) -> str:
    """The name a staged-out file or folder gets here: the last part of its remote path."""
    name = posixpath.basename(posixpath.normpath(remote_path))
    try:
        return check_component(name, "the staged-out name")
    except UnsafePath as error:
        raise TransferError(f"cannot stage out {remote_path}: {error}; name a file or a "
                            "folder below the run directory") from None
