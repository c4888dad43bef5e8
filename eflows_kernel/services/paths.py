"""The one safe-name rule and the one safe-path rule, for everything that becomes a file.

Why here, at the bottom: a workflow, a data movement, a site or an execution names
folders on this machine and on the site (``runs/<id>/outputs/<movement>``), and a site,
a workflow or a data service we do not trust chooses some of those names (a B2SHARE
record's file keys, a WebDAV listing, S3 object keys, a tar member, a ``target``
template). A name is checked once, where it enters the model (:func:`check_name`); a
relative path from outside once, before it is joined to a root (:func:`safe_relative`,
:func:`safe_join` on a site); a filesystem target on this machine once, where it is
written or deleted (:func:`within`), so no call site needs its own check and none can
forget one. What would leave its root is refused, never "cleaned" into something the
user did not ask for.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from eflows_kernel.services.errors import ValidationError

NAME_MAX = 128
NAME_RULE = "may only contain letters, digits, '_', '.' and '-', and starts with a letter or digit"
NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # for pydantic fields (and so the OpenAPI schema)
_NAME = re.compile(NAME_REGEX[1:-1])


class UnsafePath(ValidationError):
    """A path would leave the folder it must stay in (or is no single name at all).

    A ValidationError (and so a ValueError): uncaught, it is a 400 saying which name.
    """


def check_name(value: object, what: str = "name") -> str:
    """``value`` if it is safe as one path component, a URL segment and a ``${name}``.

    The first character is a letter or digit, so ``.``, ``..``, ``-rf`` and hidden
    files are impossible; the length is bounded. ValueError says what is wrong.
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > NAME_MAX:
        raise ValueError(f"{what} is {len(value)} characters long; at most {NAME_MAX}")
    if not _NAME.fullmatch(value):
        raise ValueError(f"{what} {value!r} {NAME_RULE}")
    return value


def name_from(text: str, fallback: str = "workflow") -> str:
    """The nearest safe name to ``text`` (a file stem, a folder, a TOSCA template name)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).lstrip("_.-").rstrip("_")[:NAME_MAX]
    return name or fallback


def check_component(value: str, what: str = "file name") -> str:
    """``value`` if it is one existing-style file name: not empty, ``.``, ``..``, no ``/``, NUL.

    Looser than :func:`check_name` on purpose: file names made by a program on the
    site (``sub dir/odd 'name'.txt``) are data, not identifiers, and stay as they are.
    """
    if value in ("", ".", "..") or "/" in value or "\0" in value or len(value) > 255:
        raise UnsafePath(f"{what} {value!r} is not a single file name")
    return value


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


def within(root: str | os.PathLike[str], *parts: str) -> Path:
    """``root / parts...`` resolved, if it stays inside ``root`` (resolved) and is not it.

    Symbolic links already on disk are followed by the resolution, so a link planted
    inside ``root`` cannot carry a write or a delete out of it. Raises UnsafePath.
    A relative path from outside goes through :func:`safe_relative` first
    (``within(root, *safe_relative(name).split("/"))``).
    """
    base = Path(root).resolve()
    for part in parts:
        if "\0" in part:
            raise UnsafePath(f"{part!r} holds a NUL byte")
        if Path(part).is_absolute():
            raise UnsafePath(f"{part!r} is absolute; it must be relative to {base}")
    target = base.joinpath(*parts).resolve()
    if target == base or base not in target.parents:
        raise UnsafePath(f"{os.path.join(*parts) if parts else '.'} leaves {base}")
    return target


def is_under(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (resolved) is ``root`` (resolved) or inside it."""
    target, base = Path(path).resolve(), Path(root).resolve()
    return target == base or base in target.parents


def protected_by(path: str | os.PathLike[str],
                 roots: Iterable[str | os.PathLike[str]]) -> Path | None:
    """The first of ``roots`` that ``path`` is, is inside, or (a folder) holds; else None.

    What never leaves this machine and is never written over from outside (the vault
    key, the state database, ``~/.ssh``...): a copy of a folder that holds one would
    carry it along, a download into it would land there.
    """
    resolved = Path(path).resolve()
    for root in roots:
        if is_under(resolved, root) or (resolved.is_dir() and is_under(root, resolved)):
            return Path(root)
    return None
