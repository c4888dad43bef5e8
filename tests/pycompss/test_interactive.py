"""``import pycompss.interactive as ipycompss``: start/stop in a notebook kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kernel.conftest import kernel, run_cell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TASKS = """
from pycompss.api.task import task
from pycompss.api.api import compss_wait_on

@task(returns=1)
def inc(x):
    return x + 1

class Box:
    def __init__(self):
        self.items = []

    @task()
    def put(self, item):
        self.items.append(item)

one = inc(1)
several = [inc(i) for i in range(3)]
box = Box()
box.put("a")
box.put("b")
"""


def test_ipycompss_in_the_eflows_kernel(tmp_path: Path) -> None:
    with kernel("eflows", tmp_path, EFLOWS_WORKERS="2", EFLOWS_EVENT_LOG_DIR="none") \
            as (_km, client):
        out = run_cell(client, "import pycompss.interactive as ipycompss\n"
                               "ipycompss.start(graph=True, monitor=1000, debug=False)").stdout
        assert "The runtime is already running" in out  # the kernel's engine is used
        run_cell(client, TASKS)
        out = run_cell(client, "ipycompss.stop(sync=True)").stdout
        assert "Found an object to synchronize: one" in out
        out = run_cell(client, "print(one, several, box.items)").stdout
        assert out.strip() == "2 [1, 2, 3] ['a', 'b']"

        # Stopped: start() now starts an engine of its own, with PyCOMPSs' options.
        out = run_cell(client, "ipycompss.start(graph=False, wcl=600, "
                               f"checkpoint_folder={str(tmp_path / 'cp')!r}, trace=False, "
                               "project_xml='project.xml')").stdout
        assert "PyCOMPSs Runtime started" in out
        run_cell(client, TASKS)
        out = run_cell(client, "print(compss_wait_on(one)); ipycompss.stop()").stdout
        assert "2" in out.split() and "may" in out  # the warning when not syncing
        assert (tmp_path / "cp" / "tasks").is_dir()  # checkpointing was on
        assert run_cell(client, "ipycompss.stop()").stdout.strip() == \
            "The runtime is not running."


def test_options_that_need_compss_are_refused(pycompss_shim: None) -> None:
    import pycompss.interactive as ipycompss

    with pytest.raises(ValueError, match="persistent storage"):
        ipycompss.start(storage_conf="storage.cfg")
    with pytest.raises(TypeError, match="unexpected keyword"):
        ipycompss.start(graphs=True)
