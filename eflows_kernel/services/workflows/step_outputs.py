"""A step's declared outputs: files or folders of its run directory that later steps read.

A step says ``outputs: {name: path}``, each path relative to its run directory (an
``${input}`` template allowed); a later step names one as
``${steps.<step>.outputs.<name>}``, which renders to the output's path on the later
step's site: below the earlier step's run directory, or below the copy the plan made of
it on another site (``executions/plan_copies.py`` copies only the outputs read, not the
whole directory). Declaring them is what lets the plan move only those, and lets a step
that did not write one fail naming it (``executions/step_outputs.py``), rather than
a later step, or a copy, finding nothing. Apart from ``step_fields.py`` because these
are paths with rules of their own (relative, never climbing out of the run directory),
checked at registration on the template and at trigger on what it filled to.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from eflows_kernel.services.workflows.errors import ArgumentRenderError, InputValidationError
from eflows_kernel.services.workflows.inputs import find_references, render_arguments
from eflows_kernel.services.workflows.model import (
    OUTPUT_NAME_REGEX,
    OUTPUT_PATH_REGEX,
    Step,
    Workflow,
)

OUTPUT_REFERENCE = re.compile(r"^steps\.([A-Za-z0-9_.-]+)\.outputs\.([^.]*)$")
_NAME = re.compile(OUTPUT_NAME_REGEX)


def output_key(step: str, name: str) -> str:
    """The name a later step's templates use for ``step``'s output ``name``."""
    return f"steps.{step}.outputs.{name}"


def output_reference(name: str) -> tuple[str, str] | None:
    """(step, output) that a reference's name (``steps.<s>.outputs.<o>``) names, or None."""
    match = OUTPUT_REFERENCE.match(name)
    return (match.group(1), match.group(2)) if match is not None else None


def path_problem(path: Any) -> str | None:
    """Why ``path`` cannot be a declared output's path, or None."""
    if not isinstance(path, str) or not path.strip():
        return "must be a path relative to the step's run directory, not empty"
    if path.startswith(("/", "~")):
        return (f"{path!r} is absolute: an output is a path relative to the step's run "
                "directory")
    if ".." in path.split("/"):
        return f"{path!r} climbs out of the step's run directory ('..')"
    if not path.strip("./"):
        return (f"{path!r} names no file below the step's run directory (the directory "
                "itself is ${steps.<step>.dir})")
    return None


def check_outputs(workflow: Workflow) -> dict[str, str]:
    """Each declared output whose name or path cannot be, by field path
    (``steps.<step>.outputs.<name>``); a path's references must be declared inputs."""
    declared = {i.name for i in workflow.inputs}
    problems: dict[str, str] = {}
    for step in workflow.steps:
        for name, path in step.outputs.items():
            where = f"steps.{step.name}.outputs.{name}"
            if not _NAME.match(name):
                problems[where] = (f"output name {name!r} may only contain letters, digits, "
                                   "'_' and '-', and starts with a letter or digit")
            elif (problem := path_problem(path)) is not None:
                problems[where] = problem
            else:
                unknown = [r for r in find_references(path) if r not in declared]
                if unknown:
                    problems[where] = (f"references '${{{unknown[0]}}}', which is not a "
                                       "declared input (an output's path may name inputs only)")
    return problems


def check_output_reference(workflow: Workflow, step: Step, name: str,
                           earlier: set[str]) -> str | None:
    """Why ``step`` cannot name the reference ``name`` (an output reference), or None."""
    found = output_reference(name)
    if found is None:
        return None
    source, output = found
    if source not in earlier:
        return (f"'${{{name}}}': step {step.name!r} does not wait for a step named "
                f"{source!r} (add it to depends_on)")
    declared = workflow.step(source).outputs
    if output not in declared:
        listed = ", ".join(sorted(declared)) or "none"
        return (f"'${{{name}}}': step {source!r} declares no output {output!r} (its "
                f"outputs: {listed})")
    return None


def render_outputs(step: Step, values: Mapping[str, Any]) -> dict[str, str]:
    """The step's outputs with their templates filled, each still relative and inside its
    run directory (``InputValidationError`` naming each faulty one by its path)."""
    filled: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, path in step.outputs.items():
        where = f"steps.{step.name}.outputs.{name}"
        try:
            text = render_arguments(path, values)
        except ArgumentRenderError as exc:
            errors[where] = f"{where}: {exc}"
            continue
        problem = path_problem(text)
        if problem is not None:
            errors[where] = f"{where}: {problem}"
            continue
        filled[name] = posixpath.normpath(text)
    if errors:
        raise InputValidationError(errors)
    return filled


def output_path(run_dir: str, relative: str) -> str:
    """Where an output is: its path below the (possibly copied) run directory."""
    return posixpath.join(run_dir, relative)


__all__ = ["OUTPUT_NAME_REGEX", "OUTPUT_PATH_REGEX", "check_output_reference",
           "check_outputs", "output_key", "output_path", "output_reference", "path_problem",
           "render_outputs"]
