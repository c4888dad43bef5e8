"""Templates in every field of a step: found at registration, filled and typed at trigger.

``${input}`` (and TOSCA ``get_input``, imported as ``${input}``) may stand in any string
or number field of a step: qos, num_nodes, time limit, arguments, paths, environment
variables, modules, container options, the step's ``options`` (those our deploy reads
as numbers, ``workers`` and ``slurm_workers``, are typed). ``${steps.<step>.dir}`` is
the run directory of an earlier step the step waits for, ``${steps.<step>.outputs.<name>}``
one of its declared outputs (``step_outputs.py``). Each field is named by its path
(``steps.<step>.num_nodes``), so a refused reference or value says where it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from eflows_kernel.services.workflows.compss_opts import APPLICATION_FROM, application_update
from eflows_kernel.services.workflows.errors import ArgumentRenderError, InputValidationError
from eflows_kernel.services.workflows.inputs import find_references, render_arguments
from eflows_kernel.services.workflows.model import Step, Workflow
from eflows_kernel.services.workflows.step_graph import ancestors
from eflows_kernel.services.workflows.step_outputs import (
    check_output_reference,
    check_outputs,
    output_reference,
    render_outputs,
)

STEP_REFERENCE = re.compile(r"^steps\.([A-Za-z0-9_.-]+?)\.dir$")
_TIME_LIMIT = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$|^\d+-\d+$|^(UNLIMITED|INFINITE)$")
_SCALARS = ("application", "qos", "num_nodes", "time_limit", "python_interpreter",
            "extra_compss_opts", "container_image")
_LISTS = ("arguments", "compss_modules")
_MAPS = ("container_opts", "env")
# Step options the deploy reads as whole numbers (deploy/allocation.py), by their least
# value: a template there must fill to one at trigger, not fail ``int()`` on the site.
_OPTION_COUNTS = {"workers": 1, "slurm_workers": 0}
# Option keys the importers own (markers, TOSCA properties kept as found, vault paths):
# not a user's templates, never filled.
_OPTION_INTERNAL = frozenset({APPLICATION_FROM, "tosca_type", "submission_params", "secrets"})


def scale_out_problem(step: Step, slurm_workers: Any, container_image: Any) -> str | None:
    """Why ``step`` cannot scale out with ``slurm_workers`` (filled or literal), or None.

    A scale-out run's workers are Slurm jobs the runner asks for (dask-jobqueue calls
    ``sbatch``), and a step with a ``container_image`` runs its runner inside the image,
    where Slurm's commands are not; a step of several nodes has its workers started in
    the image on each node instead (``deploy/containers.py``).
    """
    image = container_image.strip() if isinstance(container_image, str) else ""
    count = str(slurm_workers).strip() if slurm_workers is not None else ""
    if not image or isinstance(slurm_workers, bool) or not count.isdigit() or not int(count):
        return None
    return (f"step {step.name!r} runs in its container_image {image!r} and cannot scale out "
            "with slurm_workers: dask-jobqueue would call sbatch inside the image, where "
            "Slurm's commands are not. Drop slurm_workers and ask for the nodes with "
            "num_nodes (a Dask worker starts in the image on each node), or drop "
            "container_image to scale out")


def step_dir_key(step: str) -> str:
    """The name a later step's templates use for ``step``'s run directory."""
    return f"steps.{step}.dir"


def template_fields(step: Step) -> Iterator[tuple[str, Any]]:
    """(field path, value) of each field of ``step`` that may hold a template."""
    where = f"steps.{step.name}"
    for name in _SCALARS:
        value = getattr(step, name)
        if value is not None:
            yield f"{where}.{name}", value
    for name in _LISTS:
        for index, value in enumerate(getattr(step, name)):
            yield f"{where}.{name}[{index}]", value
    for name in _MAPS:
        for key, value in getattr(step, name).items():
            yield f"{where}.{name}.{key}", value
    for key, value in step.options.items():
        if key not in _OPTION_INTERNAL:
            yield f"{where}.options.{key}", value


def check_references(workflow: Workflow,
                     deps: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every reference to something unknown, by field path (empty: all is well).

    A step may name a declared input, ``steps.<s>.dir`` of a step ``s`` it waits for,
    or ``steps.<s>.outputs.<o>`` of such a step that declares the output ``o``; a data
    movement's ends, period and login and a site copy's paths and hosts, a declared
    input. A step's declared outputs are checked too (``step_outputs.check_outputs``).
    """
    declared = {i.name for i in workflow.inputs}
    problems: dict[str, str] = check_outputs(workflow)
    for step in workflow.steps:
        earlier = ancestors(dict(deps), step.name)
        for path, value in template_fields(step):
            if not isinstance(value, str):
                continue
            for name in find_references(value):
                if output_reference(name) is not None:
                    problem = check_output_reference(workflow, step, name, earlier)
                    if problem is not None:
                        problems[path] = problem
                    continue
                match = STEP_REFERENCE.match(name)
                if match is not None and match.group(1) in earlier:
                    continue
                if match is not None:
                    problems[path] = (f"'${{{name}}}': step {step.name!r} does not wait for "
                                      f"a step named {match.group(1)!r} (add it to depends_on)")
                elif name not in declared:
                    problems[path] = f"references '${{{name}}}', which is not a declared input"
        # Written out, the two are refused now; a template is filled (and checked) at trigger.
        literal = [v for v in (step.options.get("slurm_workers"), step.container_image)
                   if not (isinstance(v, str) and find_references(v))]
        if len(literal) == 2 and (problem := scale_out_problem(step, *literal)) is not None:
            problems[f"steps.{step.name}.options.slurm_workers"] = problem
    ends = [(f"data_movements.{move.name}.{field}", getattr(move, field))
            for move in workflow.data_movements for field in ("source", "target")]
    ends += [(f"site_copies.{copy.name}.{field}", getattr(copy, field))
             for copy in workflow.site_copies
             for field in ("source_path", "target_path", "source_host", "target_host")]
    ends += [(f"data_movements.{move.name}.{field}", getattr(move, field))
             for move in workflow.data_movements for field in ("every", "credential_id")]
    for path, value in ends:
        for name in find_references(value or ""):
            if name not in declared:
                problems[path] = f"references '${{{name}}}', which is not a declared input"
    return problems


def dirs_read(step: Step) -> list[str]:
    """The steps whose run directory ``step`` names (``${steps.<s>.dir}``), in order."""
    return [s for s, outputs in step_reads(step).items() if outputs is None]


def step_reads(step: Step) -> dict[str, tuple[str, ...] | None]:
    """Each earlier step ``step`` reads from, in order: the names of the outputs it reads
    (``${steps.<s>.outputs.<o>}``), or None when it names the whole run directory
    (``${steps.<s>.dir}``), which holds them all."""
    found: dict[str, tuple[str, ...] | None] = {}
    for _, value in template_fields(step):
        if not isinstance(value, str):
            continue
        for name in find_references(value):
            output = output_reference(name)
            match = None if output is not None else STEP_REFERENCE.match(name)
            if match is not None:
                found[match.group(1)] = None
            elif output is not None:
                source, read = output
                if source not in found:
                    found[source] = ()
                had = found[source]
                if had is not None and read not in had:
                    found[source] = (*had, read)
    return found


def _render(path: str, value: Any, values: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return render_arguments(value, values)
    except ArgumentRenderError as exc:
        raise InputValidationError({path: f"{path}: {exc}"}) from None


def _whole(path: str, value: Any, least: int = 1) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < least:
        raise InputValidationError({path: f"{path} must be a whole number of at least "
                                          f"{least}, got {value!r}"})
    return int(text)


def _render_options(where: str, options: Mapping[str, Any],
                    values: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with their templates filled and the numbers typed (unset: kept)."""
    filled: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in options.items():
        if key in _OPTION_INTERNAL:
            filled[key] = value
            continue
        path = f"{where}.options.{key}"
        try:
            value = _render(path, value, values)
            if key in _OPTION_COUNTS and value is not None and value != "":
                value = _whole(path, value, _OPTION_COUNTS[key])
        except InputValidationError as exc:
            errors.update(exc.errors)
        filled[key] = value
    if errors:
        raise InputValidationError(errors)
    return filled


def render_step_fields(step: Step, values: Mapping[str, Any]) -> Step:
    """``step`` with every template filled from ``values`` and checked against its type.

    Raises ``InputValidationError`` whose ``errors`` name each faulty field by its path.
    """
    where = f"steps.{step.name}"
    errors: dict[str, str] = {}
    update: dict[str, Any] = {}

    def attempt(name: str, make: Any) -> None:
        try:
            update[name] = make()
        except InputValidationError as exc:
            errors.update(exc.errors)

    # The application and its arguments are filled later (``render_step``): where the
    # step runs, with the paths its inputs were staged to.
    for name in _SCALARS[1:]:
        if getattr(step, name) is not None:
            attempt(name, lambda n=name: _render(f"{where}.{n}", getattr(step, n), values))
    if "num_nodes" in update:
        attempt("num_nodes", lambda: _whole(f"{where}.num_nodes", update["num_nodes"]))
    limit = update.get("time_limit")
    if isinstance(limit, str) and not _TIME_LIMIT.match(limit.strip()):
        errors[f"{where}.time_limit"] = (
            f"{where}.time_limit {limit!r} is not a Slurm time limit (minutes, MM:SS, "
            "HH:MM:SS, D-HH or D-HH:MM:SS)")
    for name in _LISTS[1:]:
        attempt(name, lambda n=name: [str(_render(f"{where}.{n}[{i}]", v, values))
                                      for i, v in enumerate(getattr(step, n))])
    for name in _MAPS:
        attempt(name, lambda n=name: {k: str(_render(f"{where}.{n}.{k}", v, values))
                                      for k, v in getattr(step, n).items()})
    attempt("options", lambda: _render_options(where, step.options, values))
    if "options" in update and (problem := scale_out_problem(
            step, update["options"].get("slurm_workers"),
            update.get("container_image"))) is not None:  # (unset, or refused above)
        errors[f"{where}.options.slurm_workers"] = f"{where}.options.slurm_workers: {problem}"
    if step.outputs:
        attempt("outputs", lambda: render_outputs(step, values))
    if step.options.get(APPLICATION_FROM) == "extra_compss_opts" and not errors:
        found, problem = application_update(step.name, list(step.arguments),
                                            update.get("extra_compss_opts"))
        update.update(found)
        errors.update(problem)
    if errors:
        raise InputValidationError(errors)
    return step.model_copy(update=update)


__all__ = ["STEP_REFERENCE", "check_references", "dirs_read", "render_step_fields",
           "scale_out_problem", "step_dir_key", "step_reads", "template_fields"]
