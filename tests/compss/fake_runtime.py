"""Installing the fake ``runcompss`` (``fake_runcompss.py``) where a test wants it."""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRAPHS = HERE.parents[0] / "fixtures" / "compss-graphs"


def install_fake(where: Path, name: str = "runcompss") -> Path:
    where.mkdir(parents=True, exist_ok=True)
    target = where / "fake_runcompss.py"
    shutil.copy(HERE / "fake_runcompss.py", target)
    shutil.copy(GRAPHS / "2_task_groups.dot", where / "complete_graph.dot")
    target.chmod(0o755)
    link = where / name
    if name != target.name:
        link.symlink_to(target)
    return link
