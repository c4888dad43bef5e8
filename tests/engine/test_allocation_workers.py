"""Workers of a Slurm allocation started by the job itself (a step in a container image):
the runner's scheduler writes its address in the step's folder, the workers find it
there, and a step that ended before its workers connected fails the run at once with
its output (the real run, in an image on two nodes: tests/deploy/test_multinode_container.py).

``srun`` here is a stand-in on the PATH that starts its command once per "node" (each
with its own SLURMD_NODENAME), as Slurm's starts it once per node of the job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eflows_kernel.engine import allocation
from eflows_kernel.model.exceptions import EngineError

pytestmark = pytest.mark.timeout(120)

FAKE_SRUN = """#!/bin/bash
# stand-in of srun: its options dropped, the command run once per node
while [ "${1#--}" != "$1" ]; do shift; done
echo "srun: $*" >&2
for node in n1 n2; do SLURMD_NODENAME=$node "$@" & done
status=0
for job in $(jobs -p); do wait "$job" || status=$?; done
exit $status
"""


@pytest.fixture
def in_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-node job's environment, with the stand-in srun first on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "2")
    monkeypatch.setenv("SLURM_CPUS_ON_NODE", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    folder = tmp_path / "allocation"
    folder.mkdir()
    return folder


def _start_workers(folder: Path, entry: list[str]) -> subprocess.Popen[bytes]:
    """What the job script does, in the background: the host's launcher of the step."""
    return subprocess.Popen([sys.executable, "-m", allocation.MODULE, "--start-workers",
                             str(folder), "--resources", "SLOT=1", "--", *entry],
                            stdin=subprocess.DEVNULL)


def test_workers_the_job_started_find_the_scheduler_through_its_folder(in_a_job: Path) -> None:
    folder = in_a_job
    step = _start_workers(folder, [sys.executable])  # "entering the image": none here
    try:
        time.sleep(1.0)  # the workers wait for the scheduler's file
        assert not (folder / allocation.STEP_EXIT).exists()
        cluster = allocation.start_allocation_cluster({}, started_in=str(folder))
        try:
            assert cluster.step is None
            address = json.loads((folder / allocation.SCHEDULER_FILE).read_text())["address"]
            assert address == cluster.scheduler.scheduler_address
            from distributed import Client

            with Client(cluster.scheduler) as client:
                workers = client.scheduler_info(n_workers=-1)["workers"].values()
                assert sorted(w["name"] for w in workers) == ["n1", "n2"]
                assert all(w["resources"]["SLOT"] == 1 for w in workers)
        finally:
            cluster.close()
        # closing the scheduler closes the workers: the step ends, its status written
        assert step.wait(timeout=60) == 0
        assert (folder / allocation.STEP_EXIT).read_text().strip() == "0"
        log = (folder / allocation.STEP_LOG).read_text()
        assert "eflows: the nodes' workers: srun --overlap --nodes=2" in log
        assert f"--scheduler-file={folder / allocation.SCHEDULER_FILE}" in log
    finally:
        if step.poll() is None:
            step.kill()


def test_a_worker_step_that_ended_fails_the_start_with_its_output(in_a_job: Path) -> None:
    folder = in_a_job
    entry = ["/bin/sh", "-c", "echo 'no python in this image' >&2; exit 3", "sh"]
    assert _start_workers(folder, entry).wait(timeout=60) == 3
    started = time.monotonic()
    with pytest.raises(EngineError, match="ended with 3") as raised:
        allocation.start_allocation_cluster({}, started_in=str(folder))
    assert time.monotonic() - started < allocation.WORKER_WAIT / 4  # not the whole wait
    assert "no python in this image" in str(raised.value)
    assert str(folder / allocation.STEP_LOG) in str(raised.value)


def test_the_runner_is_told_where_the_workers_are(in_a_job: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from eflows_kernel.engine import cluster

    seen: dict[str, object] = {}

    def fake_start(extra: dict[str, float], started_in: str | None = None) -> object:
        seen.update(extra=extra, started_in=started_in)
        raise EngineError("stop here")

    monkeypatch.setattr(cluster, "start_allocation_cluster", fake_start)
    config = cluster.ClusterConfig(slurm_allocation=True, allocation_dir=str(in_a_job),
                                   worker_resources={"GPU": 1.0})
    with pytest.raises(EngineError, match="stop here"):
        cluster.start_cluster(config)
    assert seen == {"extra": {"GPU": 1.0}, "started_in": str(in_a_job)}
    from eflows_kernel.engine.runner import build_parser

    args = build_parser().parse_args(["--slurm-allocation", "--allocation-dir", "/r/a",
                                      "app.py"])
    assert (args.slurm_allocation, args.allocation_dir) == (True, "/r/a")


def test_a_step_without_srun_says_so(in_a_job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    code = allocation.start_workers(str(in_a_job), "", [sys.executable])
    assert code == 127
    assert (in_a_job / allocation.STEP_EXIT).read_text().strip() == "127"
    assert "cannot start the workers' step" in (in_a_job / allocation.STEP_LOG).read_text()
