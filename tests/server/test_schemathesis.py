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


@pytest.mark.parametrize("mode", ["positive", "negative"])
async def test_no_server_errors_for_generated_requests(api: Any, jp_http_port: int,
                                                       jp_base_url: str,
                                                       jp_auth_header: dict[str, str],
                                                       tmp_path: Path, mode: str) -> None:
    """Positive cases follow the schema; negative ones break it on purpose (wrong types,
    missing fields, out-of-range values): either way a 4xx at worst, never a 500."""
    await api("POST", "eflows/api/workflows", hello_spec(tmp_path))
    await api("POST", "eflows/api/credentials", {"name": "seed"})
    code, _, document = await api("GET", "eflows/api/openapi.json")
    assert code == 200
    schema = schemathesis.openapi.from_dict(document)
    base_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url.rstrip('/')}"
    seen: list[tuple[str, str, int]] = []
    accepted: list[tuple[str, str]] = []  # negative bodies the server took (printed)

    def run() -> None:
        from hypothesis import HealthCheck, Phase, given, settings
        from schemathesis.generation import GenerationMode

        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
            def check(case: Any) -> None:
                response = case.call(base_url=base_url, headers=dict(jp_auth_header),
                                     timeout=60)
                seen.append((case.method, case.path, response.status_code))
                if mode == "negative" and response.status_code < 300 and case.method in (
                        "POST", "PUT") and isinstance(case.body, dict | list):
                    accepted.append((case.method, case.path))
                assert response.status_code < 500, (case.method, case.formatted_path,
                                                    case.query, case.body,
                                                    response.status_code,
                                                    response.text[:500])
                assert "PRIVATE KEY" not in response.text

            check()

    await asyncio.to_thread(run)
    print(f"schemathesis ({mode}): {len(seen)} requests, statuses "
          f"{sorted({s for *_, s in seen})}; negative bodies accepted: {sorted(set(accepted))}")
    assert len(seen) >= 50
    assert {path for _, path, _ in seen} >= {"/eflows/api/executions",
                                             "/eflows/hpcwaas/ssh_keys"}
