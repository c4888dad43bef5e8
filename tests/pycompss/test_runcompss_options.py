"""The runcompss options PyCOMPSs users pass: honoured, accepted with a note, or refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.engine.runcompss_options import is_java_scheduler, normalise_argv
from tests.pycompss.conftest import app_path, assert_exit, read_events, result_of

APP = app_path("runcompss_options_app", "runcompss_options_app.py")
LIB = app_path("runcompss_options_app", "lib")


@pytest.mark.slow
def test_honoured_and_no_effect_options(
        run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path) -> None:
    script = tmp_path / "env.sh"
    script.write_text("export EFLOWS_TEST_ENV_SCRIPT=\"set by the script\"\n")
    proc = run_app(APP, extra=(
        f"--pythonpath={LIB}", f"--env_script={script}", "--uuid=myrun",
        "--event-log", "run.jsonl", "-g", "--tracing=true", "-m", "--summary", "-d",
        "--lang=python", "--project=project.xml", "--log_level=debug",
        "--scheduler=es.bsc.compss.scheduler.lookahead.locality.LocalityTS",
        "--streaming=ALL", "--python_interpreter=python3"))
    assert_exit(proc)
    assert result_of(proc) == {"env": "set by the script", "name": "from lib"}
    assert {e["run"] for e in read_events(tmp_path / "run.jsonl")} == {"myrun"}
    for option in ("--graph", "--tracing", "--monitoring", "--summary", "--debug",
                   "--project", "--log_level", "--scheduler", "--streaming",
                   "--python_interpreter"):
        assert f"eflows-run: {option}" in proc.stderr, option


@pytest.mark.parametrize(("option", "message"), [
    ("--num_nodes=2", "--slurm-workers"),
    ("--exec_time=30", "enqueue_compss option"),
    ("--storage_conf=storage.cfg", "no persistent storage"),
    ("--lang=java", "runs Python applications"),
    ("--task_execution=storage", "only|no persistent storage"),
    ("--python_mpi_worker=true", "not MPI processes"),
    ("--checkpoint=FT", "--checkpoint_folder"),
    ("--wall_clock_limit=-1", ">= 0"),
])
def test_refused_options_say_why(option: str, message: str,
                                 run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = run_app(APP, extra=(option,), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert any(part in proc.stderr for part in message.split("|")), proc.stderr
    assert "Traceback" not in proc.stderr


def test_flags_before_the_application_only() -> None:
    assert normalise_argv(["-g", "--graph", "-t", "app.py", "-g", "x"]) == \
        ["--graph=true", "--graph=true", "--tracing=true", "app.py", "-g", "x"]
    assert normalise_argv(["--workers", "2", "-m", "a.py"]) == \
        ["--workers", "2", "--monitoring=true", "a.py"]


def test_compss_scheduler_class_or_dask_address() -> None:
    assert is_java_scheduler("es.bsc.compss.scheduler.lookahead.fifo.FifoTS")
    for address in ("tcp://10.0.0.5:8786", "10.0.0.5:8786", "scheduler.json", None, "",
                    "localhost"):
        assert not is_java_scheduler(address), address


def test_in_a_submitted_job_the_options_that_size_a_job_are_noted(
        run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    """A deployed step's extra_compss_opts (the registry's: --exec_time, --queue,
    --reservation...) reach the runner of the step's job, which the deployer sized."""
    proc = run_app(APP, extra=("--submitted-job", "--exec_time=30", "--queue=debug",
                               "--reservation=r1", f"--pythonpath={LIB}"), timeout=120)
    assert_exit(proc)
    assert result_of(proc)["name"] == "from lib"  # --pythonpath honoured beside them
    for option in ("--exec_time", "--queue", "--reservation"):
        assert f"eflows-run: {option} has no effect here" in proc.stderr, option


def test_the_application_runs_in_its_job_execution_dir(
        run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path) -> None:
    """enqueue_compss runs the job in --job_execution_dir: a registry application
    (Pillar_I_non_intrusive's ezyrb_test.py) reads ``./data_2d/`` of it and writes there;
    our own event log stays where it was asked for."""
    run = tmp_path / "run"
    (run / "data_2d").mkdir(parents=True)
    (run / "data_2d" / "time.npy").write_text("t\n")
    app = tmp_path / "reads_cwd.py"
    app.write_text("import json, os\n"
                   "open('out.txt', 'w').write(open('data_2d/time.npy').read())\n"
                   "print('RESULT ' + json.dumps({'cwd': os.getcwd()}))\n")
    proc = run_app(str(app), extra=(f"--job_execution_dir={run}", "--event-log", "ev.jsonl"),
                   workers=1, timeout=120)
    assert_exit(proc)
    assert result_of(proc) == {"cwd": str(run)}
    assert (run / "out.txt").read_text() == "t\n"
    assert (tmp_path / "ev.jsonl").is_file() and not (run / "ev.jsonl").exists()
    assert "--job_execution_dir has no effect" not in proc.stderr
    made = tmp_path / "new" / "dir"  # made when missing, as the job's outputs go there
    proc = run_app(str(app), extra=(f"--job_execution_dir={made}",), workers=1, timeout=120)
    assert proc.returncode == 1 and "data_2d/time.npy" in proc.stderr and made.is_dir()


def test_the_env_script_is_sourced_before_the_application_starts(
        run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path) -> None:
    """runcompss sources --env_script in the shell that then starts the application, so
    a PYTHONPATH the script extends (a site's env.sh putting its libraries there:
    Caelestis_DT's ``--env_script=$application_path/src/env.sh``) is on the path of the
    main program's first imports, and of the tasks'. Sourced once."""
    lib = tmp_path / "site-lib"
    lib.mkdir()
    (lib / "site_case.py").write_text("CASE = 'from the site library'\n")
    script = tmp_path / "env.sh"
    script.write_text(f"echo sourced >> {tmp_path / 'sourced.txt'}\n"
                      f'export PYTHONPATH="{lib}${{PYTHONPATH:+:$PYTHONPATH}}"\n'
                      "export CASE_NAME=coupon\n")
    app = tmp_path / "imports_at_start.py"
    app.write_text(
        "import json, os\n"
        "from pycompss.api.api import compss_wait_on\n"
        "from pycompss.api.task import task\n"
        "from site_case import CASE\n"
        "@task(returns=1)\n"
        "def in_task():\n"
        "    import site_case\n"
        "    return [site_case.CASE, os.environ.get('CASE_NAME')]\n"
        "print('RESULT ' + json.dumps({'main': [CASE, os.environ.get('CASE_NAME')],\n"
        "                              'task': compss_wait_on(in_task())}))\n")
    proc = run_app(str(app), extra=(f"--env_script={script}", "--graph=true"), workers=1,
                   timeout=120)
    assert_exit(proc)
    expected = ["from the site library", "coupon"]
    assert result_of(proc) == {"main": expected, "task": expected}
    assert (tmp_path / "sourced.txt").read_text() == "sourced\n"
    assert proc.stderr.count("eflows-run: --graph has no effect here") == 1  # noted once
