"""The end-of-session scan for private key material: what it finds and what it leaves.

These tests plant key-shaped text on purpose, so they plant it outside pytest's
temporary directories (which the end-of-session scan reads) and remove it at once."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _files_with_key_material

KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="eflows-key-scan-") as folder:
        yield Path(folder)


def test_key_material_in_what_our_code_leaves_is_found(scratch: Path) -> None:
    (scratch / "state").mkdir()
    (scratch / "state" / "server.log").write_bytes(b"INFO ok\n" + KEY)
    (scratch / "events.jsonl").write_bytes(b'{"ok": 1}\n')
    assert _files_with_key_material(scratch) == [str(scratch / "state" / "server.log")]


def test_third_party_package_data_in_a_test_venv_is_not_ours(scratch: Path) -> None:
    data = scratch / "venv" / "lib" / "python3.11" / "site-packages" / "botocore" / "data"
    data.mkdir(parents=True)
    (data / "examples-1.json").write_bytes(KEY)
    assert _files_with_key_material(scratch) == []
