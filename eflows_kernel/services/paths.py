"""The one check of a name or path that comes from outside before it becomes a file.

Names arrive from places we do not control: a B2SHARE record's file keys, a WebDAV
listing, S3 object keys, a tar member, a user's ``target`` template. Each is joined to a
root folder (a spool folder here, a run directory on a site) only through
:func:`safe_relative` / :func:`safe_join`, which refuse anything that would land outside
that root (``..``, an absolute path, a NUL or a control character) instead of
"cleaning" it into something the user did not ask for.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from eflows_kernel.services.errors import ValidationError


class UnsafePath(ValidationError):
    """A name or path would leave the folder it is meant to stay in."""


def safe_relative(name: str, what: str = "path") -> str:
    """``name`` as a clean relative POSIX path that stays below its root, or UnsafePath.

    ``a//b/./c`` becomes ``a/b/c``; ``../x``, ``/etc/passwd``, ``a/../../x``, an empty
    name, and names with NUL, newline or other control characters are refused.
    """
    if not isinstance(name, str) or not name.strip():
        raise UnsafePath(f"{what} must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UnsafePath(f"{what} {name!r} contains a control character")
    if name.startswith("/") or "\\" in name:
        raise UnsafePath(f"{what} {name!r} must be relative (no leading '/', no '\\')")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise UnsafePath(f"{what} {name!r} leaves the folder it belongs in ('..')")
    return "/".join(parts)


def safe_join(root: str, name: str, what: str = "path") -> str:
    """``root/name`` (POSIX, e.g. on a site) with ``name`` checked by :func:`safe_relative`."""
    return posixpath.join(root, safe_relative(name, what)) if root else safe_relative(name, what)


def safe_local_path(root: Path, name: str, what: str = "path") -> Path:
    """``root / name`` on this machine, refused if it resolves outside ``root``.

    Also resolves symbolic links already under ``root``, so a link planted there
    cannot redirect a write elsewhere.
    """
    path = root.joinpath(*safe_relative(name, what).split("/"))
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePath(f"{what} {name!r} resolves outside {root}")
    return path
