"""The one safe-name rule and the one safe-path rule, for everything that becomes a file.

Why here, at the bottom: a workflow, a data movement, a site or an execution names
folders on this machine and on the site (``runs/<id>/outputs/<movement>``), and a site
or a workflow we do not trust chooses some of those names. A name is checked once,
where it enters the model (:func:`check_name`); a filesystem target is checked once,
where it is written or deleted (:func:`within`), so no call site needs its own check
and none can forget one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

NAME_MAX = 128
NAME_RULE = "may only contain letters, digits, '_', '.' and '-', and starts with a letter or digit"
NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # for pydantic fields (and so the OpenAPI schema)
_NAME = re.compile(NAME_REGEX[1:-1])


class UnsafePath(ValueError):
    """A path would leave the folder it must stay in (or is no single name at all)."""


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


def within(root: str | os.PathLike[str], *parts: str) -> Path:
    """``root / parts...`` resolved, if it stays inside ``root`` (resolved) and is not it.

    Symbolic links already on disk are followed by the resolution, so a link planted
    inside ``root`` cannot carry a write or a delete out of it. Raises UnsafePath.
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
