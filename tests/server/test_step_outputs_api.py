"""Declared outputs over REST: a wrong one is a 400 naming its field, the served schema
says the same, and a run's steps list where each declared output is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.server.test_api import wait_finished


def spec(first: Path, second: Path, declared: str = "made/out.txt") -> dict[str, Any]:
    return {"name": "hand-over", "steps": [
        {"name": "first", "application": str(first), "outputs": {"made": declared}},
        {"name": "second", "application": str(second), "depends_on": ["first"],
         "arguments": ["${steps.first.outputs.made}"]}]}


async def test_declared_outputs_over_rest(api: Any, tmp_path: Path) -> None:
    first = tmp_path / "first.py"
    first.write_text("import os\nos.makedirs('made')\nopen('made/out.txt', 'w').write('x')\n")
    second = tmp_path / "second.py"
    second.write_text("import sys\nprint('second read', open(sys.argv[1]).read())\n")
    code, _, body = await api("POST", "eflows/api/workflows",
                              spec(first, second, "/etc/passwd"))
    assert code == 400 and "steps.first.outputs.made: '/etc/passwd' is absolute" in \
        body["message"], body
    code, _, schema = await api("GET", "eflows/api/schemas/workflow-spec")
    assert code == 200
    outputs = schema["$defs"]["Step"]["properties"]["outputs"]
    assert outputs["propertyNames"]["pattern"] and outputs["additionalProperties"]["pattern"]

    code, _, wf = await api("POST", "eflows/api/workflows", spec(first, second))
    assert code == 201, wf
    code, _, body = await api("POST", f"eflows/api/workflows/{wf['id']}/executions",
                              {"site": "local"})
    assert code == 201, body
    final = await wait_finished(api, body["id"])
    assert final["state"] == "done", final
    code, _, steps = await api("GET", f"eflows/api/executions/{body['id']}/steps")
    made = steps["items"][0]
    assert made["name"] == "first" and made["outputs"]["made"].endswith(
        f"/{made['execution_id']}/made/out.txt")
    assert steps["items"][1]["outputs"] == {}
    code, _, logs = await api("GET", f"eflows/api/executions/{body['id']}/logs",
                              params={"step": "second"})
    assert "second read x" in logs["text"]
