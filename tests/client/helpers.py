"""What the client tests share besides fixtures: where things are, the server's address, and
running a blocking client call off the test server's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MINIMAL = FIXTURES / "workflow-registry" / "minimal_workflow"
APPS = REPO / "tests" / "apps"
INCREMENT_CHAIN = APPS / "increment_chain.py"


@dataclass
class Server:
    url: str
    token: str


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking client call off the loop that serves the test server."""
    return await asyncio.to_thread(function, *args, **kwargs)


@dataclass
class Result:
    code: int
    out: str
    err: str
