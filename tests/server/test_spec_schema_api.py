"""The API serves the workflow spec's JSON Schema, and it is the one the editor checks with."""

from __future__ import annotations

from typing import Any

from eflows_kernel.services.workflows.spec_schema import spec_problems, workflow_spec_schema


async def test_schema_is_served_and_agrees_with_registration(api: Any) -> None:
    code, _, schema = await api("GET", "eflows/api/schemas/workflow-spec")
    assert code == 200 and schema == workflow_spec_schema()
    bad = {"name": "x", "steps": [{"name": "s"}]}
    assert spec_problems(bad, schema) == ["steps.0: 'application' is a required property"]
    code, _, body = await api("POST", "eflows/api/workflows", bad)
    assert code == 400 and "application" in body["message"]
