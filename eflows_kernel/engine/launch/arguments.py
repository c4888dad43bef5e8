"""A task's parameters as a program's command line, as COMPSs' binary runner builds it.

Parameters become arguments in the order of the function's signature: a ``Prefix``
is glued to the value (``--sort=`` + ``time``), except before a list, whose elements
follow it one per argument; ``FILE_*`` / ``DIRECTORY_*`` values are their paths; a
parameter with ``StdIOStream`` STDIN/STDOUT/STDERR is not an argument but the file
the program's stream is redirected to; ``Prefix: "#"`` leaves it out. With an
``args`` template (``"-d {{day}} {{f}}"``) only the template is used, each
``{{name}}`` replaced by that parameter's argument(s), and working directories may
name parameters the same way.
"""

from __future__ import annotations

import inspect
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.engine.launch.process import Redirects
from eflows_kernel.model.parameter import IN, Direction, ParamSpec

PREFIX_SKIP = "#"  # COMPSs' Constants.PREFIX_SKIP
_NO_PREFIX = ("", "null")  # COMPSs' Constants.PREFIX_EMPTY
_REFERENCE = re.compile(r"\{\{(\w+)\}\}")


@dataclass
class ProgramArguments:
    """The parameters' part of a command line, and the stream redirections."""

    positional: list[str] = field(default_factory=list)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    redirects: Redirects = field(default_factory=Redirects)

    def expand(self, template: str | None) -> list[str]:
        """The arguments: the parameters in order, or the ``args`` template filled."""
        if template is None:
            return list(self.positional)
        out: list[str] = []
        for token in _split(template):
            whole = _REFERENCE.fullmatch(token)
            if whole and whole.group(1) in self.by_name:
                out.extend(self.by_name[whole.group(1)])
            else:
                out.append(self.substitute(token))
        return out

    def substitute(self, text: str) -> str:
        """``{{name}}`` references in a string (working_dir, a flag) replaced."""
        return _REFERENCE.sub(
            lambda m: " ".join(self.by_name[m.group(1)]) if m.group(1) in self.by_name
            else m.group(0), text)


def _split(template: str) -> list[str]:
    """COMPSs splits the template at spaces; quotes group words here as in a shell
    (``-c "ls {{d}}"``), and a lone quote is just a character."""
    try:
        return shlex.split(template)
    except ValueError:
        return template.split()


def named_parameters(definition: Any, args: list[Any],
                     kwargs: dict[str, Any]) -> list[tuple[str, Any, ParamSpec]]:
    """(name, value, spec) of each parameter of one call, in the signature's order.

    ``args``/``kwargs`` are what the worker passes to the function: the positional
    parameters then ``*args`` in ``args``, the keyword-only ones and ``**kwargs`` in
    ``kwargs``.
    """
    specs: dict[str, ParamSpec] = getattr(definition, "param_specs", {})
    out: list[tuple[str, Any, ParamSpec]] = []
    position = 0
    target: tuple[str, Any, ParamSpec] | None = None
    rest = dict(kwargs)
    for name, param in definition.signature.parameters.items():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            spec = getattr(definition, "varargs_spec", None) or IN
            for index, value in enumerate(args[position:]):
                out.append((f"{name}[{index}]", value, spec))
            position = len(args)
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            for key in list(rest):
                out.append((key, rest.pop(key), specs.get(key, IN)))
        elif param.kind is inspect.Parameter.KEYWORD_ONLY:
            if name in rest:
                out.append((name, rest.pop(name), specs.get(name, IN)))
        elif position < len(args):
            item = (name, args[position], specs.get(name, IN))
            position += 1
            if name == "self":  # COMPSs passes the target object last
                target = item
            else:
                out.append(item)
    if target is not None:
        out.append(target)
    return out


def program_arguments(parameters: list[tuple[str, Any, ParamSpec]]) -> ProgramArguments:
    result = ProgramArguments()
    for name, value, spec in parameters:
        stream = getattr(getattr(spec, "stream", None), "value", None)
        if stream in ("STDIN", "STDOUT", "STDERR"):
            path = str(value)
            setattr(result.redirects, stream.lower(), path)
            if stream != "STDIN" and getattr(spec, "direction", None) is Direction.OUT:
                # An OUT file is a new version (COMPSs appends to a fresh file): what
                # the path held before is not kept; INOUT ones are appended to.
                result.redirects.fresh = (*result.redirects.fresh, path)
            result.by_name[name] = [path]
            continue
        prefix = getattr(spec, "prefix", None)
        if prefix == PREFIX_SKIP:
            result.by_name[name] = []
            continue
        prefix = None if prefix in _NO_PREFIX else prefix
        tokens = _tokens(value, prefix)
        result.by_name[name] = tokens
        result.positional.extend(tokens)
    return result


def _tokens(value: Any, prefix: str | None) -> list[str]:
    if isinstance(value, list | tuple):  # a collection: one argument per element
        items = [_text(item) for item in _flatten(value)]
        return ([prefix] if prefix else []) + items
    text = _text(value)
    return [prefix + text if prefix else text]


def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in value:
        if isinstance(item, list | tuple):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
