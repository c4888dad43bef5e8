"""A run's output log: its tail for error messages, and incremental reads for clients.

Both executors keep a run's stdout and stderr in ``<run folder>/output.log`` (the remote
one copies it back from the site when the run ends) and serve it by byte offset, so a
client polling a running execution only gets what is new, and never half a character.
"""

from __future__ import annotations

import os
from pathlib import Path

from eflows_kernel.services.errors import ValidationError

OUTPUT_LOG = "output.log"  # a run's stdout and stderr, in its run folder (here and on a site)
_ERROR_TAIL_LINES = 20
_ERROR_TAIL_BYTES = 64 * 1024


def log_tail(path: Path, lines: int = _ERROR_TAIL_LINES) -> str:
    """The last lines of a log: what a user needs to see why a run failed."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _ERROR_TAIL_BYTES))
            data = f.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def decode_prefix(data: bytes) -> tuple[str, int]:
    """Decode ``data``, leaving out a UTF-8 character cut at its end.

    Returns the text and how many bytes it used, so the next read starts at the
    cut character instead of producing two replacement characters.
    """
    for cut in range(0, min(4, len(data) + 1)):
        chunk = data[: len(data) - cut]
        try:
            return chunk.decode("utf-8"), len(chunk)
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                break
    return data.decode("utf-8", errors="replace"), len(data)


def check_log_range(offset: object, size: object) -> None:
    """Refuse a log read the REST API or a client got wrong, with the field named."""
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError("offset must be a non-negative integer", offset=offset)
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise ValidationError("size must be a positive integer", size=size)


def read_text_chunk(path: Path, offset: int, size: int | None) -> tuple[str, int]:
    """Text from byte ``offset`` of a growing log (at most ``size`` bytes), and the next offset.

    Never cuts a UTF-8 character: a client polling a running execution gets whole
    characters, and the next read starts at the cut one.
    """
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read() if size is None else f.read(size)
            text, used = decode_prefix(data)
            if data and not used:  # ``size`` smaller than one character: take it whole
                f.seek(offset)
                more = f.read(len(data) + 3)
                for end in range(len(data) + 1, len(more) + 1):
                    text, used = decode_prefix(more[:end])
                    if used:
                        break
    except FileNotFoundError:
        return "", offset
    return text, offset + used
