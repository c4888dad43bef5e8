"""The JSON Schema of a workflow spec: what ``register_spec`` accepts, for editors.

Derived from the ``Workflow`` model (so it cannot drift from what registration
checks), with the one extra form a spec may use: ``inputs`` as a mapping of name to
input. The REST API serves it and the portal's spec editor validates against it as
the user types; registration still checks everything (names, ``${...}`` references).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from eflows_kernel.services.workflows.model import Workflow

DRAFT = "https://json-schema.org/draft/2020-12/schema"
FILLED_IN = ("source", "warnings")  # written by the registry, not by a spec's author


@functools.cache
def _schema() -> dict[str, Any]:
    schema = Workflow.model_json_schema(mode="validation")
    for name in FILLED_IN:
        schema["properties"].pop(name, None)
    item = schema["properties"]["inputs"]["items"]
    defs = schema.get("$defs", {})
    named = copy.deepcopy(defs[item["$ref"].rsplit("/", 1)[-1]])
    named["required"] = [r for r in named.get("required", []) if r != "name"]
    defs["NamedInput"] = named  # the value of one entry of the mapping form
    schema["properties"]["inputs"] = {
        "description": "a list of inputs, or a mapping of input name to input",
        "anyOf": [{"type": "array", "items": item},
                  {"type": "object", "additionalProperties": {"$ref": "#/$defs/NamedInput"}}],
        "default": []}
    return {"$schema": DRAFT, "title": "eFlows4HPC workflow spec", **schema}


def workflow_spec_schema() -> dict[str, Any]:
    """A copy of the schema (callers may change theirs)."""
    return copy.deepcopy(_schema())


def spec_problems(spec: Any, schema: dict[str, Any] | None = None) -> list[str]:
    """Each way ``spec`` breaks the schema, as ``where: what`` (empty when it fits)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(schema or _schema())
    problems = []
    for error in sorted(validator.iter_errors(spec), key=lambda e: list(map(str, e.path))):
        if error.context:  # "not valid under any of": say what is wrong in the form meant
            wrong_type = {e.relative_schema_path[0] for e in error.context
                          if list(e.relative_schema_path)[1:] == ["type"]}
            meant = [e for e in error.context if e.relative_schema_path[0] not in wrong_type]
            error = best_match(meant or error.context)
        where = ".".join(str(p) for p in error.absolute_path) or "spec"
        problems.append(f"{where}: {error.message}")
    return problems


__all__ = ["spec_problems", "workflow_spec_schema"]
