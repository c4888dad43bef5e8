"""What the portal remembers between sessions: the last site and credential deployed with.

A small JSON file (``<Jupyter data dir>/eflows/portal-choices.json``) holding ids and
names only, never a secret. Unreadable or missing, it is simply empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def default_path() -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "eflows" / "portal-choices.json"


class Choices:
    """Remembered choices in ``path`` (None: remembered for this object's life only)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.values: dict[str, Any] = {}
        if path is not None:
            try:
                loaded = json.loads(path.read_text())
                self.values = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self.values = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def remember(self, **values: Any) -> None:
        self.values.update(values)
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.values))
        except OSError:  # a read-only home must not break a deploy
            pass
