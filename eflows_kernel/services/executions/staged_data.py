"""A local job's staged-in data, put in its run directory before the job starts.

Why: a job's data-service stage-ins are movement steps of their own that run before it
(``plan.py:movement_step_name``), each into its own run directory, since the job's does
not exist yet. The application reads its inputs relative to its run directory (its
cwd), as it does on a site, where the deployment links them in (``pipeline._link_moved``:
``cp -al``). This is that for the local site: each movement's tree hard-linked into the
job's run directory (no second copy of the bytes; a copy where a link cannot be made,
another filesystem say), merged, a name already there replaced.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import StepPlan
from eflows_kernel.services.workflows.step_fields import step_dir_key


def staged_dirs(step: StepPlan, values: Mapping[str, Any]) -> tuple[Path, ...]:
    """The run directories of the step's stage-in movement steps (the graph put them in
    the step's values as ``steps.<job>:in:<movement>.dir``); one not known is refused."""
    missing = [n for n in step.links if not values.get(step_dir_key(n))]
    if missing:
        message = (f"step {step.name!r}: where the data of {', '.join(missing)} was "
                   "staged in is not known")
        raise ValidationError(message, fields={"steps": message})
    return tuple(Path(str(values[step_dir_key(n)])) for n in step.links)


def _link(source: Path, target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed here: a copy
        shutil.copy2(source, target)


def link_into(source: Path, run_dir: Path) -> int:
    """Everything below ``source`` linked into ``run_dir`` (folders made, with their
    modes); the number of files. A missing ``source`` (a stage-in to an absolute path
    brings nothing into its own run directory) links nothing."""
    if not source.is_dir():
        return 0
    count = 0
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        there = run_dir / here.relative_to(source)
        if here != source:
            there.mkdir(exist_ok=True)
            shutil.copymode(here, there)
        for name in files + [d for d in dirs if (here / d).is_symlink()]:
            _link(here / name, there / name)
            count += 1
    return count


__all__ = ["link_into", "staged_dirs"]
