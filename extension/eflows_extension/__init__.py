"""Jupyter server extension of eFlows4HPC for Jupyter (REST and live-event API)."""

from __future__ import annotations

from typing import Any

from eflows_extension.app import EflowsExtensionApp

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "eflows_extension", "app": EflowsExtensionApp}]


__all__ = ["EflowsExtensionApp", "__version__"]
