"""The pure parts of the deployer: the job script, the data plan, the wheel target."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from eflows_kernel.services.deploy.jobs import JobRequest, job_script
from eflows_kernel.services.deploy.staging import plan
from eflows_kernel.services.deploy.wheels import TargetPython, runtime_requirements
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.workflows import workflow_from_spec


def _request(*arguments: str) -> JobRequest:
    return JobRequest(run_dir="/home/u/eflows/runs/abc", python="/env/bin/python",
                      application="/home/u/eflows/runs/abc/app/x.py", arguments=arguments,
                      run_id="abc", first_seq=7, workers=2)


def test_job_script_quotes_every_argument(tmp_path: Path) -> None:
    hostile = ["; rm -rf ~", "$(id)", "`id`", "a'b\"c", "two\nlines", "--first-seq=1"]
    script = job_script(_request(*hostile))
    command = script[script.index("\nexec ") + 1:]  # an argument may span lines
    assert shlex.split(command)[1:] == [
        "/env/bin/python", "-m", "eflows_kernel.engine.runner", "--workers", "2",
        "--threads-per-worker", "1", "--event-log", "/home/u/eflows/runs/abc/events.jsonl",
        "--run-id", "abc", "--first-seq", "7", "/home/u/eflows/runs/abc/app/x.py", *hostile]
    # bash itself reads it back the same way (shlex is not the judge of bash)
    probe = script.replace("exec /env/bin/python", "printf '%s\\0' /env/bin/python").replace(
        "cd /home/u/eflows/runs/abc || exit 1", "")
    out = subprocess.run(["bash", "-c", probe], capture_output=True, check=True).stdout
    assert out.decode().split("\0")[-len(hostile) - 1:-1] == hostile


def test_direct_script_records_the_exit_code() -> None:
    script = job_script(_request(), direct=True)
    assert "exec " not in script and "exit_code" in script


def _workflow(**extra: object) -> object:
    return workflow_from_spec({"name": "w", "inputs": [{"name": "data", "type": "path"}],
                               "steps": [{"name": "s", "application": "/x.py",
                                          "arguments": ["${data}"]}], **extra})


def test_plan_uploads_local_paths_and_keeps_cluster_ones(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x")
    local = plan(_workflow(), {"data": str(tmp_path / "in.txt")})
    assert [(i.kind, i.target_dir) for i in local.stage_in] == [("local", "inputs/data")]
    assert local.values["data"] == "inputs/data/in.txt"
    on_site = plan(_workflow(), {"data": "cluster:/scratch/in.txt"})
    assert on_site.stage_in == [] and on_site.values["data"] == "/scratch/in.txt"
    assert on_site.cluster_paths == [("data", "/scratch/in.txt")]
    url = plan(_workflow(), {"data": "https://example.org/d/set.csv?x=1"})
    assert url.stage_in[0].kind == "http" and url.values["data"] == "inputs/data/set.csv"


def test_plan_refuses_what_it_cannot_move(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as missing:
        plan(_workflow(), {"data": str(tmp_path / "absent")})
    assert "does not exist on this machine" in missing.value.details["fields"]["data"]
    dls = _workflow(data_movements=[{"name": "m", "direction": "in", "kind": "dls",
                                     "source": "x"}])
    with pytest.raises(ValidationError) as unsupported:
        plan(dls, {"data": "cluster:/x"})  # a DLS movement, and no data logistics to do it
    assert "need the data logistics" in unsupported.value.details["fields"]["m"]


def test_target_python_selects_wheels_the_site_can_install() -> None:
    target = TargetPython.parse("3 11 x86_64 glibc 2.28")
    options = target.pip_options()
    assert options[options.index("--python-version") + 1] == "3.11"
    platforms = [options[i + 1] for i, o in enumerate(options) if o == "--platform"]
    assert "manylinux_2_28_x86_64" in platforms and "manylinux2014_x86_64" in platforms
    assert "manylinux_2_29_x86_64" not in platforms
    assert TargetPython.parse("3 12 aarch64 none 0").glibc is None


def test_runtime_requirements_pin_this_sides_versions() -> None:
    import dask

    pins = runtime_requirements(["numpy"])
    assert f"dask=={dask.__version__}" in pins and pins[-1] == "numpy"


def test_the_job_exports_the_steps_environment_and_loads_its_modules() -> None:
    request = JobRequest(**{**_request().__dict__, "env": {"GREETING": "hi $(id)"},
                            "modules": ["compss/3.0", "odd name"]})
    script = job_script(request)
    assert "export GREETING='hi $(id)'" in script
    assert "module load compss/3.0 ||" in script and "module load 'odd name' ||" in script
    assert script.index("module load") < script.index("\nexec ")


def test_a_steps_python_interpreter_is_noted_by_the_runner_not_dropped_unsaid() -> None:
    """Outside a container our runner and its workers run the environment's Python: the
    step's python_interpreter reaches the runner, which says it has no effect."""
    from eflows_kernel.engine.runcompss_options import normalise_argv, runcompss_settings
    from eflows_kernel.engine.runner import build_parser

    script = job_script(JobRequest(**{**_request("in.txt").__dict__,
                                      "python_interpreter": "python3.12"}))
    argv = shlex.split(script[script.index("\nexec ") + 1:])[4:]
    assert argv[-3:] == ["--python_interpreter=python3.12",
                         "/home/u/eflows/runs/abc/app/x.py", "in.txt"]
    notes = runcompss_settings(build_parser().parse_args(normalise_argv(argv))).notes
    assert any(n.startswith("--python_interpreter has no effect here") for n in notes), notes
    assert "--python_interpreter" not in job_script(_request("in.txt"))
