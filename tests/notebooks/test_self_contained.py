"""The tutorials work wherever ``notebooks/`` is copied (a user's home, a course folder).

Run in place by nbval, a tutorial reading ``../tests/...`` would still pass; here the
folder is copied away from the repository first and the tutorial executed there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_no_tutorial_reads_outside_its_folder() -> None:
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code":
                assert "cwd().parent" not in source and "../" not in source, \
                    f"{notebook.name} reads outside notebooks/: {source[:120]!r}"


@pytest.mark.timeout(240)
def test_tutorial_workflows_runs_from_a_copy(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "my-notebooks"
    shutil.copytree(NOTEBOOKS, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints",
                                                                   "conftest.py"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EFLOWS_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("EFLOWS_URL", "EFLOWS_TOKEN", "EFLOWS_STATE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = copy / "tutorial-workflows.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=180, resources={"metadata": {"path": str(copy)}}).execute()
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "warnings, e.g.:" in text
