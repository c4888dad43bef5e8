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


@pytest.mark.parametrize("default", ["NaN", "Infinity", "-Infinity"])
async def test_a_nan_default_is_refused_not_stored_as_null(api: Any, tmp_path: Path,
                                                           default: str) -> None:
    raw = ('{"name": "nan", "steps": [{"name": "s", "application": "a.py"}], '
           f'"inputs": [{{"name": "x", "type": "float", "default": {default}}}]}}')
    code, _, body = await api("POST", "eflows/api/workflows", raw=raw)
    assert code == 400 and "not a JSON number" in body["message"], body
    spec = hello_spec(tmp_path, inputs=[{"name": "x", "type": "list", "default": _nested(40)}])
    code, _, body = await api("POST", "eflows/api/workflows", spec)
    assert code == 400 and "nested" in body["message"], body


async def test_hostile_input_values_are_refused_by_field(api: Any, tmp_path: Path) -> None:
    _, _, wf = await api("POST", "eflows/api/workflows", hello_spec(
        tmp_path, inputs={"items": {"type": "list"}, "n": {"type": "integer"},
                          "f": {"type": "path"}, "x": {"type": "float"}}))
    url = f"eflows/api/workflows/{wf['id']}/executions"
    good = {"items": [1], "n": 1, "f": str(tmp_path), "x": 1.5}
    for name, value in (("items", _nested(DEEP)), ("items", "[" * 5000 + "]" * 5000),
                        ("n", 10 ** 40), ("n", "9" * 5000), ("f", "a\0b"), ("x", "nan"),
                        ("x", "inf"), ("items", ["ok", "a\0b"]),
                        ("f", "https://user:s3cret@example.org/data"),
                        ("f", "https://example.org/data?access_token=s3cret")):
        code, _, body = await api("POST", url, {"inputs": {**good, name: value}, "site": "local"})
        assert code == 400, (name, body)
        assert f"inputs.{name}" in body["errors"], (name, body)
        assert "s3cret" not in str(body)
    for raw in ('{"inputs": {"n": ' + "9" * 5000 + "}}",
                '{"inputs": {"x": NaN}}',
                '{"inputs": ' + "[" * 10_000 + "]" * 10_000 + "}",
                '{"inputs": {"f": "a\\u0000b"}}'):
        code, _, body = await api("POST", url, raw=raw)
        assert code == 400, (raw[:40], body)
        assert body["errors"], body
    code, _, page = await api("GET", "eflows/api/executions")
    assert code == 200 and page["total"] == 0  # nothing stored, nothing stuck in queued


async def test_slow_work_does_not_block_the_server(api: Any) -> None:
    """A key whose passphrase takes seconds to derive (the sender picks the KDF rounds)
    once froze every other request; now the server answers meanwhile."""
    import asyncio

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    slow = serialization.PrivateFormat.OpenSSH.encryption_builder().kdf_rounds(100) \
        .build(b"pw")
    text = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, slow).decode()
    done: list[str] = []

    async def import_key() -> None:
        code, _, body = await api("POST", "eflows/api/credentials/import",
                                  {"name": "slow", "private_key": text, "passphrase": "pw"})
        assert code == 201, body
        done.append("import")

    async def status() -> None:
        await asyncio.sleep(0.3)  # the import is deriving its key by now
        code, _, _ = await api("GET", "eflows/api/status")
        assert code == 200
        done.append("status")

    await asyncio.gather(import_key(), status())
    assert done == ["status", "import"]
