"""The eFlows kernel and the IPython integration, through real kernels.

Kernels are started with jupyter_client exactly as Jupyter does (kernelspec "eflows",
installed by ``pip install``), so these tests also check the kernelspec.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.kernel.conftest import PROBE, SQUARES, kernel, run_cell, wait_gone

pytestmark = pytest.mark.timeout(120)


def test_kernelspec_is_installed() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("eflows")
    assert spec.display_name == "eFlows4HPC (Python 3)"
    assert spec.language == "python"
    assert spec.argv == ["python", "-m", "eflows_kernel.kernel", "-f", "{connection_file}"]
    assert spec.metadata == {"debugger": False}


def test_engine_options_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eflows_kernel.kernel.kernel import engine_options_from_env

    options = engine_options_from_env({
        "EFLOWS_WORKERS": "3", "EFLOWS_SCHEDULER": "tcp://10.0.0.5:8786",
        "EFLOWS_EVENT_LOG_DIR": str(tmp_path / "logs")})
    assert options["n_workers"] == 3
    assert options["scheduler_address"] == "tcp://10.0.0.5:8786"
    assert options["event_log"] == tmp_path / "logs" / f"{options['run_id']}.jsonl"
    assert (tmp_path / "logs").is_dir()
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    defaults = engine_options_from_env({})
    assert not {"n_workers", "scheduler_address"} & set(defaults)
    # Every run is recorded by default, for replay, in the Jupyter data dir.
    assert defaults["event_log"].parent == tmp_path / "data" / "eflows" / "runs"
    assert "event_log" not in engine_options_from_env({"EFLOWS_EVENT_LOG_DIR": "none"})
    with pytest.raises(ValueError, match="EFLOWS_WORKERS"):
        engine_options_from_env({"EFLOWS_WORKERS": "many"})


@pytest.fixture(scope="module")
def eflows_kernel_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One eFlows kernel (2 workers) shared by the tests that only run cells."""
    cwd = tmp_path_factory.mktemp("eflows-kernel")
    with kernel("eflows", cwd, EFLOWS_WORKERS="2") as (km, client):
        client.km = km  # for interrupts
        yield client


def test_kernel_info_names_eflows(eflows_kernel_client: Any) -> None:
    eflows_kernel_client.kernel_info()
    reply = eflows_kernel_client.get_shell_msg(timeout=30)
    while reply["msg_type"] != "kernel_info_reply":
        reply = eflows_kernel_client.get_shell_msg(timeout=30)
    assert reply["content"]["implementation"] == "eflows4hpc"
    assert "eFlows4HPC" in reply["content"]["banner"]
    assert reply["content"]["language_info"]["name"] == "python"


def test_pycompss_imports_and_tasks_work_in_cells(eflows_kernel_client: Any) -> None:
    cell = run_cell(eflows_kernel_client, SQUARES)
    assert cell.stdout.strip().splitlines()[-1] == "[0, 1, 4, 9, 16, 25]"
    probe = run_cell(eflows_kernel_client, PROBE).last_json()
    assert len(probe["workers"]) == 2  # EFLOWS_WORKERS
    assert set(probe["workers"]) <= set(probe["children"])  # a local cluster of the kernel


def test_cell_submitting_tasks_shows_one_live_graph(eflows_kernel_client: Any) -> None:
    run_cell(eflows_kernel_client, SQUARES)  # defines square (if run alone)
    cell = run_cell(eflows_kernel_client, "print(compss_wait_on([square(i) for i in range(20)]))")
    assert len(cell.widget_displays) == 1  # once per cell, however many tasks
    assert "model_id" in cell.widget_displays[0]["application/vnd.jupyter.widget-view+json"]
    quiet = run_cell(eflows_kernel_client, "x = sum(range(10))\nprint(x)")
    assert quiet.widget_displays == []  # no task, no graph
    # The graph starts at the cell's first task.
    cell = run_cell(eflows_kernel_client, """
from eflows_kernel.engine import current_engine
from eflows_kernel.kernel.integration import active
before = active().last_view
r = compss_wait_on([square(7), square(8)])
first = [e["task"] for e in current_engine().events.events() if "name" in e][-2]
print(active().last_view is not before, active().last_first_task == first, r)
""")
    assert cell.stdout.split() == ["True", "True", "[49,", "64]"]
    assert len(cell.widget_displays) == 1


def test_interrupt_stops_the_cell_not_the_workers(eflows_kernel_client: Any) -> None:
    """Jupyter interrupts the kernel's whole process group; the Dask workers survive."""
    client = eflows_kernel_client
    run_cell(client, SQUARES + "import time\n@task(returns=1)\ndef slow(x):\n"
             "    time.sleep(x)\n    return x\n")
    before = run_cell(client, PROBE).last_json()
    msg_id = client.execute("compss_wait_on(slow(5))")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # interrupt once the cell runs (idle kernels ignore it)
        msg = client.get_iopub_msg(timeout=30)
        if (msg["msg_type"] == "execute_input"
                and msg["parent_header"].get("msg_id") == msg_id):
            break
    time.sleep(0.5)
    client.km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    after = run_cell(client, PROBE).last_json()
    assert after["workers"] == before["workers"]
    cell = run_cell(client, "print(compss_wait_on(square(9)))")
    assert cell.stdout.strip() == "81"


def _final_run_event(log_dir: Path) -> dict[str, Any]:
    (log,) = log_dir.glob("*.jsonl")
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in events if e["type"] == "run"][-1]


def test_shutdown_leaves_no_dask_processes(kernel_dir: Path, tmp_path: Path) -> None:
    log_dir = tmp_path / "events"
    with kernel("eflows", kernel_dir, EFLOWS_WORKERS="2",
                EFLOWS_EVENT_LOG_DIR=str(log_dir)) as (km, client):
        run_cell(client, SQUARES)
        probe = run_cell(client, PROBE).last_json()
        assert len(probe["workers"]) == 2
        assert set(probe["workers"]) <= set(probe["children"])
        km.shutdown_kernel(now=False)
        assert wait_gone([probe["kernel"], *probe["children"]]) == []
    # The engine was stopped by the kernel (a clean end of run), not killed with it.
    final = _final_run_event(log_dir)
    assert final["state"] == "done"
    assert final["counts"]["done"] == 6


def test_restart_stops_old_engine_and_starts_a_new_one(kernel_dir: Path) -> None:
    with kernel("eflows", kernel_dir, EFLOWS_WORKERS="1") as (km, client):
        run_cell(client, SQUARES)
        old = run_cell(client, PROBE).last_json()
        assert len(old["workers"]) == 1
        km.restart_kernel(now=False)
        assert wait_gone([old["kernel"], *old["children"]]) == []
        client.wait_for_ready(timeout=60)
        cell = run_cell(client, SQUARES)
        assert cell.stdout.strip().splitlines()[-1] == "[0, 1, 4, 9, 16, 25]"
        assert len(cell.widget_displays) == 1
        new = run_cell(client, PROBE).last_json()
        assert new["kernel"] != old["kernel"]
        assert new["run"] != old["run"]
        assert len(new["workers"]) == 1 and not set(new["workers"]) & set(old["workers"])


def test_plain_python_kernel_start_and_stop(kernel_dir: Path) -> None:
    with kernel("python3", kernel_dir) as (_km, client):
        started = run_cell(client, "import eflows_kernel\nengine = eflows_kernel.start(n_workers=1)"
                           + PROBE)
        probe = started.last_json()
        assert len(probe["workers"]) == 1
        cell = run_cell(client, SQUARES)
        assert cell.stdout.strip().splitlines()[-1] == "[0, 1, 4, 9, 16, 25]"
        assert len(cell.widget_displays) == 1
        stopped = run_cell(client, """
import eflows_kernel
from eflows_kernel.kernel.integration import CellGraphs, active
eflows_kernel.stop()
callbacks = get_ipython().events.callbacks
hooked = [f for f in callbacks["pre_run_cell"] + callbacks["post_run_cell"]
          if isinstance(getattr(f, "__self__", None), CellGraphs)]
print(active() is None, len(hooked))
""" + PROBE)
        integration_off, _, probe_json = stopped.stdout.strip().partition("\n")
        assert integration_off.split() == ["True", "0"]
        after = json.loads(probe_json)
        assert after["run"] is None
        assert wait_gone(probe["workers"]) == []
        # What may remain is multiprocessing's resource tracker, not a Dask process.
        for pid in after["children"]:
            try:
                cmdline = " ".join(psutil.Process(pid).cmdline())
            except psutil.NoSuchProcess:
                continue
            assert "resource_tracker" in cmdline, cmdline
        # Without an engine, tasks are plain calls and no graph is shown.
        plain = run_cell(client, "print(square(5))")
        assert plain.stdout.strip() == "25"
        assert plain.widget_displays == []


def test_kernel_joins_an_existing_scheduler_and_leaves_it_running(kernel_dir: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        with kernel("eflows", kernel_dir,
                    EFLOWS_SCHEDULER=cluster.scheduler_address) as (km, client):
            cell = run_cell(client, SQUARES)
            assert cell.stdout.strip().splitlines()[-1] == "[0, 1, 4, 9, 16, 25]"
            assert len(cell.widget_displays) == 1
            probe = run_cell(client, PROBE).last_json()
            assert len(probe["workers"]) == 1
            assert not set(probe["workers"]) & set(probe["children"])  # not the kernel's
            km.shutdown_kernel(now=False)
            assert wait_gone([probe["kernel"]]) == []
        # Shutting the kernel down did not stop the cluster it joined.
        assert wait_gone(probe["workers"], timeout=1) == probe["workers"]
        assert len(cluster.scheduler_info["workers"]) == 1
