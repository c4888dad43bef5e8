"""TOSCA property values as our templates: ``{get_input: x}`` is ``${x}``, secrets by path.

Shared by the node mappings (``tosca_nodes.py``, ``tosca_older_job.py``).
"""

from __future__ import annotations

from typing import Any


def template_value(value: Any) -> Any:
    """A TOSCA property value with ``{get_input: x}`` written as the template ``${x}``."""
    if isinstance(value, dict) and len(value) == 1 and "get_input" in value:
        return "${" + str(value["get_input"]) + "}"
    return value


def secret_path(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1 and "get_secret" in value:
        parts = value["get_secret"]
        parts = parts if isinstance(parts, list) else [parts]
        return ":".join(str(p) for p in parts)
    return None


def as_str(value: Any) -> str | None:
    value = template_value(value)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def node_options(node_type: str, props: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """A DLS node's properties other than ``used``, kept in its options: secrets as
    vault paths (under ``secrets``), the rest as templates (user and vault ids: the
    site's login replaces them, as for jobs)."""
    options: dict[str, Any] = {"tosca_type": node_type}
    for key, value in props.items():
        if key in used:
            continue
        secret = secret_path(value)
        if secret is not None:
            options.setdefault("secrets", {})[key] = secret
        else:
            options[key] = template_value(value)
    return options


__all__ = ["as_str", "node_options", "secret_path", "template_value"]
