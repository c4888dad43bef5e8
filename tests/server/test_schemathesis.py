"""Property-based run of the served OpenAPI document against the live test server: no 500s."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tests.server.specs import hello_spec

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

EXAMPLES_PER_OPERATION = int(os.environ.get("EFLOWS_SCHEMATHESIS_EXAMPLES", "4"))  # ~100 in all
# Would scan whatever folder hypothesis invents, e.g. "/": tested by hand in test_api.py.
SKIPPED = {("POST", "/eflows/api/workflows/import")}


async def test_no_server_errors_for_generated_requests(api: Any, jp_http_port: int,
                                                       jp_base_url: str,
                                                       jp_auth_header: dict[str, str],
                                                       tmp_path: Path) -> None:
    await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    await api("POST", "eflows/api/credentials", {"name": "seed"})
    code, _, document = await api("GET", "eflows/api/openapi.json")
    assert code == 200
    schema = schemathesis.openapi.from_dict(document)
    base_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url.rstrip('/')}"
    seen: list[tuple[str, str, int]] = []

    def run() -> None:
        from hypothesis import HealthCheck, Phase, given, settings

        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                response = case.call(base_url=base_url, headers=dict(jp_auth_header),
                                     timeout=60)
                seen.append((case.method, case.path, response.status_code))
                assert response.status_code < 500, (case.method, case.formatted_path,
                                                    case.query, case.body,
                                                    response.status_code,
                                                    response.text[:500])
                assert "PRIVATE KEY" not in response.text

            check()

    await asyncio.to_thread(run)
    print(f"schemathesis: {len(seen)} requests, statuses {sorted({s for *_, s in seen})}")
    assert len(seen) >= 50
    assert {path for _, path, _ in seen} >= {"/eflows/api/executions",
                                             "/eflows/hpcwaas/ssh_keys"}
