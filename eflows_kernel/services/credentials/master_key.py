"""The vault's master key: from the caller, from ``EFLOWS_VAULT_KEY``, or from a key file.

The key file is created on first use (32 random bytes, base64, mode 0600) and,
like ``ssh`` does with private keys, refused when group or others can read it:
a readable master key makes every stored credential readable.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from eflows_kernel.services.credentials.errors import MasterKeyError

ENV_VAR = "EFLOWS_VAULT_KEY"
KEY_FILE_NAME = "vault.key"
KEY_BYTES = 32  # AES-256-GCM

_GENERATE_HINT = ("python -c \"import base64, os; "
                  "print(base64.b64encode(os.urandom(32)).decode())\"")


def new_master_key() -> str:
    """A fresh master key in the base64 form ``EFLOWS_VAULT_KEY`` and key files hold."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_master_key(text: str | bytes, source: str) -> bytes:
    """Base64 (standard or URL-safe alphabet) of exactly 32 bytes; ``source`` names the origin."""
    value = text.decode("ascii", errors="replace") if isinstance(text, bytes) else text
    value = value.strip()
    try:
        altchars = b"-_" if ("-" in value or "_" in value) else None
        key = base64.b64decode(value, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{source} must be the base64 encoding of {KEY_BYTES} random "
                             f"bytes; make one with: {_GENERATE_HINT}")
    return key


def _check_key_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise MasterKeyError(f"vault key file {path} is not a regular file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise MasterKeyError(f"vault key file {path} is accessible by group or others "
                             f"(mode {mode:04o}); run: chmod 600 {path}")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise MasterKeyError(f"vault key file {path} belongs to another user "
                             f"(uid {info.st_uid}); it must be owned by uid {os.geteuid()}")


def read_or_create_key_file(path: str | Path, stored: Callable[[], int] | None = None) -> bytes:
    """The key stored in ``path``, creating the file (and its directory, 0700) if missing.

    Not if ``stored()`` says records encrypted under a key exist already: a new key would
    leave every one of them undecryptable, found out only when a run needs its key.
    """
    path = Path(path)
    if not path.exists():
        count = stored() if stored is not None else 0
        if count:
            raise MasterKeyError(
                f"vault key file {path} is missing, but {count} credential(s) encrypted with "
                "it are stored; no new key was made and nothing was changed. Restore the "
                f"file from a backup (mode 600), or give the key in {ENV_VAR}. If the key is "
                "lost for good, those credentials are too: point the server at a new state "
                "database (or delete the credential rows) and generate new keys")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it at the same time: read theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(new_master_key() + "\n")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; fstat needs the handle
    except OSError as exc:
        raise MasterKeyError(f"cannot read vault key file {path}: {exc.strerror}") from None
    with handle:  # check the file actually read, not one swapped in after a path check
        _check_key_file(path, os.fstat(handle.fileno()))
        return decode_master_key(handle.read(), f"vault key file {path}")


def resolve_master_key(master_key: bytes | None = None, key_file: str | Path | None = None,
                       environ: dict[str, str] | None = None,
                       stored: Callable[[], int] | None = None) -> tuple[bytes, str]:
    """The master key and where it came from: argument, then environment, then key file.

    Configuration wins over the file so that a deployment can inject the key
    from a secret store without leaving a copy on disk.
    """
    if master_key is not None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_BYTES:
            raise MasterKeyError(f"master_key must be {KEY_BYTES} bytes")
        return bytes(master_key), "argument"
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return decode_master_key(env[ENV_VAR], ENV_VAR), "environment"
    if key_file is not None:
        return read_or_create_key_file(key_file, stored), f"file {key_file}"
    raise MasterKeyError(f"the vault has no master key: set {ENV_VAR} "
                         f"(make one with: {_GENERATE_HINT}) or give a key file")


def replace_key_file(path: str | Path, rotate: Callable[[bytes], int]) -> tuple[int, Path]:
    """A new master key in ``path``: ``rotate(new key)`` re-encrypts the records with it.

    The new key is written beside the file first (``<name>.new``, 0600), so it exists
    on disk before any record depends on it; once every record is re-encrypted it takes
    the file's name and the old key stays as ``<name>.old`` (delete it once the new one
    is backed up). Returns the number of records and the old key's file.
    """
    path = Path(path)
    pending, old = path.with_name(path.name + ".new"), path.with_name(path.name + ".old")
    key = new_master_key()
    try:
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise MasterKeyError(f"{pending} exists: an earlier rotation was interrupted. Its "
                             "records may use that key already; keep both files, and ask "
                             "for help before removing either") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
        out.flush()
        os.fsync(out.fileno())
    count = rotate(decode_master_key(key, str(pending)))
    if path.exists():
        os.replace(path, old)
    os.replace(pending, path)
    return count, old
