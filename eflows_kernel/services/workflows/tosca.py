"""Importing eFlows4HPC workflow-registry folders (TOSCA topologies) as ``Workflow``.

Registry layout: ``<workflow>/tosca/**/*.yml|yaml`` hold TOSCA topologies (Alien4Cloud
DSL), ``<workflow>/<step>/eflows4hpc.yaml`` the software of a step. One ``Workflow``
is made per topology (a registry workflow folder may hold several, e.g.
minimal_workflow's ``classic`` and ``parallel``, which run different jobs on
different clusters). Node templates are mapped by type; whatever cannot be mapped
becomes a ``WorkflowWarning`` naming the file and the node/field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eflows_kernel.services.paths import is_under, name_from
from eflows_kernel.services.workflows.errors import WorkflowImportError
from eflows_kernel.services.workflows.inputs import references_in
from eflows_kernel.services.workflows.model import (
    ContainerBuild,
    SoftwareNeeds,
    Workflow,
    WorkflowInput,
    WorkflowWarning,
)
from eflows_kernel.services.workflows.software import (
    SOFTWARE_FILE,
    load_yaml,
    parse_software_file,
)
from eflows_kernel.services.workflows.step_fields import template_fields
from eflows_kernel.services.workflows.tosca_graph import (
    chosen_workflow,
    node_order,
    unfollowed_steps,
)
from eflows_kernel.services.workflows.tosca_inputs import (
    apply_workflow_inputs,
    older_plugin_inputs,
    shell_variables,
)
from eflows_kernel.services.workflows.tosca_nodes import NodeMapper

_TOSCA_TYPES = {"string": "string", "integer": "integer", "float": "float",
                "boolean": "boolean", "list": "list", "map": "map"}
_INPUT_KEYS = frozenset({"type", "required", "default", "description", "entry_schema"})
_TOPOLOGY_KEYS = frozenset({"inputs", "node_templates", "workflows"})
_TYPE_SECTIONS = ("node_types", "data_types", "capability_types", "relationship_types",
                  "artifact_types", "policy_types", "interface_types", "group_types")


def _is_yaml(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in (".yml", ".yaml")


def _tosca_dir(file: Path) -> Path | None:
    for parent in file.parents:
        if parent.name == "tosca":
            return parent
    return None


def _derive_name(file: Path, data: dict[str, Any]) -> str:
    """``<workflow folder>[.<sub>...]`` for registry files, else the template name."""
    tosca = _tosca_dir(file)
    if tosca is not None:
        sub = file.parent.relative_to(tosca).parts
        return name_from(".".join([tosca.parent.name, *sub]))
    template = (data.get("metadata") or {}).get("template_name")
    return name_from(str(template) if template else file.stem)


def _parse_inputs(section: Any, where: str, file: Path,
                  warnings: list[WorkflowWarning]) -> list[WorkflowInput]:
    if section is None:
        return []
    if not isinstance(section, dict):
        raise WorkflowImportError(f"{where} must be a mapping of input definitions", file)
    result = []
    for name, spec in section.items():
        spec = spec if isinstance(spec, dict) else {}
        tosca_type = str(spec.get("type", "string"))
        kind = _TOSCA_TYPES.get(tosca_type)
        if kind is None:
            kind = "string"
            warnings.append(WorkflowWarning(path=str(file), message=(
                f"{where}.{name}.type: TOSCA type '{tosca_type}' has no equivalent; "
                "imported as 'string'")))
        for key in spec:
            if key not in _INPUT_KEYS:
                warnings.append(WorkflowWarning(path=str(file), message=(
                    f"{where}.{name}.{key}: not imported (only type, required, default, "
                    "description are)")))
        try:
            result.append(WorkflowInput(
                name=str(name), type=kind, required=bool(spec.get("required", True)),
                default=spec.get("default"), description=str(spec.get("description") or "")))
        except ValueError as exc:
            raise WorkflowImportError(f"{where}.{name}: {exc}", file) from None
    return result


def _merge_inputs(base: list[WorkflowInput], override: list[WorkflowInput]) -> list[WorkflowInput]:
    """Execution-time (TOSCA workflow) inputs win over topology inputs of the same name.

    A description only the topology gives is kept: it is what a form shows.
    """
    merged = {item.name: item for item in base}
    for item in override:
        previous = merged.get(item.name)
        if previous is not None and not item.description:
            item = item.model_copy(update={"description": previous.description})
        merged[item.name] = item
    return list(merged.values())


def _find_software(file: Path, builds: list[ContainerBuild],
                   warnings: list[WorkflowWarning]) -> list[Path]:
    """``eflows4hpc.yaml`` files of the steps: via ImageCreation, else beside ``tosca/``."""
    found: list[Path] = []
    for build in builds:
        for ancestor in file.parents:
            candidates = [ancestor / build.workflow / build.step_id / SOFTWARE_FILE]
            if ancestor.name == build.workflow:
                candidates.append(ancestor / build.step_id / SOFTWARE_FILE)
            hit = next((c for c in candidates if c.is_file()), None)
            if hit is not None:
                if hit not in found:
                    found.append(hit)
                break
        else:
            warnings.append(WorkflowWarning(path=str(file), message=(
                f"node_templates.{build.name}: no {build.workflow}/{build.step_id}/"
                f"{SOFTWARE_FILE} found above this file; its software is unknown")))
    tosca = _tosca_dir(file)
    # A registry topology's workflow folder is above tosca/; one outside tosca/ (the
    # registry's Pillar_II/esm) sits in it. A lone file elsewhere has none.
    folder = tosca.parent if tosca is not None else (
        file.parent if (file.parent / SOFTWARE_FILE).is_file() else None)
    if folder is not None:
        for candidate in [folder / SOFTWARE_FILE,
                          *sorted(p / SOFTWARE_FILE for p in folder.iterdir() if p.is_dir())]:
            if candidate.is_file() and candidate not in found:
                found.append(candidate)
    return found


def _topology_from_data(file: Path, data: dict[str, Any], name: str | None) -> Workflow:
    warnings: list[WorkflowWarning] = []
    topology = data["topology_template"]
    if not isinstance(topology, dict):
        raise WorkflowImportError("topology_template must be a mapping", file)
    for key in topology:
        if key not in _TOPOLOGY_KEYS:
            warnings.append(WorkflowWarning(path=str(file), message=(
                f"topology_template.{key}: not imported (only inputs, node_templates and "
                "workflows are)")))
    inputs = _parse_inputs(topology.get("inputs"), "topology_template.inputs", file, warnings)
    topology_input_names = [i.name for i in inputs]
    tosca_workflows = topology.get("workflows") or {}
    if not isinstance(tosca_workflows, dict):
        raise WorkflowImportError("topology_template.workflows must be a mapping", file)
    for wf_name, wf in tosca_workflows.items():
        wf = wf if isinstance(wf, dict) else {}
        inputs = _merge_inputs(inputs, _parse_inputs(
            wf.get("inputs"), f"topology_template.workflows.{wf_name}.inputs", file, warnings))
    run_workflow = chosen_workflow(tosca_workflows)
    if len(tosca_workflows) > 1:
        warnings.append(WorkflowWarning(path=str(file), message=(
            f"topology_template.workflows: {len(tosca_workflows)} TOSCA workflows "
            f"({', '.join(tosca_workflows)}); their inputs are merged into one workflow, "
            f"the steps run in the order of {run_workflow or 'the node requirements'}")))

    nodes = topology.get("node_templates") or {}
    if not isinstance(nodes, dict):
        raise WorkflowImportError("topology_template.node_templates must be a mapping", file)
    mapper = NodeMapper(file, nodes, {i.name for i in inputs}, warnings)
    mapped = mapper.map_all()
    for input_name, where in mapper.implied.items():
        default = mapper.implied_defaults.get(input_name)
        inputs.append(WorkflowInput(name=input_name, description=f"named by {where}",
                                    required=default is None, default=default))
        warnings.append(WorkflowWarning(path=str(file), message=(
            f"{where}: '{input_name}' is not a declared input; declared as "
            + ("a required string input" if default is None else
               f"an optional string input (default {default!r}, the DLS pipeline's)")
            + " (the eFlows4HPC platform reads it from the execution inputs)")))
    for input_name, where in shell_variables(mapped.steps, {i.name for i in inputs}):
        inputs.append(WorkflowInput(name=input_name, required=False, default="",
                                    description=f"a shell variable of {where}"))
        warnings.append(WorkflowWarning(path=str(file), message=(
            f"{where}: '${{{input_name}}}' is declared nowhere; the PyCOMPSs plugin's shell "
            "expands it from the execution input of that name (empty when none is given), "
            "so it is an optional string input here (default '')")))
    inputs = older_plugin_inputs(mapped.steps, inputs, file, warnings)
    inputs = apply_workflow_inputs(mapped.steps, inputs, file, warnings)
    if run_workflow is not None:
        _order_as_declared(file, run_workflow, tosca_workflows[run_workflow], mapped,
                           warnings)

    software = SoftwareNeeds(containers=mapped.containers)
    for software_file in _find_software(file, mapped.containers, warnings):
        needs, more = parse_software_file(software_file)
        software = software.merge(needs)
        warnings.extend(more)

    refusals = list(mapper.refusals)
    if run_workflow is not None:
        refusals += [f"topology_template.workflows.{run_workflow}.{line}"
                     for line in unfollowed_steps(tosca_workflows[run_workflow])]
    declared = {i.name for i in inputs}
    for step in mapped.steps:
        refusals += _undeclared(template_fields(step), declared, f"node_templates.{step.name}")
    for move in mapped.data_movements:
        refusals += _undeclared(
            [(f"data_movements.{move.name}.{side}", getattr(move, side))
             for side in ("source", "target")], declared, f"node_templates.{move.name}")
    for copy in mapped.site_copies:
        refusals += _undeclared(
            [(f"site_copies.{copy.name}.{side}", getattr(copy, side))
             for side in ("source_path", "target_path", "source_host", "target_host")],
            declared, f"node_templates.{copy.name}")
    if refusals:
        raise WorkflowImportError("cannot be run here: " + "; ".join(refusals), file)

    metadata = data.get("metadata") or {}
    try:
        return Workflow(
            name=name or _derive_name(file, data),
            version=str(metadata.get("template_version") or "0.1.0"),
            description=str(data.get("description") or ""),
            inputs=inputs, steps=mapped.steps, software=software,
            data_movements=mapped.data_movements, site_copies=mapped.site_copies,
            environments=mapped.environments,
            source={
                "kind": "tosca", "file": str(file),
                "template_name": metadata.get("template_name"),
                "template_author": metadata.get("template_author"),
                "imports": [str(i) for i in data.get("imports") or []],
                "tosca_workflows": list(tosca_workflows),
                "tosca_run_workflow": run_workflow,  # whose order the steps run in
                "topology_inputs": topology_input_names,
            },
            warnings=warnings,
        )
    except ValueError as exc:
        raise WorkflowImportError(f"topology does not make a valid workflow: {exc}",
                                  file) from None


def _order_as_declared(file: Path, name: str, workflow: Any, mapped: Any,
                       warnings: list[WorkflowWarning]) -> None:
    """The steps and data movements the TOSCA workflow names wait for what it says."""
    order, problems = node_order(workflow)
    where = f"topology_template.workflows.{name}"
    for problem in problems:
        warnings.append(WorkflowWarning(path=str(file), message=f"{where}.{problem}"))
    items = [*mapped.steps, *mapped.data_movements, *mapped.site_copies]
    known = {item.name for item in items}
    for item in items:
        if item.name in order:
            item.depends_on = [n for n in order[item.name] if n in known]


def _undeclared(fields: Any, declared: set[str], node: str) -> list[str]:
    """A refusal per template field naming an input the topology does not declare:
    the trigger could never fill it (the plugin has no value for it either)."""
    found = []
    for path, value in fields:
        if not isinstance(value, str):
            continue
        for name in references_in([value]):
            if name not in declared:
                found.append(f"{node} ({path}): references '${{{name}}}', which is not a "
                             "declared input; declare it in topology_template.inputs or in "
                             "the TOSCA workflow's inputs")
    return found


def _load_mapping(file: Path) -> dict[str, Any]:
    data = load_yaml(file)
    if not isinstance(data, dict):
        raise WorkflowImportError(
            f"expected a TOSCA document (a mapping), got {type(data).__name__}", file)
    return data


def _type_sections(data: dict[str, Any]) -> list[str]:
    return [key for key in _TYPE_SECTIONS if key in data]


def import_topology(file: str | Path, name: str | None = None) -> Workflow:
    """The workflow described by one TOSCA topology file.

    The name defaults to ``<workflow folder>[.<sub-folder>]`` when the file sits in a
    registry ``tosca/`` folder, else to the template name. Raises
    ``WorkflowImportError`` for a missing file, invalid YAML, or a file holding no
    ``topology_template`` (e.g. type definitions only).
    """
    path = Path(file)
    if not path.is_file():
        raise WorkflowImportError("no such topology file", path)
    data = _load_mapping(path)
    if "topology_template" not in data:
        sections = _type_sections(data)
        if sections:
            raise WorkflowImportError(
                f"holds TOSCA type definitions only ({', '.join(sections)}), "
                "no topology_template", path)
        raise WorkflowImportError("no topology_template: not a TOSCA topology", path)
    return _topology_from_data(path.resolve(), data, name)


def _search_roots(folder: Path) -> list[Path]:
    if folder.name == "tosca":
        return [folder]
    roots = sorted(p for p in folder.rglob("tosca") if p.is_dir()
                   and not any(parent.name == "tosca" for parent in p.parents
                               if folder in parent.parents or parent == folder))
    return roots or [folder]


def _workflow_folder_name(file: Path) -> str | None:
    """A topology outside ``tosca/`` in a workflow folder (one holding its software's
    ``eflows4hpc.yaml``, as Pillar_II/esm) is named after the folder, as when its pillar
    is imported (``_topologies_beside``), not by its template name (esm's is a date,
    ``12022024``); None elsewhere (the default name)."""
    if _tosca_dir(file) is not None or not (file.parent / SOFTWARE_FILE).is_file():
        return None
    return name_from(file.parent.name)


def _topologies_beside(folder: Path, roots: list[Path]) -> list[Path]:
    """Topology files outside every ``tosca/`` folder (the registry has some, e.g. a
    ``<workflow>/topology.yml``): only files holding a ``topology_template``; the other
    YAML there is software, spack or CI configuration."""
    found = []
    for file in sorted(p for p in folder.rglob("*") if _is_yaml(p)):
        relative = file.relative_to(folder).parts
        if (file.name == SOFTWARE_FILE or any(part.startswith(".") for part in relative)
                or any(root == folder or root in file.parents for root in roots)
                or not is_under(file, folder)):
            continue
        try:
            if "topology_template" in file.read_text(encoding="utf-8", errors="replace"):
                found.append(file)
        except OSError:
            continue
    return found


def _import_one(file: Path, data: dict[str, Any], name: str | None,
                refused: list[WorkflowImportError] | None) -> Workflow | None:
    try:
        return _topology_from_data(file, data, name)
    except WorkflowImportError as exc:
        if refused is None:
            raise
        refused.append(exc)
        return None


def import_registry_folder(path: str | Path,
                           refused: list[WorkflowImportError] | None = None
                           ) -> list[Workflow]:
    """Every workflow of a registry folder: one per TOSCA topology found.

    ``path`` may be the registry root, a pillar folder, one workflow folder or its
    ``tosca/`` folder. Type-definition files and deployment-input files
    (``inputs/*.yml``: values for the orchestrator) are not workflows: they are
    recorded as warnings on the workflows beside them. Raises
    ``WorkflowImportError`` if ``path`` is not a folder or holds no topology.
    A topology that cannot be run here raises too, unless ``refused`` is given: its
    error is then added there and the other topologies are still imported.
    """
    folder = Path(path).resolve()
    if not folder.exists():
        raise WorkflowImportError("no such folder", folder)
    if not folder.is_dir():
        raise WorkflowImportError("not a folder (give a workflow-registry folder)", folder)
    workflows: list[tuple[Path, Path, Workflow]] = []  # (search root, file, workflow)
    extras: list[tuple[Path, Path, str]] = []  # (root, file, warning) for non-topology YAML
    seen_yaml: list[Path] = []
    for root in _search_roots(folder):
        for file in sorted(p for p in root.rglob("*") if _is_yaml(p)):
            if file.name == SOFTWARE_FILE or file in seen_yaml:
                continue
            seen_yaml.append(file)
            if not is_under(file, folder):  # a link planted in the folder, to elsewhere
                extras.append((root, file, "a link to a file outside the imported folder; "
                                           "not read"))
                continue
            data = load_yaml(file)
            if isinstance(data, dict) and "topology_template" in data:
                workflow = _import_one(file, data, _workflow_folder_name(file), refused)
                if workflow is not None:
                    workflows.append((root, file, workflow))
            elif isinstance(data, dict) and _type_sections(data):
                defined = [str(n) for s in _type_sections(data) for n in data[s] or {}]
                extras.append((root, file, (
                    f"type definitions only ({', '.join(defined) or 'none'}); not imported: "
                    "nodes of these types are reported as unmapped")))
            elif isinstance(data, dict) and "tosca_definitions_version" not in data:
                extras.append((root, file, (
                    f"deployment inputs for the orchestrator ({', '.join(map(str, data))}) "
                    "are not imported; give such values as workflow inputs or site settings")))
            else:
                extras.append((root, file, "not a TOSCA topology; ignored"))
    roots = _search_roots(folder)
    if roots != [folder]:
        for file in _topologies_beside(folder, roots):
            data = load_yaml(file)
            if isinstance(data, dict) and "topology_template" in data:
                workflow = _import_one(file, data, name_from(file.parent.name), refused)
                if workflow is not None:
                    workflows.append((file.parent, file, workflow))
    if not workflows and refused:
        raise WorkflowImportError("no topology that can be run here: " + "; ".join(
            str(exc) for exc in refused), folder)
    if not workflows:
        found = ", ".join(str(f) for _, f, _ in extras) or "no YAML files"
        raise WorkflowImportError(f"no TOSCA topology (topology_template) found; saw: {found}",
                                  folder)
    for root, extra, message in extras:
        # The nearest topology above the file owns it (an inputs/ file belongs to the
        # topology of its parent folder); else every topology of the same tosca/ folder;
        # else (an orphan folder) every workflow, so that nothing is dropped silently.
        owners = ([wf for r, file, wf in workflows
                   if r == root and file.parent in (extra.parent, *extra.parents)]
                  or [wf for r, _, wf in workflows if r == root]
                  or [wf for _, _, wf in workflows])
        best = max(len(Path(wf.source["file"]).parent.parts) for wf in owners)
        for wf in owners:
            if len(Path(wf.source["file"]).parent.parts) == best:
                wf.warnings.append(WorkflowWarning(path=str(extra), message=message))
                if "deployment inputs" in message:
                    wf.source.setdefault("deployment_inputs", {})[str(extra)] = load_yaml(extra)
    return [wf for _, _, wf in workflows]

