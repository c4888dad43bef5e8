"""A step's container_image: where the image is on the site, which engine and options,
and the job script's command entering it (the real run: test_container_step.py)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from eflows_kernel.engine.launch.container_run import container_argv, guess_engine
from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.services.deploy.containers import (
    ContainerStepError,
    StepContainer,
    step_container,
)
from eflows_kernel.services.deploy.jobs import JobRequest, job_script
from eflows_kernel.services.workflows import import_topology, workflow_from_spec

REGISTRY = Path(__file__).resolve().parents[1] / "fixtures" / "workflow-registry"
RUN_DIR = "/home/u/eflows/runs/abc"


def _step(**fields: object):
    workflow = workflow_from_spec({"name": "w", "steps": [
        {"name": "s", "application": "/app/main.py", **fields}]})
    return workflow, workflow.steps[0]


def test_a_path_on_the_site_engine_from_the_site_and_options_as_written() -> None:
    workflow, step = _step(container_image="/images/py",
                           container_opts={"container_opts": "-w --set-env=A=1"})
    found = step_container(step, workflow, "charliecloud", RUN_DIR, "/home/u/eflows", {})
    assert found == StepContainer("/images/py", "charliecloud", ("-w", "--set-env=A=1"),
                                  ("~", "/home/u/eflows"), None)
    workflow, step = _step(container_image="inputs/image/py",
                           container_opts={"engine": "Singularity", "binds": "/scratch"})
    found = step_container(step, workflow, "charliecloud", RUN_DIR, "/w", {})
    assert found is not None
    assert (found.image, found.engine) == (f"{RUN_DIR}/inputs/image/py", "singularity")
    assert found.binds == ("~", "/w", "/scratch")
    assert step_container(_step()[1], workflow, None, RUN_DIR, "/w", {}) is None


def test_a_registry_image_is_the_one_its_transfer_brings_and_its_options_fit_its_engine(
        ) -> None:
    workflow = import_topology(REGISTRY / "minimal_workflow" / "tosca" / "classic" / "types.yaml")
    step = next(s for s in workflow.steps if s.container_image)
    assert step.container_image == "minimal_workflow/wordcount"
    inputs = {i.name: f"/data/{i.name}" for i in workflow.inputs}
    found = step_container(step, workflow, None, RUN_DIR, "/w", inputs)
    assert found is not None
    assert found.image == "/data/container_image_transfer_directory/wordcount.sif"
    # '-e' is Singularity's --cleanenv, written for the engine the image was built for
    assert (found.engine, found.options, found.options_for) == ("auto", ("-e",),
                                                               "singularity")
    parallel = import_topology(REGISTRY / "minimal_workflow" / "tosca" / "parallel" /
                               "types.yaml")  # one build, a transfer to each cluster
    second = parallel.step("PyCOMPSJobCluster2")
    found = step_container(second, parallel, None, RUN_DIR, "/w",
                           {i.name: f"/{i.name}" for i in parallel.inputs})
    assert found is not None
    assert found.image == "/container_image_transfer_directory_cluster2/wordcount.sif"
    alone = workflow.model_copy(update={"data_movements": [
        m for m in workflow.data_movements if m.kind != "image"]})
    with pytest.raises(ContainerStepError, match="no image transfer brings it"):
        step_container(step, alone, None, RUN_DIR, "/w", inputs)


def test_the_job_enters_the_container_then_runs_the_runner_inside() -> None:
    request = JobRequest(run_dir=RUN_DIR, python="/env/bin/python",
                         application="/app/main.py", arguments=["a b"], run_id="abc",
                         first_seq=3, env={"GREETING": "hi"},
                         container=StepContainer("/images/py", "auto", ("-w",), ("~", "/w"),
                                                 "charliecloud"))
    script = job_script(request)
    words = shlex.split(script[script.index("\nexec ") + 1:])[1:]
    split = words.index("--")
    assert words[:split] == [
        "/env/bin/python", "-m", "eflows_kernel.engine.launch.container_run", "--engine",
        "auto", "--image", "/images/py", "--bind", "~", "--bind", "/w", "--pass",
        "PYTHONUNBUFFERED", "--pass", "PYTHONPATH", "--pass", "GREETING", "--option=-w",
        "--options-for", "charliecloud"]
    # inside, the image's Python, with our environment's packages first on its path
    assert words[split + 1:split + 4] == ["python3", "-m", "eflows_kernel.engine.runner"]
    assert words[-2:] == ["/app/main.py", "a b"]
    assert "eflows_packages=$(/env/bin/python -c " in script
    assert 'export PYTHONPATH="$eflows_packages' in script


def test_the_launcher_picks_the_engine_from_the_image_and_builds_its_command(
        tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.mkdir()
    env = {"PATH": "/nowhere", "EFLOWS_CONTAINER_CHARLIECLOUD": "/opt/ch-run",
           "EFLOWS_CONTAINER_APPTAINER": "/opt/apptainer", "USER": "u"}
    assert guess_engine(str(image), env) == "CHARLIECLOUD"
    assert guess_engine("/x/y.sif", env) == "APPTAINER"  # no singularity: apptainer
    argv = container_argv("auto", str(image), ["python", "-V"], cwd="/work/run",
                          binds=["/work"], passed=[], options=["-w"], env=env)
    assert argv == ["/opt/ch-run", "-b", "/work:/work", "-c", "/work/run", "-w", str(image),
                    "--", "python", "-V"]
    argv = container_argv("singularity", "/x/y.sif", ["python"], cwd="/work/run",
                          binds=[], passed=["A"], options=[],
                          env={**env, "A": "1", "EFLOWS_CONTAINER_SINGULARITY": "/s"})
    assert argv == ["/s", "exec", "--bind", "/work/run:/work/run", "--pwd", "/work/run",
                    "/x/y.sif", "python"]
    # options written for Singularity: Apptainer takes them, Charliecloud would not parse
    argv = container_argv("apptainer", "/x/y.sif", ["python"], cwd="/r", binds=[],
                          passed=[], options=["-e"], env=env, options_for="singularity")
    assert argv == ["/opt/apptainer", "exec", "--bind", "/r:/r", "--pwd", "/r", "-e",
                    "/x/y.sif", "python"]
    argv = container_argv("auto", str(image), ["python"], cwd="/r", binds=[], passed=[],
                          options=["-e"], env=env, options_for="singularity")
    assert "-e" not in argv and argv[0] == "/opt/ch-run"
    with pytest.raises(EngineError, match="unknown container engine"):
        container_argv("lxc", "/x", ["true"], cwd="/", binds=[], passed=[], options=[],
                       env=env)


def test_a_job_of_two_nodes_starts_a_worker_in_the_image_on_each_then_the_runner() -> None:
    container = StepContainer("/images/py", "singularity", ("-e",), ("~", "/w"), None)
    request = JobRequest(run_dir=RUN_DIR, python="/env/bin/python",
                         application="/app/main.py", arguments=[], run_id="abc",
                         first_seq=3, nodes=2, cores_per_node=2, env={"GREETING": "hi"},
                         python_interpreter="python3.11", container=container,
                         runner_options=("--slurm-allocation", "--worker-resources",
                                         "GPU=1"))
    lines = job_script(request).splitlines()
    (start,) = [n for n, line in enumerate(lines) if " --start-workers " in line]
    (runner,) = [n for n, line in enumerate(lines) if line.startswith("exec ")]
    assert lines[start - 1] == f"rm -rf {RUN_DIR}/allocation && mkdir {RUN_DIR}/allocation " \
                               "|| exit 1"  # a requeued job's old address is gone first
    assert start < runner and lines[start].endswith(" < /dev/null &")  # in the background
    workers = shlex.split(lines[start].removesuffix(" < /dev/null &"))
    split = workers.index("--")
    # outside the image (Slurm's srun is the host's), with the site environment's Python
    assert workers[:split] == ["/env/bin/python", "-m", "eflows_kernel.engine.allocation",
                               "--start-workers", f"{RUN_DIR}/allocation",
                               "--resources", "GPU=1"]
    entry = workers[split + 1:]
    inside = shlex.split(lines[runner])[1:]
    # each worker enters the image as the runner does, and runs the image's Python
    assert entry[-1] == "python3.11"
    assert inside[:len(entry)] == entry
    assert entry[:6] == ["/env/bin/python", "-m", "eflows_kernel.engine.launch.container_run",
                         "--engine", "singularity", "--image"]
    # Singularity's -e (a clean environment): what the allocation says is passed by name
    passed = {entry[i + 1] for i, word in enumerate(entry) if word == "--pass"}
    assert {"PYTHONPATH", "GREETING", "SLURM_JOB_ID", "SLURM_JOB_NUM_NODES",
            "SLURM_CPUS_ON_NODE", "SLURMD_NODENAME"} <= passed
    runner_words = inside[len(entry):]
    assert runner_words[:3] == ["-m", "eflows_kernel.engine.runner", "--event-log"]
    assert runner_words[runner_words.index("--allocation-dir") + 1] == f"{RUN_DIR}/allocation"
    assert "--slurm-allocation" in runner_words and "--workers" not in runner_words


def test_a_job_of_one_node_in_the_image_starts_no_worker_step() -> None:
    request = JobRequest(run_dir=RUN_DIR, python="/env/bin/python",
                         application="/app/main.py", arguments=[], run_id="abc",
                         first_seq=3, workers=2,
                         container=StepContainer("/images/py", "charliecloud"))
    script = job_script(request)
    assert "--start-workers" not in script and "--allocation-dir" not in script
    assert "SLURM_JOB_ID" not in script
