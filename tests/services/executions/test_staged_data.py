"""A local job's staged-in data: its stage-in steps' trees linked into its run directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.planning import plan_steps
from eflows_kernel.services.executions.staged_data import link_into, staged_dirs
from eflows_kernel.services.workflows import workflow_from_spec


def test_trees_are_hard_linked_and_merged_into_the_run_directory(tmp_path: Path) -> None:
    regions, templates, run_dir = (tmp_path / n for n in ("m1", "m2", "job"))
    (regions / "data" / "Regions" / "med").mkdir(parents=True)
    (regions / "data" / "Regions" / "med" / "a.txt").write_text("a")
    (regions / "data" / "link").symlink_to("Regions/med/a.txt")
    (templates / "data" / "Templates").mkdir(parents=True)
    (templates / "data" / "Templates" / "t.txt").write_text("t")
    (templates / "data" / "Templates").chmod(0o750)
    run_dir.mkdir()
    (run_dir / "data").mkdir()
    (run_dir / "data" / "link").write_text("an older file of that name")

    assert link_into(regions, run_dir) == 2
    assert link_into(templates, run_dir) == 1
    assert link_into(tmp_path / "absent", run_dir) == 0  # an absolute target: nothing here
    staged = run_dir / "data" / "Regions" / "med" / "a.txt"
    assert staged.read_text() == "a" and staged.stat().st_ino == \
        (regions / "data" / "Regions" / "med" / "a.txt").stat().st_ino  # no second copy
    assert os.readlink(run_dir / "data" / "link") == "Regions/med/a.txt"  # replaced
    assert (run_dir / "data" / "Templates" / "t.txt").read_text() == "t"
    assert (run_dir / "data" / "Templates").stat().st_mode & 0o777 == 0o750


def test_the_stage_in_directories_come_from_the_steps_values() -> None:
    spec = {"name": "w", "steps": [{"name": "count", "application": "/a/count.py"}],
            "data_movements": [{"name": "regions", "direction": "in", "kind": "webdav",
                                "source": "webdav://h/r", "target": "inputs/regions"}]}
    job = next(s for s in plan_steps("wf", workflow_from_spec(spec), "local")
               if s.name == "count")
    assert job.links == ("count:in:regions",)
    assert staged_dirs(job, {"steps.count:in:regions.dir": "/runs/m1/data"}) == \
        (Path("/runs/m1/data"),)
    with pytest.raises(ValidationError, match="count:in:regions"):
        staged_dirs(job, {})  # the job never starts without its data
