"""A task failure in a notebook: reported once, readably; the next cell just works."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernel.conftest import CellResult, kernel, run_cell

pytestmark = pytest.mark.timeout(180)

ANSI = re.compile(r"\x1b\[[0-9;]*m")

TASKS = """
import time
from pycompss.api.task import task
from pycompss.api.api import compss_wait_on

@task(returns=1)
def boom(x):
    raise ValueError(f"boom {x}")

@task(returns=1)
def tiny(x):
    return x

@task(returns=1)
def slow_boom(x):
    time.sleep(1)
    raise KeyError(x)
"""


def run_failing(client: Any, code: str) -> tuple[dict[str, Any], CellResult]:
    """Run a cell that must fail; its reply content and its messages."""
    result = CellResult()
    reply = client.execute_interactive(code, output_hook=result.messages.append, timeout=120)
    return reply["content"], result


def error_text(content: dict[str, Any]) -> str:
    return ANSI.sub("", "\n".join(content.get("traceback", [])))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    cwd = tmp_path_factory.mktemp("recovery")
    logs = tmp_path_factory.mktemp("recovery-runs")
    with kernel("eflows", cwd, EFLOWS_WORKERS="1", EFLOWS_EVENT_LOG_DIR=str(logs)) as (_km, c):
        c.logs = logs
        run_cell(c, TASKS)
        yield c


def test_a_failure_is_reported_once_and_the_next_cell_works(client: Any) -> None:
    before = run_cell(client, "import eflows_kernel\nprint(eflows_kernel.current_engine()"
                      ".run_id)").stdout.strip()
    content, _ = run_failing(client, "compss_wait_on(boom(1))")
    assert content["status"] == "error" and content["ename"] == "TaskFailedError"
    text = error_text(content)
    # The user's frame comes first; the library's frames are folded into one line.
    assert "compss_wait_on(boom(1))" in text
    assert "eflows_kernel frames hidden" in text
    assert "synchronisation.py" not in text and "engine.py" not in text
    assert "failed 3 times (on_failure=RETRY, the default); the workflow stopped" in text
    assert "ValueError: boom 1" in text  # the task's own traceback
    assert "The next cell starts a new run" in text and "eflows_kernel.reset()" in text
    # The next cell, unrelated, works: a new run on the same workers.
    cell = run_cell(client, "print(compss_wait_on(tiny(5)))\n"
                    "print(eflows_kernel.current_engine().run_id)")
    value, after = cell.stdout.split()
    assert value == "5" and after != before
    assert len(cell.widget_displays) == 1  # and its own graph
    # The old run's log is kept and says how it ended.
    old = [json.loads(line) for line in (client.logs / f"{before}.jsonl").read_text()
           .splitlines()]
    assert old[-1]["type"] == "run" and old[-1]["state"] == "failed"
    assert old[-1]["info"]["next_run"] == after


def test_a_failure_between_cells_is_told_before_the_next_one(client: Any) -> None:
    run_cell(client, "pending = slow_boom(1)")  # returns at once; fails a moment later
    time.sleep(6)  # three attempts of one second
    cell = run_cell(client, "print(compss_wait_on(tiny(7)))")
    assert cell.stdout.strip() == "7"
    stderr = "".join(m["content"]["text"] for m in cell.messages
                     if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert "task 'slow_boom'" in stderr and "KeyError: 1" in stderr
    assert "a new run" in stderr
    again = run_cell(client, "print(compss_wait_on(tiny(8)))")  # told once only
    assert "slow_boom" not in "".join(m["content"].get("text", "") for m in again.messages)


def test_reset_by_hand_and_outputs_of_a_stopped_run(client: Any) -> None:
    cell = run_cell(client, """
kept = tiny(1)
print(compss_wait_on(kept))
import eflows_kernel
old = eflows_kernel.current_engine().run_id
eflows_kernel.reset()
print(old != eflows_kernel.current_engine().run_id, compss_wait_on(tiny(kept)))
""")
    assert cell.stdout.split() == ["1", "True", "1"]
    content, _ = run_failing(client, "lost = tiny(boom(2))\ncompss_wait_on(lost)")
    assert content["ename"] == "TaskFailedError"
    content, _ = run_failing(client, "compss_wait_on(lost)")
    assert content["ename"] == "TaskCancelledError"  # it never ran, and says why
    text = error_text(content)
    assert "was cancelled" in text and "eflows_kernel frames hidden" in text
    assert "Run again the cells that compute its inputs" in text


def test_fold_library_frames_keeps_the_users() -> None:
    import eflows_kernel
    from eflows_kernel.kernel.recovery import fold_library_frames

    library = Path(eflows_kernel.__file__).parent / "engine" / "fake.py"
    namespace: dict[str, Any] = {}
    exec(compile("def inner():\n    raise ValueError('x')\n", str(library), "exec"), namespace)

    def user() -> None:
        namespace["inner"]()

    try:
        user()
    except ValueError as exc:
        tb = exc.__traceback__
    folded, hidden = fold_library_frames(tb)
    names = []
    while folded is not None:
        names.append(folded.tb_frame.f_code.co_name)
        folded = folded.tb_next
    assert names == ["test_fold_library_frames_keeps_the_users", "user"] and hidden == 1
