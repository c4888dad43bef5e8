"""The run files of each step of a graph on two sites, on the real sshd and Slurm.

The two sites are two logins of the test sshd (``eflows`` and ``eflows-ui``: two home
directories, nothing shared), each step a Slurm job in its own run folder on its own
site. Listing the execution's site files names every step with its site and its files
(job script, output log, what the step wrote), each read with that step's credential,
and a file of each step downloads from its own site; once the second site is gone, the
first step is still listed and the second says its site is gone.
"""

from __future__ import annotations

import pwd
import shutil
from pathlib import Path

import pytest

from eflows_kernel.services.deploy.site_run_files import LISTED, SITE_GONE, SiteRunFiles
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.executions.run_files import RunFiles
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack

pytestmark = pytest.mark.timeout(900)

APP = str(APPS / "graph_step.py")
UI_LOGIN = "eflows-ui"
UI_WORKDIR = "eflows-stepfiles"


def spec() -> dict:
    return {"name": "step-files", "steps": [
        {"name": "make", "application": APP, "environment": "Front",
         "arguments": ["--write", "made.txt", "made by eflows"], "options": {"workers": 1}},
        {"name": "keep", "application": APP, "environment": "Back", "depends_on": ["make"],
         "arguments": ["--write", "kept.txt", "kept by eflows-ui"],
         "options": {"workers": 1}}]}


def test_each_steps_files_are_listed_and_downloaded_from_its_own_login(
        stack: Stack) -> None:
    ui_home = Path(pwd.getpwnam(UI_LOGIN).pw_dir)
    shutil.rmtree(ui_home / UI_WORKDIR, ignore_errors=True)
    ui = stack.add_login_site("ui", UI_LOGIN, f"~/{UI_WORKDIR}")
    try:
        workflow = stack.registry.register(workflow_from_spec(spec()))
        execution = stack.executor.submit(workflow.id, {}, {"Front": "cluster", "Back": "ui"},
                                          stack.credential)
        final = stack.wait(execution.id, 600)
        steps = {s.name: s for s in stack.executor.steps(execution.id)}
        assert final.state == ExecutionState.DONE, (final.error, steps)
        assert {n: (s.state, s.site) for n, s in steps.items()} == {
            "make": ("done", "cluster"), "keep": ("done", "ui")}

        files = SiteRunFiles(stack.executions, stack.sites,
                             RunFiles(stack.executions, stack.runs_dir))
        listed = {f.step: f for f in files.steps(execution.id)}
        assert list(listed) == ["make", "keep"]
        for name, site, wrote in (("make", "cluster", "made.txt"), ("keep", "ui", "kept.txt")):
            folder = listed[name]
            assert (folder.site, folder.status, folder.where, folder.execution_id) == (
                site, LISTED, "site", steps[name].execution_id), folder
            paths = {f.path for f in folder.files}
            assert {"job.sh", "output.log", "events.jsonl", wrote} <= paths, (name, paths)
        made_on = stack.sshd.home / "eflows" / "runs" / steps["make"].execution_id
        assert (made_on / "made.txt").is_file()  # each folder on its own login
        kept_on = ui_home / UI_WORKDIR / "runs" / steps["keep"].execution_id
        assert (kept_on / "kept.txt").owner() == UI_LOGIN
        assert "kept.txt" not in {f.path for f in listed["make"].files}

        with files.open(execution.id, "made.txt", step="make") as remote:
            assert b"".join(remote.chunks) == b"made by eflows"
        with files.open(execution.id, "kept.txt", step="keep") as remote:
            assert b"".join(remote.chunks) == b"kept by eflows-ui"
        with files.open(execution.id, "job.sh", step="keep") as remote:
            assert b"kept.txt" in b"".join(remote.chunks)  # keep's own job script
        with pytest.raises(ValidationError), files.open(execution.id, "../../.ssh/id",
                                                        step="keep"):
            pass
        # the old single-run calls on a step's own record still work
        assert "kept.txt" in {f.path for f in files.list(steps["keep"].execution_id)}

        stack.sites.delete(ui.id)  # the second site is gone: the first step still lists
        after = {f.step: f for f in files.steps(execution.id)}
        assert after["make"].status == LISTED and after["make"].files == listed["make"].files
        assert after["keep"].status == SITE_GONE and "'ui'" in after["keep"].message
    finally:
        shutil.rmtree(ui_home / UI_WORKDIR, ignore_errors=True)
