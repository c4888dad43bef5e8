"""A Python application's inputs read from its ``argparse`` definition, without running it.

Registering ``wordcount.py`` should offer its ``input_dir`` and ``output_file`` as
inputs, as its ``add_argument`` calls declare them. The file is parsed (``ast``), never
imported or executed: registering a file must not run code. Only what is written as
literals is understood (names, ``type=int/float/str/Path``, ``default=``, ``help=``,
``required=``, ``nargs='?'``); an argument built at run time is left out, and a file
with no ``add_argument`` call has no inputs read (its inputs are then declared by hand).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

TYPES = {"int": "integer", "float": "float", "str": "string", "Path": "path",
         "PurePath": "path", "FileType": "path", "bool": "boolean"}
_NAME = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class ParsedArguments:
    """The inputs declared (``WorkflowInput`` fields) and the command line that passes them."""

    inputs: list[dict[str, Any]]
    arguments: list[str]


def _literal(node: ast.AST | None) -> tuple[bool, Any]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _type_name(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _input_name(text: str) -> str:
    name = _NAME.sub("_", text.lstrip("-")).strip("_") or "arg"
    return f"arg_{name}" if name[0].isdigit() else name


def _one(call: ast.Call) -> tuple[dict[str, Any], list[str]] | None:
    """The input and its command-line part for one ``add_argument`` call (None: skipped)."""
    flags = [a.value for a in call.args if isinstance(a, ast.Constant)
             and isinstance(a.value, str)]
    if not flags or len(flags) != len(call.args):
        return None
    options = {k.arg: k.value for k in call.keywords if k.arg}
    action_known, action = _literal(options.get("action"))
    if action_known and action not in (None, "store"):
        return None  # flags (store_true, count, append...) have no one value to template
    positional = not flags[0].startswith("-")
    dest_known, dest = _literal(options.get("dest"))
    long_flags = [f for f in flags if f.startswith("--")]
    name = _input_name(dest if dest_known and isinstance(dest, str)
                       else flags[0] if positional else (long_flags or flags)[0])
    kind = TYPES.get(_type_name(options.get("type")) or "str", "string")
    has_default, default = _literal(options.get("default"))
    _, nargs = _literal(options.get("nargs"))
    if nargs in ("+", "*") or (isinstance(nargs, int) and nargs > 1):
        return None  # several values in one input: not templated as one argument
    _, help_text = _literal(options.get("help"))
    required_known, required = _literal(options.get("required"))
    if positional:
        is_required = nargs != "?"
        if not is_required and (not has_default or default is None):
            return None  # an empty value would still be passed, as ""
    else:
        is_required = bool(required) if required_known else False
        if not is_required and (not has_default or default is None):
            return None  # an optional flag without a default: leaving it out is the way
    item: dict[str, Any] = {"name": name, "type": kind, "required": is_required,
                            "description": help_text if isinstance(help_text, str) else ""}
    if has_default and default is not None and not is_required:
        item["default"] = default
    ref = "${" + name + "}"
    return item, [ref] if positional else [(long_flags or flags)[0], ref]


def parse_argparse_inputs(source: str) -> ParsedArguments | None:
    """The inputs ``source``'s ``add_argument`` calls declare, in order; None without any.

    ``SyntaxError`` for a file that is not Python (the caller says where).
    """
    tree = ast.parse(source)
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"),
                   key=lambda n: (n.lineno, n.col_offset))
    if not calls:
        return None
    inputs: list[dict[str, Any]] = []
    positional: list[str] = []
    optional: list[str] = []
    seen: set[str] = set()
    for call in calls:
        parsed = _one(call)
        if parsed is None or parsed[0]["name"] in seen:
            continue
        item, part = parsed
        seen.add(item["name"])
        inputs.append(item)
        (positional if len(part) == 1 else optional).extend(part)
    if not inputs:
        return None
    return ParsedArguments(inputs, optional + positional)


__all__ = ["ParsedArguments", "parse_argparse_inputs"]
