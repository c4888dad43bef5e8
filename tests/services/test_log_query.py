"""How HPCWaaS clients spell a logs query: Go durations and level bitmasks (log_query)."""

from __future__ import annotations

import pytest

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.log_query import (
    DEFAULT_LEVELS,
    levels_mask,
    line_level,
    parse_duration,
    parse_levels,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("1m0s", 60.0), ("1m", 60.0), ("30s", 30.0), ("1.5s", 1.5), ("300ms", 0.3),
    ("1h2m3s", 3723.0), ("0", 0.0), ("0s", 0.0), ("2", 2.0), ("0.5", 0.5),
    ("500us", 0.0005), ("1µs", 1e-6), ("10ns", 1e-8)])
def test_go_durations_as_time_duration_string_writes_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "", "1x", "m", "-1s", "1m 0s", "s1", "1..2s", "٣s",
                                  "1e3"])
def test_not_a_duration_names_the_field(text: str) -> None:
    with pytest.raises(ValidationError, match="timeout must be a duration") as caught:
        parse_duration(text)
    assert caught.value.details["fields"] == {"timeout": "not a duration"}


def test_levels_as_bitmask() -> None:
    assert parse_levels("15") == {"DEBUG", "INFO", "WARN", "ERROR"}
    assert parse_levels("9") == {"DEBUG", "ERROR"}  # the HPCWaaS documentation's example
    assert parse_levels("1") == {"DEBUG"}
    assert parse_levels("0") == DEFAULT_LEVELS == {"INFO", "WARN", "ERROR"}
    assert parse_levels(None) == DEFAULT_LEVELS
    assert parse_levels(14) == DEFAULT_LEVELS
    with pytest.raises(ValidationError, match="from 0 to 15"):
        parse_levels("16")


def test_levels_as_names() -> None:
    assert parse_levels("info,error") == {"INFO", "ERROR"}
    assert parse_levels("WARNING") == {"WARN"}
    assert parse_levels(" DEBUG , ") == {"DEBUG"}
    with pytest.raises(ValidationError, match=r"unknown level.*LOUD") as caught:
        parse_levels("INFO,LOUD")
    assert "levels" in caught.value.details["fields"]
    for odd in ("-1", "²", "٣"):  # digits to str.isdigit(), not to the bitmask
        with pytest.raises(ValidationError):
            parse_levels(odd)


def test_mask_round_trips() -> None:
    for mask in range(1, 16):
        assert levels_mask(parse_levels(str(mask))) == mask


@pytest.mark.parametrize(("line", "level"), [
    ("plain output", "INFO"), ("WARNING: disk almost full", "WARN"),
    ("2026-12-01 12:00:00 ERROR something broke", "ERROR"), ("DEBUG x=1", "DEBUG"),
    ("Traceback (most recent call last):", "ERROR"), ("CRITICAL failure", "ERROR"),
    ("[WARN] slow", "WARN"), ("x" * 100 + " ERROR late in the line", "INFO"),
    ("INFORMATION is not a level word", "INFO"), ("an ERRORS count", "INFO")])
def test_line_level(line: str, level: str) -> None:
    assert line_level(line) == level
