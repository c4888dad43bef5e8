"""How big, deep and strange a value from outside may be: one rule for every JSON-like input.

Why: a value is stored with its execution and served back by every listing, so a list
nested 900 deep (which the JSON encoder cannot write back), a 5,000-digit integer (which
Python refuses to print), a NaN (which is not JSON) or a NUL byte (which no file name or
command line can hold) turned one bad request into a record that broke the API for good.
Refused where they come in, with the field named, nothing is stored.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from typing import Any

MAX_DEPTH = 32  # lists and maps inside each other
MAX_ITEMS = 100_000  # values in one input, all levels together
MAX_TEXT = 1 << 20  # characters of one string
MAX_INT_DIGITS = 30  # an integer input is a count or a size, not a number theory problem
MAX_BODY = 16 << 20  # bytes of one JSON request body


_SECRET_PARAM = re.compile(r"token|secret|passw|pwd|signature|^sig$|api[_-]?key|^key$|"
                           r"credential|session|auth", re.IGNORECASE)


def secret_in_url(value: str) -> str | None:
    """What in the http(s) URL ``value`` looks like a secret (None if nothing does).

    Why here: an input is stored with its execution and served back by the API, so a
    password or a token in a URL would be kept and shown in clear.
    """
    if not value.startswith(("http://", "https://")):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        if parts.username is not None or parts.password is not None:
            return "a user name or password (user:password@)"
    except ValueError:
        return None
    for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_PARAM.search(name):
            return f"what looks like a secret ({name}=...)"
    return None


class TooStrange(ValueError):
    """A value breaks one of the bounds; the message says which, ``where`` the keys to it."""

    def __init__(self, message: str, where: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.where = where

    def field(self, depth: int = 2, default: str = "body") -> str:
        """Where, as an API names a field (``inputs.items``): its first ``depth`` keys."""
        return ".".join(self.where[:depth]) or default


def check_value(value: Any, what: str = "value", *, json_only: bool = True) -> Any:
    """``value`` itself if it is within the bounds (TooStrange naming ``what`` otherwise).

    Shared objects count once per place they appear, as they would once written out, so
    a YAML alias bomb (a few hundred bytes naming one list a billion times) is refused.
    ``json_only=False`` lets other scalars through (the dates of a YAML file).
    """
    count = 0
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, where = stack.pop()
        count += 1
        if count > MAX_ITEMS:
            raise TooStrange(f"{what} holds more than {MAX_ITEMS} values", where)
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int):
            if abs(item) >= 10 ** MAX_INT_DIGITS:
                raise TooStrange(f"{what} holds an integer of more than {MAX_INT_DIGITS} "
                                 "digits", where)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise TooStrange(f"{what} holds {item}, which is not a number JSON can hold",
                                 where)
        elif isinstance(item, str):
            _check_text(item, what, where)
        elif isinstance(item, list | tuple | dict):
            if depth >= MAX_DEPTH:
                raise TooStrange(f"{what} is nested more than {MAX_DEPTH} levels deep", where)
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise TooStrange(f"{what} has a key that is not text: {key!r:.40}",
                                         where)
                    _check_text(key, what, where)
                children = [(v, (*where, k)) for k, v in item.items()]
            else:
                children = [(v, (*where, str(i))) for i, v in enumerate(item)]
            stack.extend((child, depth + 1, at) for child, at in children)
        elif json_only:
            raise TooStrange(f"{what} holds a {type(item).__name__}, which is not JSON", where)
    return value


def _check_text(text: str, what: str, where: tuple[str, ...]) -> None:
    if len(text) > MAX_TEXT:
        raise TooStrange(f"{what} holds a text of {len(text)} characters; at most {MAX_TEXT}",
                         where)
    if "\0" in text:
        raise TooStrange(f"{what} holds a NUL byte, which no file name or argument can carry",
                         where)


def _no_constant(name: str) -> Any:
    raise TooStrange(f"{name} is not a JSON number")


def parse_json(raw: bytes | str, what: str = "body") -> Any:
    """Parsed JSON within the bounds (TooStrange otherwise; ValueError if not JSON).

    ``NaN`` and ``Infinity`` (which Python's parser accepts) are refused, and a
    nesting that would exhaust the parser's recursion is reported, not raised.
    """
    if len(raw) > MAX_BODY:
        raise TooStrange(f"the {what} is {len(raw)} bytes; at most {MAX_BODY}")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise TooStrange(f"the {what} is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        if isinstance(exc, TooStrange | json.JSONDecodeError | UnicodeDecodeError):
            raise
        raise TooStrange(f"the {what} holds an integer of more than {MAX_INT_DIGITS} "
                         "digits") from None  # int() refused a huge literal
    return check_value(data, f"the {what}")
