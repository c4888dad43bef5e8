"""How an execution's log is asked for by HPCWaaS clients: Go durations and level bitmasks.

The published ``waas`` client (eflows4hpc/hpcwaas-api) sends
``from=0&timeout=1m0s&size=-1&levels=15``: ``timeout`` as Go's ``time.Duration.String()``
writes it, ``levels`` as a bitmask (``DEBUG=1, INFO=2, WARN=4, ERROR=8``; ``0`` means
INFO+WARN+ERROR). Our own clients and the CLI may name the levels instead
(``INFO,ERROR``). This module reads both spellings and says which level a line of a
run's output is, so the REST layer and the CLI agree on every answer.
"""

from __future__ import annotations

import re

from eflows_kernel.services.errors import ValidationError

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")  # the HPCWaaS names, lowest bit first
LEVEL_BITS = {name: 1 << i for i, name in enumerate(LEVELS)}
DEFAULT_LEVELS = frozenset({"INFO", "WARN", "ERROR"})  # what ``levels=0`` (or none) means
_ALIASES = {"WARNING": "WARN", "CRITICAL": "ERROR", "FATAL": "ERROR"}
_LINE_LEVEL = re.compile(r"\b(DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|Traceback)\b")
_LINE_LEVEL_WINDOW = 80  # a level word further into the line is part of the message

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3,
                   "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_MASK = re.compile(r"[0-9]+")


def parse_duration(value: str, field: str = "timeout") -> float:
    """Seconds in a Go duration (``1m0s``, ``1.5h``, ``300ms``, ``0``) or a plain number.

    A plain number is seconds (our older clients send ``timeout=30``); Go itself only
    accepts ``0`` without a unit. Negative durations are refused: a wait cannot be.
    """
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    seconds, at = 0.0, 0
    for part in _DURATION_PART.finditer(text):
        if part.start() != at:
            break
        seconds += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
        at = part.end()
    if at == 0 or at != len(text):
        raise ValidationError(
            f"{field} must be a duration such as 1m0s, 30s or 500ms, or a number of "
            f"seconds, got {value[:40]!r}", fields={field: "not a duration"})
    return seconds


def parse_levels(value: str | int | None, field: str = "levels") -> frozenset[str]:
    """The level names a ``levels`` value selects: a bitmask (``15``) or names (``INFO,ERROR``).

    ``None``, ``""`` and ``0`` select INFO, WARN and ERROR, as HPCWaaS does; ``WARNING``
    is read as ``WARN``.
    """
    if value is None:
        return DEFAULT_LEVELS
    text = str(value).strip()
    if _MASK.fullmatch(text):
        mask = int(text)
        if mask > sum(LEVEL_BITS.values()):
            raise ValidationError(
                f"{field} as a bitmask must be from 0 to 15 (DEBUG=1, INFO=2, WARN=4, "
                f"ERROR=8), got {mask}", fields={field: "bitmask out of range"})
        if mask == 0:
            return DEFAULT_LEVELS
        return frozenset(name for name, bit in LEVEL_BITS.items() if mask & bit)
    names = {word.strip().upper() for word in text.split(",") if word.strip()}
    if not names:
        return DEFAULT_LEVELS
    names = {_ALIASES.get(name, name) for name in names}
    unknown = sorted(names - set(LEVELS))
    if unknown:
        raise ValidationError(
            f"{field}: unknown level(s) {', '.join(unknown)[:80]} (use a bitmask from 0 to "
            f"15 or names among {', '.join(LEVELS)})",
            fields={field: f"unknown level(s) {', '.join(unknown)[:80]}"})
    return frozenset(names)


def levels_mask(levels: frozenset[str]) -> int:
    """The bitmask of ``levels`` (what the ``waas`` client would send for them)."""
    return sum(LEVEL_BITS[name] for name in levels)


def line_level(line: str) -> str:
    """The level of one output line: the first level word near its start, else INFO.

    A Python traceback's first line counts as ERROR, so ``levels=8`` shows why a run
    failed.
    """
    found = _LINE_LEVEL.search(line[:_LINE_LEVEL_WINDOW])
    if not found:
        return "INFO"
    word = found.group(1)
    if word == "Traceback":
        return "ERROR"
    return _ALIASES.get(word, word)


__all__ = ["DEFAULT_LEVELS", "LEVELS", "LEVEL_BITS", "levels_mask", "line_level",
           "parse_duration", "parse_levels"]
