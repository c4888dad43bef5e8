"""Workflows and data the server tests register (helpers, not fixtures)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.workflows import Workflow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def hello_spec(tmp_path: Path, name: str = "hello", code: str = "print('hello from eflows')",
               **extra: Any) -> dict[str, Any]:
    script = tmp_path / f"{name}.py"
    script.write_text(code + "\n")
    return {"name": name, "steps": [{"name": "main", "application": str(script)}], **extra}


STEP_GRAPH = {"make": "front", "keep": "back", "here": "local", "lost": "old", "later": "back"}


def local_site(name: str, workdir: Path) -> dict[str, Any]:
    """This host as a site (``connection: local``) with its own work directory."""
    return {"name": name, "connection": "local", "scheduler": "slurm",
            "workdir": str(workdir), "python": {"mode": "existing", "path": sys.executable}}


def two_site_graph(services: Any, tmp_path: Path) -> dict[str, str]:
    """The records and folders a finished graph on two sites leaves (``STEP_GRAPH``):
    make (front) and keep (back) with a job script and a file each in their run folder
    on their site, here (this host) with its local folder, lost (its site deleted since),
    later (never started). The ids by step, ``parent`` the graph's."""
    store, sites = services.execution_store, services.site_service
    for name in ("front", "back", "old"):
        sites.add(local_site(name, tmp_path / name))
    workflow = services.registry.register(Workflow(name="two-sites"))
    credential = services.vault.generate("steps").id
    parent = store.create(workflow.id, {}, "front", credential, step_sites=STEP_GRAPH)
    ids = {"parent": parent.id}
    for step, site in STEP_GRAPH.items():
        if step != "later":
            child = store.create(workflow.id, {}, site, credential, parent_id=parent.id,
                                 step=step)
            store.set_state(child.id, ExecutionState.DONE)
            ids[step] = child.id
    store.set_state(parent.id, ExecutionState.DONE)
    for step, site, name, text in (("make", "front", "made.txt", "made on front\n"),
                                   ("keep", "back", "kept.txt", "kept on back\n")):
        folder = tmp_path / site / "runs" / ids[step]
        folder.mkdir(parents=True)
        (folder / "job.sh").write_text(f"#!/bin/sh\n# {step}\n")
        (folder / name).write_text(text)
    (tmp_path / "front" / "runs" / ids["make"] / "link").symlink_to("/etc/hostname")
    here = Path(services.runs_dir) / ids["here"]
    here.mkdir(parents=True)
    (here / "output.log").write_text("ran here\n")
    sites.delete(sites.get_by_name("old").id)
    return ids
