"""Checking execution inputs against a workflow, and filling ``${name}`` templates.

Inputs arrive as strings from forms, CLI flags and the HPCWaaS JSON API alike, so
they are coerced to the declared type here, once, and every problem is reported
together (one message per field) rather than failing on the first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

from eflows_kernel.services.bounds import TooStrange, check_value, parse_json, secret_in_url
from eflows_kernel.services.workflows.errors import ArgumentRenderError, InputValidationError
from eflows_kernel.services.workflows.model import Workflow, WorkflowInput

# ``$$`` is a literal dollar; ``${name}`` and ``$name`` are references (both appear
# in the eFlows4HPC registry: Pillar III uses ``${run_path}``, Pillar II ``$queue``).
_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")

_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


class _Invalid(ValueError):
    """Internal: one value does not fit its type (message without the input name)."""


def _coerce_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid("must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"must be an integer, got {value!r}")


def _coerce_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid("must be a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"must be a number, got {value!r}")


def _coerce_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Invalid(f"must be a boolean (true/false), got {value!r}")


def _coerce_string(value: Any, kind: str) -> str:
    if isinstance(value, str):
        if kind == "path" and not value.strip():
            raise _Invalid("must be a non-empty path")
        secret = secret_in_url(value) if kind == "path" else None
        if secret is not None:
            raise _Invalid(f"is a URL carrying {secret}; it would be stored with the "
                           "execution in clear: use a public link, or copy the data to the "
                           "site and give cluster:/path")
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise _Invalid(f"must be a {kind}, got {type(value).__name__} {value!r}")


def _coerce_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = parse_json(text, "list")
            except json.JSONDecodeError as exc:
                raise _Invalid(f"must be a list, got invalid JSON {value!r} ({exc.msg})") from None
            if isinstance(parsed, list):
                return parsed
        # A form field: "a, b, c".
        return [part.strip() for part in text.split(",")] if text else []
    raise _Invalid(f"must be a list, got {value!r}")


def _coerce_map(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = parse_json(value, "map")
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    raise _Invalid(f"must be a map (a JSON object), got {value!r}")


def coerce_value(declared: WorkflowInput, value: Any) -> Any:
    """``value`` converted to the input's declared type (ValueError naming the input).

    Before and after conversion (a string may hold JSON) it must be within the bounds of
    ``services/bounds.py``: no NaN, NUL byte, huge integer or deep nesting is stored.
    """
    what = f"input '{declared.name}'"
    try:
        return check_value(_coerce(declared.type, check_value(value, what)), what)
    except _Invalid as exc:
        raise ValueError(f"{what} {exc}") from None
    except TooStrange as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:  # json.loads of a string nested past the parser's limit
        raise ValueError(f"{what} is nested too deep") from None


def _coerce(kind: str, value: Any) -> Any:
    if kind == "integer":
        return _coerce_integer(value)
    if kind == "float":
        return _coerce_float(value)
    if kind == "boolean":
        return _coerce_boolean(value)
    if kind == "list":
        return _coerce_list(value)
    if kind == "map":
        return _coerce_map(value)
    return _coerce_string(value, kind)


def validate_inputs(workflow: Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
    """The complete, typed inputs for one execution of ``workflow``.

    Strings are coerced to the declared types, defaults fill what was not given,
    unknown names and missing required inputs are refused. Optional inputs with no
    default and no value are left out (a template referring to them then fails
    with a clear message at rendering). Raises ``InputValidationError`` with one
    message per faulty input.
    """
    declared = {item.name: item for item in workflow.inputs}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            errors[name] = f"input '{name}' is not declared by workflow '{workflow.name}' " \
                           f"(declared: {known})"
    for name, item in declared.items():
        value = given.get(name)
        if value is None:
            if item.default is not None:
                value = item.default
            elif item.required:
                errors[name] = f"input '{name}' is required ({item.type})"
                continue
            else:
                continue
        try:
            values[name] = coerce_value(item, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InputValidationError(errors)
    return values


def find_references(template: str) -> list[str]:
    """Names referenced as ``${name}`` or ``$name`` in ``template``, in order, once each."""
    names: list[str] = []
    for match in _REFERENCE.finditer(template):
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name is not None and name.strip() not in names:
            names.append(name.strip())
    return names


def references_in(templates: Iterable[Any]) -> list[str]:
    """All references in several templates (non-strings are ignored)."""
    names: list[str] = []
    for template in templates:
        if isinstance(template, str):
            names.extend(n for n in find_references(template) if n not in names)
    return names


def _as_text(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def reference_text(match: re.Match[str], template: str, values: Mapping[str, Any]) -> str:
    """What one ``_REFERENCE`` match in ``template`` stands for (``$$`` is a ``$``); the
    plugin's shell words (``shell_words.py``) read references the same way."""
    if match.group(0) == "$$":
        return "$"
    name = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
    if name not in values:
        raise ArgumentRenderError(name, template)
    return _as_text(values[name])


def _render_one(template: str, values: Mapping[str, Any]) -> str:
    return _REFERENCE.sub(lambda match: reference_text(match, template, values), template)


@overload
def render_arguments(template: str, values: Mapping[str, Any]) -> str: ...
@overload
def render_arguments(template: list[str], values: Mapping[str, Any]) -> list[str]: ...


def render_arguments(template: str | list[str], values: Mapping[str, Any]) -> str | list[str]:
    """``template`` with each ``${name}`` / ``$name`` replaced by ``values[name]``.

    Accepts one string or a list (a step's argument list). ``$$`` gives a literal
    ``$``. Lists and maps are written as JSON, other values with ``str()``. An
    unknown reference raises ``ArgumentRenderError`` naming it, rather than leaving
    a ``${...}`` for the application to trip on later.
    """
    if isinstance(template, str):
        return _render_one(template, values)
    return [_render_one(str(item), values) for item in template]
