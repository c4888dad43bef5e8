"""Hostile names and values against the real Jupyter server: each one a 400 naming the
field, nothing stored, and the API still answering afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.specs import hello_spec

DEEP = 900


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("name", ["..", ".", "-rf", ".hidden", "a/b", "x" * 1_000_000])
async def test_names_that_are_no_safe_file_name_are_refused(api: Any, tmp_path: Path,
                                                             name: str) -> None:
    """A movement called '..' once made the stage-out target the whole runs/ folder."""
    spec = hello_spec(tmp_path, data_movements=[
        {"name": name, "direction": "out", "kind": "local", "source": "x/.."}])
    code, _, body = await api("POST", "eflows/api/workflows", spec)
    assert code == 400, body
    assert "data_movements.0.name" in body["message"], body["message"][:300]
    for field, spec in (("name", {**hello_spec(tmp_path), "name": name}),
                        ("steps.0.name", {**hello_spec(tmp_path),
                                          "steps": [{"name": name, "application": "a.py"}]})):
        code, _, body = await api("POST", "eflows/api/workflows", spec)
        assert code == 400 and field in body["message"], (field, body["message"][:300])
    code, _, body = await api("POST", "eflows/api/sites", {"name": name, "host": "h",
                                                           "login": "u"})
    assert code == 400, body
    code, _, page = await api("GET", "eflows/api/workflows")
    assert code == 200 and page["total"] == 0

