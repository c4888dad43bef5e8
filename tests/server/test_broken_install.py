"""A broken installation (empty state file, bad vault key) on a real Jupyter server: every
route answers JSON 503 with the reason, instead of the extension vanishing into 404s."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def _empty_state(folder: Path) -> None:
    (folder / "state.sqlite").write_bytes(b"")
    os.utime(folder / "state.sqlite", (0, 0))


def _readable_vault_key(folder: Path) -> None:
    (folder / "vault.key").write_text("A" * 43 + "=\n")
    (folder / "vault.key").chmod(0o644)


@pytest.fixture(params=[_empty_state, _readable_vault_key])
def eflows_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    path = tmp_path / "eflows-state"
    path.mkdir()
    request.param(path)
    return path


async def test_a_broken_installation_answers_503_with_the_reason(api: Any,
                                                                 eflows_dir: Path) -> None:
    for path in ("eflows/api/status", "eflows/api/workflows", "eflows/hpcwaas/workflows"):
        code, headers, body = await api("GET", path)
        assert code == 503, (path, code, body)
        assert headers["Content-Type"].startswith("application/json")
        if path.startswith("eflows/hpcwaas"):  # in the waas client's error shape
            (error,) = body["errors"]
            assert (error["status"], error["id"]) == (503, "service_unavailable"), body
            message = reason = error["detail"]  # the message holds the reason
        else:
            message, reason = body["message"], body["reason"]
        assert "eflows is not available" in message, body
        assert ("empty file" in reason or "chmod 600" in reason), body
    state = eflows_dir / "state.sqlite"
    if "empty" in reason:
        assert state.read_bytes() == b""  # nothing was written over it
