"""How the inputs of a TOSCA workflow reach an eFlows4HPC PyCOMPSs job.

The eFlows4HPC PyCOMPSs plugin (``org.eflows4hpc.pycompss.plugin``) does more with the
execution inputs than ``get_input``: an input named ``num_nodes``, ``qos`` or
``extra_compss_opts`` (or ``<node>_<that>``, for one node) replaces the job's
submission parameter of that name when it is given, and every input is an environment
variable of the shell that submits the job (``PyCOMPSs_<VAR>`` and
``<node>_PyCOMPSs_<VAR>`` name the variable ``<VAR>``, for all jobs or one). The
registry's topologies rely on it: most declare ``num_nodes`` beside a fixed
``submission_params.num_nodes``, and their ``$application_path`` arguments are shell
variables. Mapped here into the step's templates, so the trigger fills them typed.
"""

from __future__ import annotations

import re
from pathlib import Path

from eflows_kernel.services.workflows.inputs import references_in
from eflows_kernel.services.workflows.model import Step, WorkflowInput, WorkflowWarning
from eflows_kernel.services.workflows.step_fields import template_fields

OVERRIDDEN = ("num_nodes", "qos", "extra_compss_opts")
OLDER_JOB = "pycomps.ansible.nodes.PyCOMPSJob"
_PREFIX = "PyCOMPSs_"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _template(name: str) -> str:
    return "${" + name + "}"


def _has_value(item: WorkflowInput) -> bool:
    """Whether a run always has a value for it (else a template naming it cannot fill)."""
    return item.required or item.default is not None


def apply_workflow_inputs(steps: list[Step], inputs: list[WorkflowInput], file: Path,
                          warnings: list[WorkflowWarning]) -> list[WorkflowInput]:
    """``steps`` changed in place to take what the plugin takes from ``inputs``; the
    inputs returned (an optional input replacing a property defaults to that property,
    which is what runs when the input is not given)."""
    by_name = {i.name: i for i in inputs}
    for step in steps:
        for field in OVERRIDDEN:
            name = next((n for n in (f"{step.name}_{field}", field) if n in by_name), None)
            current = getattr(step, field)
            if name is None or current == _template(name):
                continue
            item = by_name[name]
            if not _has_value(item) and current is not None:
                by_name[name] = item = item.model_copy(update={"default": current})
            setattr(step, field, _template(name))
            warnings.append(WorkflowWarning(path=str(file), message=(
                f"node_templates.{step.name}.properties.submission_params.{field}: taken "
                f"from the input '{name}', as the PyCOMPSs plugin does"
                + (f" (the property's {current!r} is its default)"
                   if item.default == current else ""))))
        env: dict[str, str] = {}
        for prefix in ("", _PREFIX, f"{step.name}_{_PREFIX}"):  # later ones win
            for item in by_name.values():
                # without a prefix, a PyCOMPSs_ input is not ours: it names another variable
                ours = item.name.startswith(prefix) if prefix else _PREFIX not in item.name
                if not ours or not _has_value(item):
                    continue
                variable = item.name[len(prefix):]
                if _ENV_NAME.match(variable):
                    env[variable] = _template(item.name)
        step.env = {**env, **step.env}
    return [by_name[i.name] for i in inputs]


def older_plugin_inputs(steps: list[Step], inputs: list[WorkflowInput], file: Path,
                        warnings: list[WorkflowWarning]) -> list[WorkflowInput]:
    """``inputs`` with what the older plugin reads from the execution inputs whether a
    workflow declares it or not: its submit operation takes ``num_nodes`` and
    ``compss_module_version`` from ``get_input`` over the node's properties
    (pycomps-tosca's types.yml: ``num_nodes_input``, ``compss_module_version_input``).
    An undeclared one becomes an optional input defaulting to the property, so a run
    can size the job to its site (esm asks 3 nodes); a job's module becomes
    ``COMPSs/${compss_module_version}``."""
    jobs = [s for s in steps if s.options.get("tosca_type") == OLDER_JOB]
    declared = {i.name for i in inputs}
    added: list[WorkflowInput] = []
    sizes = {s.num_nodes for s in jobs if isinstance(s.num_nodes, int)}
    if "num_nodes" not in declared and len(sizes) == 1:
        (size,) = sizes
        added.append(WorkflowInput(name="num_nodes", type="integer", required=False,
                                   default=size, description="the job's nodes"))
    modules = {s.compss_modules[0] for s in jobs if len(s.compss_modules) == 1}
    if "compss_module_version" not in declared and len(modules) == 1:
        (module,) = modules
        version = module.split("/", 1)[1]
        added.append(WorkflowInput(name="compss_module_version", required=False,
                                   default=version, description="the COMPSs module loaded"))
        for step in jobs:
            step.compss_modules = [_template_module(module)]
    for item in added:
        warnings.append(WorkflowWarning(path=str(file), message=(
            f"'{item.name}': the older PyCOMPSs plugin (pycomps.ansible) reads it from the "
            f"execution inputs; declared as an optional input (default {item.default!r}, "
            "the job's property)")))
    return [*inputs, *added]


def _template_module(module: str) -> str:
    return module.split("/", 1)[0] + "/" + _template("compss_module_version")


# Fields of a job the plugin's submitting shell expands (one ``bash -c`` line):
# ``${VAR}`` there is the variable the plugin exported from the execution input VAR.
SHELL_FIELDS = re.compile(r"^steps\.[^.]+\.(application|arguments\[\d+\]|qos|"
                          r"python_interpreter|extra_compss_opts|container_opts\.[^.]+)$")


def shell_variables(steps: list[Step], declared: set[str]) -> list[tuple[str, str]]:
    """(name, field) of each ``${name}`` that a shell-expanded field of a job names and no
    input declares, once each: the plugin's shell fills it from an execution input of
    that name (any input is one, declared or not), else with nothing."""
    found: dict[str, str] = {}
    for step in steps:
        for path, value in template_fields(step):
            if isinstance(value, str) and SHELL_FIELDS.match(path):
                for name in references_in([value]):
                    if name not in declared and _ENV_NAME.match(name):
                        found.setdefault(name, f"node_templates.{step.name} ({path})")
    return list(found.items())


__all__ = ["OLDER_JOB", "OVERRIDDEN", "SHELL_FIELDS", "apply_workflow_inputs",
           "older_plugin_inputs", "shell_variables"]
