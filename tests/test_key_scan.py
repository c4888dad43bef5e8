"""The end-of-session scan for private key material: what it finds and what it leaves."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import _files_with_key_material

KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n-----END OPENSSH PRIVATE KEY-----\n"


def test_key_material_in_what_our_code_leaves_is_found(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "server.log").write_bytes(b"INFO ok\n" + KEY)
    (tmp_path / "events.jsonl").write_bytes(b'{"ok": 1}\n')
    assert _files_with_key_material(tmp_path) == [str(tmp_path / "state" / "server.log")]


def test_third_party_package_data_in_a_test_venv_is_not_ours(tmp_path: Path) -> None:
    data = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "botocore" / "data"
    data.mkdir(parents=True)
    (data / "examples-1.json").write_bytes(KEY)
    assert _files_with_key_material(tmp_path) == []
