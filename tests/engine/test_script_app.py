"""A job whose application is a launcher script (the registry's esm
``launch_fesom2.sh``): the runner runs it as a program inside the run, and its own
``enqueue_compss`` call runs the ``.py`` on this run's Dask workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LAUNCHER = r"""#!/bin/bash
set -o errexit -o nounset
options=$(getopt --name launch --options c: --longoptions hpc:,cores: -- "$@")
eval set -- "$options"
while [ $# -gt 0 ]; do
  case "$1" in --hpc) HPC="$2"; shift ;; -c|--cores) CORES="$2"; shift ;; --) break ;; esac
  shift
done
[ "${EXIT:-0}" = 0 ] || exit "$EXIT"
DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
enqueue_compss --qos=debug --num_nodes=3 --exec_time=5 --pythonpath="$DIR" \
    "$DIR/simulate.py" --hpc "$HPC" --cores "$CORES"
"""

APP = """import json, sys
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def member(i, hpc):
    return f"{hpc}-{i}"


if __name__ == "__main__":
    found = compss_wait_on([member(i, sys.argv[2]) for i in range(int(sys.argv[4]))])
    json.dump({"members": found, "argv": sys.argv[1:]}, open("ensemble.json", "w"))
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "launch.sh").write_text(LAUNCHER)
    (src / "launch.sh").chmod(0o755)
    (src / "simulate.py").write_text(APP)
    return subprocess.run(
        [sys.executable, "-m", "eflows_kernel.engine.runner", "--workers", "1",
         "--event-log", str(tmp_path / "events.jsonl"), "--submitted-job",
         str(src / "launch.sh"), "--hpc", "mn4", "--cores", "3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={**os.environ, **env})


def test_a_launcher_script_runs_and_its_enqueue_compss_runs_the_py_here(
        tmp_path: Path) -> None:
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = json.loads((tmp_path / "ensemble.json").read_text())
    assert found == {"members": ["mn4-0", "mn4-1", "mn4-2"],
                     "argv": ["--hpc", "mn4", "--cores", "3"]}
    assert "--num_nodes has no effect here" in proc.stderr  # as for the step's own job
    states = [json.loads(line).get("state") for line in
              (tmp_path / "events.jsonl").read_text().splitlines()
              if json.loads(line).get("type") == "run"]
    assert states[-1] == "done"
    inner = [p for p in tmp_path.glob("events-*.jsonl")]
    assert len(inner) == 1 and "task" in inner[0].read_text()


def test_a_launcher_scripts_exit_status_is_the_runs(tmp_path: Path) -> None:
    proc = _run(tmp_path, EXIT="3")
    assert proc.returncode == 3
    last = (tmp_path / "events.jsonl").read_text().splitlines()[-1]
    assert json.loads(last)["state"] == "failed"
    assert "status 3" in json.loads(last).get("error", "")
