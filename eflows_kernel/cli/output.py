"""What every command shares: exit codes, usage errors, JSON and table output.

Tables are plain and aligned (no colour, no wrapping: safe to pipe into grep/awk);
``--json`` prints the services' models as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
Command = Callable[..., Any]  # adds one sub-command: (subparsers, name, handler, help)


class UsageError(Exception):
    """A command line that parses but makes no sense (exit 2)."""


def jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    print(json.dumps(jsonable(value), indent=2, default=str))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    text = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in text:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def parse_pairs(pairs: Sequence[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {pair!r} is not of the form name=value")
        result[key.strip()] = value
    return result
