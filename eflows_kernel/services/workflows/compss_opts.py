"""A PyCOMPSs job whose topology names no application: it ends ``extra_compss_opts``.

The eFlows4HPC PyCOMPSs plugin builds one command line, ``pycompss job submit ...
--num_nodes=N --qos=Q <extra_compss_opts> <container options> <command> <arguments>``;
a job without ``application.command`` (Pillar_III/mlesmap's) is that line with nothing
after the options, so the application is whatever ``extra_compss_opts`` ends with: the
first word that is not an option, its arguments after it. The plugin takes
``extra_compss_opts`` from the execution input of that name (``<node>_extra_compss_opts``
for one job) over the property, so a user names the application at trigger. Here the
step keeps a marker, and :func:`split_application` takes the application out of the
options once they are filled; a line that names none is refused at trigger by field
(``enqueue_compss`` fails on it too).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Collection
from typing import Any

APPLICATION_FROM = "application_from"  # Step.options key; value: "extra_compss_opts"
PLACEHOLDER = "(the application ends extra_compss_opts)"


def no_application(node: str, field: str, options: dict[str, Any], extra_opts: str | None,
                   implied: dict[str, str], declared: Collection[str],
                   warn: Callable[[str, str], None]) -> str:
    """The step's application placeholder; ``options`` marked, the input the user gives
    the application in added to ``implied`` when nothing gives one yet."""
    options[APPLICATION_FROM] = "extra_compss_opts"
    warn(f"{node}.{field}", "missing: the eFlows4HPC PyCOMPSs plugin then ends the job's "
                            "command line with extra_compss_opts, whose first word that is "
                            "not an option is the application (give it in the "
                            "extra_compss_opts input)")
    given = extra_opts is not None and ("$" in extra_opts or split_application(extra_opts)[1])
    if not given and not {"extra_compss_opts", f"{node}_extra_compss_opts"} & set(declared):
        implied.setdefault("extra_compss_opts", f"node_templates.{node}.{field} (missing)")
    return PLACEHOLDER


def split_application(line: str) -> tuple[list[str], str | None, list[str]]:
    """(the options, the application, its arguments) of an ``enqueue_compss`` tail."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    for index, word in enumerate(words):
        if not word.startswith("-"):
            return words[:index], word, words[index + 1:]
    return words, None, []


def _literal(text: str) -> str:
    return text.replace("$", "$$")  # filled already: later rendering must keep it as is


def application_update(step_name: str, step_arguments: list[str], line: str | None
                       ) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of a marked step once its ``extra_compss_opts`` is filled (``line``),
    or the error naming the field."""
    options, application, arguments = split_application(line or "")
    if application is None:
        path = f"steps.{step_name}.application.command"
        return {}, {path: (f"{path}: the topology's job names no application and "
                           f"extra_compss_opts ({line or 'empty'!r}) ends with none: give the "
                           "input extra_compss_opts as the options, then the application "
                           "and its arguments (e.g. '--job_execution_dir=run /app/main.py "
                           "data'), or set application.command in the topology")}
    return {"application": _literal(application),
            "arguments": [_literal(a) for a in arguments] + list(step_arguments),
            "extra_compss_opts": " ".join(shlex.quote(o) for o in options) or None}, {}


__all__ = ["APPLICATION_FROM", "PLACEHOLDER", "application_update", "no_application",
           "split_application"]
