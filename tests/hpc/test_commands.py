"""The command lines HPC tasks run, built as they would run on a site (no cluster here).

Container engines that are not installed on this machine (Docker, Singularity,
Apptainer, udocker) are checked on the exact argv, as COMPSs' container invoker
builds it; MPI launchers for Open MPI, MPICH/Hydra and srun likewise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.engine.launch import mpi
from eflows_kernel.engine.launch.arguments import named_parameters, program_arguments
from eflows_kernel.engine.launch.containers import container_command, engine_executable
from eflows_kernel.engine.launch.mpi import Node, Program, launch_command
from eflows_kernel.engine.launch.plan import plan_launch
from eflows_kernel.model import task
from eflows_kernel.model.exceptions import EngineError, TaskArgumentError, TaskDefinitionError
from eflows_kernel.model.hpc import binary, container, epilog, mpmd_mpi, multinode, prolog
from eflows_kernel.model.hpc import mpi as mpi_decorator
from eflows_kernel.model.hpc.shape import task_shape
from eflows_kernel.model.hpc.spec import ContainerSpec
from eflows_kernel.model.parameter import (
    COLLECTION_IN,
    FILE_IN,
    FILE_IN_STDIN,
    FILE_OUT_STDERR,
    Prefix,
    Type,
)

WD = "/scratch/run1"


def spec(engine: str, image: str = "app.sif", options: str | None = None) -> ContainerSpec:
    return ContainerSpec(engine, image, options)


# -- containers --------------------------------------------------------------------------


def test_docker_command_binds_the_working_dir_and_passes_the_environment() -> None:
    env = {"OMP_NUM_THREADS": "4", "COMPSS_NUM_NODES": "1", "SECRET": "x"}
    argv = container_command(spec("DOCKER", "compss/compss"), ["grep", "-c", "x", "/d/f"],
                             cwd=WD, binds=[], env=env,
                             passed=["OMP_NUM_THREADS", "COMPSS_NUM_NODES"],
                             options=["--gpus", "all"], executable="docker")
    assert argv == ["docker", "run", "-i", "--rm", "-v", f"{WD}:{WD}", "-w", WD,
                    "--env", "OMP_NUM_THREADS=4", "--env", "COMPSS_NUM_NODES=1",
                    "--gpus", "all", "compss/compss", "grep", "-c", "x", "/d/f"]
    podman = container_command(spec("PODMAN", "app"), ["run.sh"], cwd=WD, binds=[],
                               env=env, passed=["SECRET_NOT_PASSED"], options=[],
                               executable="podman")
    assert podman == ["podman", "run", "-i", "--rm", "-v", f"{WD}:{WD}", "-w", WD, "app",
                      "run.sh"]  # only the variables the program needs go in


def test_singularity_and_apptainer_commands() -> None:
    env = {"OMP_NUM_THREADS": "2"}
    argv = container_command(spec("SINGULARITY", "/images/app.sif"), ["app", "-i", "in"],
                             cwd=WD, binds=[], env=env, passed=["OMP_NUM_THREADS"],
                             options=["--nv"], executable="singularity")
    assert argv == ["singularity", "exec", "--bind", f"{WD}:{WD}", "--pwd", WD, "--nv",
                    "/images/app.sif", "app", "-i", "in"]
    assert env["SINGULARITYENV_OMP_NUM_THREADS"] == "2"  # set inside, whatever the image
    argv = container_command(spec("APPTAINER", "/images/app.sif"), ["app"], cwd=WD,
                             binds=[], env={}, passed=[], options=[],
                             executable="apptainer")
    assert argv[:2] == ["apptainer", "exec"]


def test_udocker_command() -> None:
    argv = container_command(spec("UDOCKER", "ubuntu"), ["echo", "hi"], cwd=WD, binds=[],
                             env={"OMP_NUM_THREADS": "1"}, passed=["OMP_NUM_THREADS"],
                             options=[], executable="udocker")
    assert argv == ["udocker", "run", "--rm", "-v", f"{WD}:{WD}", "-w", WD, "-e",
                    "OMP_NUM_THREADS=1", "ubuntu", "echo", "hi"]


def test_binds_are_each_directory_once(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c").mkdir()
    argv = container_command(spec("DOCKER"), ["x"], cwd=str(tmp_path / "a"),
                             binds=[str(tmp_path / "a" / "b"), str(tmp_path / "c"),
                                    str(tmp_path / "missing")],
                             env={}, passed=[], options=[], executable="docker")
    mounts = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-v"]
    assert mounts == [f"{tmp_path / 'a'}:{tmp_path / 'a'}", f"{tmp_path / 'c'}:{tmp_path / 'c'}",
                      f"{tmp_path / 'missing'}:{tmp_path / 'missing'}"]


def test_charliecloud_creates_mount_points_in_a_directory_image(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.mkdir()
    env: dict[str, str] = {}
    argv = container_command(spec("CHARLIECLOUD", str(image)), ["cat", "f"],
                             cwd=str(tmp_path), binds=["/opt/eflows-data"], env=env,
                             passed=[], options=[], executable="ch-run")
    # /tmp is the host's inside ch-run already: only the other directory is bound.
    assert argv == ["ch-run", "-b", "/opt/eflows-data:/opt/eflows-data", "-c",
                    str(tmp_path), str(image), "--", "cat", "f"]
    assert (image / "opt" / "eflows-data").is_dir()  # its mount point, in the image
    assert env["USER"]  # ch-run refuses to start without $USER


def test_missing_engine_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match="container engine DOCKER is not installed"):
        engine_executable("DOCKER", {"PATH": "/nonexistent"})
    assert engine_executable("SINGULARITY", {"EFLOWS_CONTAINER_SINGULARITY": "/opt/s"}) == \
        "/opt/s"


# -- MPI launchers ----------------------------------------------------------------------


NODES = [Node("n1", 2, 2), Node("n2", 2, 2)]


def test_open_mpi_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPSS_MPIRUN_TYPE", "ompi")
    env = {"PYTHONPATH": "/app", "OMP_NUM_THREADS": "1"}
    argv = launch_command("mpirun", ["--map-by", "core"], NODES,
                          [Program(("./sim", "-i", "x"), 4)], 1, tmp_path, env)
    assert argv[:6] == ["mpirun", "--host", "n1:2,n2:2", "--bind-to", "none", "-x"]
    assert argv[-7:] == ["-n", "4", "--map-by", "core", "./sim", "-i", "x"]
    assert "PYTHONPATH" in argv  # exported to ranks on the other host
    one_host = launch_command("mpirun", [], [Node("n1", 2, 2)], [Program(("a",), 2)], 1,
                              tmp_path, {"OMP_NUM_THREADS": "1"})
    assert one_host == ["mpirun", "--host", "n1:2", "--bind-to", "none", "-n", "2", "a"]


def test_mpich_hydra_command_and_mpmd(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPSS_MPIRUN_TYPE", "impi")
    argv = launch_command("mpirun", [], [Node("n1", 3, 3)],
                          [Program(("a",), 1), Program(("b", "x"), 2)], 1, tmp_path, {})
    assert argv == ["mpirun", "-hosts", "n1:3", "-n", "1", "a", ":", "-n", "2", "b", "x"]


def test_srun_places_each_rank_and_needs_an_allocation(tmp_path: Path) -> None:
    env = {"SLURM_JOB_ID": "42", "SLURM_STEP_ID": "0", "SLURM_NODELIST": "n[1-4]",
           "SLURMD_NODENAME": "n1"}
    argv = launch_command("srun", [], NODES, [Program(("./sim",), 4)], 2, tmp_path, env)
    assert argv == ["srun", "--overlap", "--distribution=arbitrary", "-n", "4",
                    "--nodes=2", "--cpus-per-task=2", "./sim"]
    assert (tmp_path / "slurm_hostfile").read_text() == "n1\nn1\nn2\nn2\n"
    # The allocation as seen by the launch: the task's nodes only, overlapping steps.
    assert env["SLURM_NODELIST"] == env["SLURM_JOB_NODELIST"] == "n1,n2"
    assert env["SLURM_NNODES"] == "2" and env["SLURM_NTASKS"] == "4"
    assert env["SLURM_OVERLAP"] == "1" and "SLURM_STEP_ID" not in env
    with pytest.raises(EngineError, match="inside a Slurm allocation"):
        launch_command("srun", [], NODES, [Program(("./sim",), 4)], 1, tmp_path, {})


def test_srun_mpmd_uses_a_multi_prog_file(tmp_path: Path) -> None:
    argv = launch_command("srun", [], [Node("n1", 3, 3)],
                          [Program(("a", "one two"), 1), Program(("b",), 2)], 1, tmp_path,
                          {"SLURM_JOB_ID": "7"})
    assert argv[-2:] == ["--multi-prog", str(tmp_path / "multi_prog.conf")]
    assert (tmp_path / "multi_prog.conf").read_text() == "0-0 a 'one two'\n1-2 b\n"


def test_flavour_is_detected_from_the_installed_mpirun() -> None:
    mpi._detected_flavour.cache_clear()
    assert mpi.flavour("mpirun") == "ompi"  # Debian's Open MPI in this test machine
    assert mpi.flavour("/usr/bin/srun") == "slurm"


# -- shapes and plans --------------------------------------------------------------------


def _definition(*decorators: Any, **task_kwargs: Any) -> Any:
    def body(a=None, b=None):
        pass

    target = task(**task_kwargs)(body)
    for decorate in decorators:
        target = decorate(target)
    return target


def test_shapes_follow_pycompss_rules() -> None:
    shape = task_shape(_definition(mpi_decorator(runner="mpirun", processes=4)).hpc, 1, "t")
    assert (shape.processes, shape.threads, shape.slots, shape.slot_cores) == (4, 1, 4, 1)
    # computing_units are threads per process...
    shape = task_shape(_definition(mpi_decorator(runner="mpirun", processes=2,
                                                 processes_per_node=2)).hpc, 2, "t")
    assert (shape.processes, shape.threads, shape.slots, shape.slot_cores) == (2, 2, 1, 4)
    # ... or, with scale_by_cu, processes (PyCOMPSs: -n = processes * computing_units).
    shape = task_shape(_definition(mpi_decorator(runner="mpirun", processes=1,
                                                 scale_by_cu=True)).hpc, 4, "t")
    assert (shape.processes, shape.threads, shape.slots, shape.slot_cores) == (4, 1, 1, 4)
    shape = task_shape(_definition(multinode(computing_nodes=3)).hpc, 2, "t")
    assert (shape.slots, shape.slot_cores, shape.distinct_nodes) == (3, 2, True)
    with pytest.raises(TaskArgumentError, match="multiple of processes_per_node"):
        task_shape(_definition(mpi_decorator(runner="mpirun", processes=3,
                                             processes_per_node=2)).hpc, 1, "t")


def test_processes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    definition = _definition(mpi_decorator(runner="mpirun", processes="$NP", binary="x"))
    monkeypatch.setenv("NP", "6")
    assert task_shape(definition.hpc, 1, "t").processes == 6
    monkeypatch.delenv("NP")
    with pytest.raises(TaskArgumentError, match="NP, which is not set"):
        task_shape(definition.hpc, 1, "t")


def test_plans_hold_slots_on_as_few_workers_as_fit() -> None:
    shape = task_shape(_definition(mpi_decorator(runner="mpirun", processes=4)).hpc, 1, "t")
    plan = plan_launch("t", shape, {"CPU": 1}, [{"CPU": 2}, {"CPU": 2}])
    assert (plan.leader_slots, plan.remaining_slots) == (2, 2)
    assert plan.leader_resources() == {"CPU": 2}
    with pytest.raises(EngineError, match="can hold only 4 at once"):
        plan_launch("t", task_shape(_definition(mpi_decorator(
            runner="mpirun", processes=5)).hpc, 1, "t"), {"CPU": 1}, [{"CPU": 2}] * 2)
    nodes = task_shape(_definition(multinode(computing_nodes=3)).hpc, 1, "t")
    with pytest.raises(EngineError, match="needs 3 nodes"):
        plan_launch("t", nodes, {"CPU": 1}, [{"CPU": 4}, {"CPU": 4}])


# -- arguments ---------------------------------------------------------------------------


def test_arguments_in_pycompss_order_with_prefixes_and_streams() -> None:
    @task(a={Type: FILE_IN, Prefix: "--in="}, c=COLLECTION_IN, d=FILE_IN_STDIN,
          e=FILE_OUT_STDERR, f={Prefix: "#"}, g={Prefix: "-k"})
    def body(flag, a, c, d, e, f, g, *rest, last=""):
        pass

    params = named_parameters(body, ["-v", "/x/in", [1, [2, 3]], "/x/stdin", "/x/err",
                                     "skip", [4, 5], "r1", 2.5], {"last": ""})
    built = program_arguments(params)
    assert built.positional == ["-v", "--in=/x/in", "1", "2", "3", "-k", "4", "5", "r1",
                                "2.5", ""]
    assert (built.redirects.stdin, built.redirects.stdout, built.redirects.stderr) == (
        "/x/stdin", None, "/x/err")
    assert built.expand("-d {{a}} --all {{c}} x{{g}}y '{{flag}} z'") == [
        "-d", "--in=/x/in", "--all", "1", "2", "3", "x-k 4 5y", "-v z"]
    assert built.substitute("/work/{{flag}}/") == "/work/-v/"


# -- decorators --------------------------------------------------------------------------


def test_decorators_refuse_what_pycompss_refuses() -> None:
    with pytest.raises(TaskDefinitionError, match="unknown parameter 'binaryy'"):
        binary(binaryy="x")
    with pytest.raises(TaskDefinitionError, match="missing mandatory parameter"):
        binary(working_dir=".")
    with pytest.raises(TaskDefinitionError, match="engine='LXC' is not supported"):
        _definition(container(engine="LXC", image="x"))
    with pytest.raises(TaskDefinitionError, match="cannot be combined"):
        _definition(binary(binary="a"), mpi_decorator(runner="mpirun", binary="b"))
    with pytest.raises(TaskDefinitionError, match="names no parameter"):
        _definition(mpi_decorator(runner="mpirun", nope_layout={"block_count": 2}))
    with pytest.raises(TaskDefinitionError, match="needs programs"):
        _definition(mpmd_mpi(runner="mpirun", programs=[]))


def test_decorators_stack_in_any_order() -> None:
    one = _definition(container(engine="docker", image="i"), prolog(binary="p"),
                      epilog(binary="e"), binary(binary="b"))
    two = _definition(binary(binary="b"), epilog(binary="e"), prolog(binary="p"),
                      container(engine="DOCKER", image="i"))
    for definition in (one, two):
        assert definition.hpc.binary == "b" and definition.hpc.container.engine == "DOCKER"
        assert definition.hpc.prolog.fail_by_exit_value is True  # PyCOMPSs' defaults
        assert definition.hpc.epilog.fail_by_exit_value is False
