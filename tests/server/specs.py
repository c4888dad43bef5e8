"""Workflows and data the server tests register (helpers, not fixtures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def hello_spec(tmp_path: Path, name: str = "hello", code: str = "print('hello from eflows')",
               **extra: Any) -> dict[str, Any]:
    script = tmp_path / f"{name}.py"
    script.write_text(code + "\n")
    return {"name": name, "steps": [{"name": "main", "application": str(script)}], **extra}
