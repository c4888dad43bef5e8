"""Checkpoints of workflow runs, and re-runs that resume from them.

A step asks for checkpointing the way PyCOMPSs users do, with runcompss options in
its ``extra_compss_opts`` (``--checkpoint=FT --checkpoint_params=finished.tasks:1``).
The runner then saves every finished task under ``checkpoint/`` in the run's own
folder (wherever the spec said: two runs must never write one folder), so a run's
checkpoints go with its record. A re-run *resuming* from it starts with a copy of that
folder: the runner restores the saved tasks instead of running them again, and the
earlier run stays as it was (archive or delete it, the new run keeps its copy).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from eflows_kernel.services.workflows.model import Step

FOLDER = "checkpoint"  # in the run folder, here and on a site
MANIFEST = "checkpoint.jsonl"  # the runner's list of committed tasks (engine/checkpoint.py)
_POLICY = ("--checkpoint", "--checkpoint_policy")
_PARAMS = "--checkpoint_params"
_FOLDER = "--checkpoint_folder"


def _options(extra: str | None) -> dict[str, str]:
    """The ``--checkpoint*`` options of ``extra`` (``--opt=value`` or ``--opt value``)."""
    words = shlex.split(extra or "")
    found: dict[str, str] = {}
    for index, word in enumerate(words):
        name, sep, value = word.partition("=")
        if name not in (*_POLICY, _PARAMS, _FOLDER):
            continue
        if not sep and index + 1 < len(words) and not words[index + 1].startswith("--"):
            value = words[index + 1]
        found["policy" if name in _POLICY else name] = value
    return found


def checkpointed(step: Step) -> bool:
    """The step asks the runner to checkpoint (a policy in its extra_compss_opts)."""
    return bool(_options(step.extra_compss_opts).get("policy"))


def runner_options(step: Step, run_dir: str) -> list[str]:
    """The runner's checkpoint options for ``step`` run in ``run_dir`` (none if it asks
    for none); the folder is always the run's own."""
    found = _options(step.extra_compss_opts)
    if not found.get("policy"):
        return []
    options = [f"--checkpoint={found['policy']}"]
    if found.get(_PARAMS):
        options.append(f"{_PARAMS}={found[_PARAMS]}")
    folder = f"{run_dir.rstrip('/')}/{FOLDER}"
    return [*options, f"{_FOLDER}={folder}"]


def count_committed(manifest_text: str) -> int:
    """How many tasks a manifest lists (a line cut short by a crash is not one)."""
    return sum(1 for line in manifest_text.splitlines()
               if line.strip().startswith("{") and line.strip().endswith("}"))


def local_committed(run_dir: Path) -> int:
    """Committed tasks of a run folder on this host (0: nothing to resume from)."""
    try:
        return count_committed((run_dir / FOLDER / MANIFEST).read_text(encoding="utf-8",
                                                                      errors="replace"))
    except OSError:
        return 0


__all__ = ["FOLDER", "MANIFEST", "checkpointed", "count_committed", "local_committed",
           "runner_options"]
