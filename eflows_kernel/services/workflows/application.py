"""Where a step's application is on this host, if the workflow may run it from here.

Why one rule: an imported workflow (a registry folder, a TOSCA file) names its
application, and it once could name any file of the server (``/etc/shadow`` ran as the
"application" and its first line came back in the SyntaxError). A workflow that came
from a folder or a file runs only what is inside that folder; one the user wrote as a
spec may name any file of theirs. The local executor runs what this returns and the
remote deployer uploads it.
"""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.services.paths import is_under
from eflows_kernel.services.workflows.model import Workflow


def source_root(workflow: Workflow) -> Path | None:
    """The folder the workflow came from (its folder, or its Python or TOSCA file's)."""
    source = workflow.source
    if source.get("folder"):
        return Path(source["folder"])
    if source.get("file"):
        return Path(source["file"]).parent
    return None


def local_application(workflow: Workflow, application: str) -> Path | None:
    """The application file (resolved), or None if it is not one the workflow may run here.

    Relative paths, and absolute ones as the registry writes them (``/wordcount/src/x.py``
    for ``<folder>/wordcount/src/x.py``), are looked up in the workflow's folder.
    """
    root = source_root(workflow)
    path = Path(application)
    candidates = [path] if path.is_absolute() else []
    if root is not None:
        candidates.append(root / application.lstrip("/"))
    for candidate in candidates:
        if candidate.is_file() and (root is None or is_under(candidate, root)):
            return candidate.resolve()
    return None
