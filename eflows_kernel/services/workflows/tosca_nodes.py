"""Mapping TOSCA node templates of eFlows4HPC topologies to steps, data movements, images.

Kept apart from the file/folder handling in ``tosca.py``: this is the part that knows
the eFlows4HPC node types (PyCOMPSs job plugin, DLS data logistics, image creation,
abstract environments) and their properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eflows_kernel.services.workflows.compss_opts import no_application
from eflows_kernel.services.workflows.model import (
    ContainerBuild,
    DataMovement,
    SiteCopy,
    Step,
    WorkflowWarning,
)
from eflows_kernel.services.workflows.tosca_models import MODEL_TYPES, model_movement
from eflows_kernel.services.workflows.tosca_older_job import older_job
from eflows_kernel.services.workflows.tosca_values import as_str as _as_str
from eflows_kernel.services.workflows.tosca_values import node_options, template_value
from eflows_kernel.services.workflows.tosca_values import secret_path as _secret_path

PYCOMPSS_JOB = "org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob"
ENVIRONMENT = "eflows4hpc.env.nodes.AbstractEnvironment"
IMAGE_CREATION = "imagecreation.ansible.nodes.ImageCreation"
IMAGE_TRANSFER = "dls.ansible.nodes.DLSDAGImageTransfer"
SSH_TO_SSH = "dls.ansible.nodes.SSH2SSH"
OLDER_PYCOMPSS_JOB = "pycomps.ansible.nodes.PyCOMPSJob"
# node type -> (direction, kind, source property, target property)
DATA_MOVEMENT_TYPES: dict[str, tuple[str, str, str, str]] = {
    "dls.ansible.nodes.DLSDAGStageInData": ("in", "dls", "oid", "target_path"),
    "dls.ansible.nodes.DLSDAGWebdavStageInData": ("in", "webdav", "oid", "target_path"),
    "dls.ansible.nodes.HTTP2SSH": ("in", "http", "url", "target_path"),
    "dls.ansible.nodes.DLSDAGStageOutData": ("out", "dls", "source_path", "mid"),
    "dls.ansible.nodes.DLSDAGWebdavStageOutData": ("out", "webdav", "source_path", "oid"),
}
_NODE_KEYS = frozenset({"type", "properties", "requirements", "metadata"})
_JOB_PROPERTIES = frozenset({"submission_params", "application", "keep_environment"})
_SUBMISSION_PARAMS = frozenset({"qos", "python_interpreter", "num_nodes",
                                "extra_compss_opts", "compss_modules"})
_APPLICATION_KEYS = frozenset({"command", "arguments", "container_opts"})
_IMAGE_CREATION_KEYS = frozenset({"service_url", "insecure_tls", "username", "password",
                                  "machine", "workflow", "step_id", "force", "debug",
                                  "run_in_standard_mode"})


@dataclass
class MappedNodes:
    """What the node templates of one topology became."""

    steps: list[Step] = field(default_factory=list)
    data_movements: list[DataMovement] = field(default_factory=list)
    containers: list[ContainerBuild] = field(default_factory=list)
    site_copies: list[SiteCopy] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)


class NodeMapper:
    """Maps the node templates of one topology file, collecting warnings on the way."""

    def __init__(self, file: Path, nodes: dict[str, Any], declared_inputs: set[str],
                 warnings: list[WorkflowWarning]) -> None:
        self.file = file
        self.nodes = {str(k): (v if isinstance(v, dict) else {}) for k, v in nodes.items()}
        self.declared = declared_inputs
        self.warnings = warnings
        self.refusals: list[str] = []  # what cannot run here: the topology is refused
        self.implied: dict[str, str] = {}  # input name -> the property that names it
        # implied inputs the DLS has a default for (optional, with it); the others required
        self.implied_defaults: dict[str, Any] = {}

    def refuse(self, where: str, message: str) -> None:
        self.refusals.append(f"node_templates.{where}: {message}")

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(WorkflowWarning(path=str(self.file),
                                             message=f"node_templates.{where}: {message}"))

    def _type(self, name: str) -> str:
        return str(self.nodes.get(name, {}).get("type", ""))

    def _requirements(self, name: str) -> list[str]:
        """Target node names of a node's requirements (short and long forms)."""
        targets = []
        for item in self.nodes[name].get("requirements") or []:
            for spec in (item.values() if isinstance(item, dict) else []):
                target = spec.get("node") if isinstance(spec, dict) else spec
                if isinstance(target, str):
                    if target not in self.nodes:
                        self.warn(f"{name}.requirements",
                                  f"requires node '{target}', which is not in the topology")
                    targets.append(target)
        return targets

    def requirement_targets(self, name: str) -> list[tuple[str, str]]:
        """(``type_requirement`` or the requirement's name, target node) of each requirement."""
        found = []
        for item in self.nodes[name].get("requirements") or []:
            for key, spec in (item.items() if isinstance(item, dict) else []):
                target = spec.get("node") if isinstance(spec, dict) else spec
                kind = spec.get("type_requirement") if isinstance(spec, dict) else None
                if isinstance(target, str):
                    found.append((str(kind or key), target))
        return found

    def environment_and_deps(self, name: str) -> tuple[str | None, list[str]]:
        env = None
        deps = []
        for target in self._requirements(name):
            if self._type(target) == ENVIRONMENT:
                env = target
            else:
                deps.append(target)
        return env, deps

    def map_all(self) -> MappedNodes:
        """Every node template mapped by type; unknown types become warnings."""
        mapped = MappedNodes()
        for name, node in self.nodes.items():
            node_type = self._type(name)
            for key in node:
                if key not in _NODE_KEYS:
                    self.warn(f"{name}.{key}", "not imported (only type, properties and "
                                               "requirements are)")
            if node_type == ENVIRONMENT:
                mapped.environments.append(name)
                if node.get("properties"):
                    self.warn(f"{name}.properties",
                              f"environment properties not imported: {node['properties']!r}")
            elif node_type == IMAGE_CREATION:
                build = self._image_creation(name)
                if build is not None:
                    mapped.containers.append(build)
        for name in self.nodes:
            node_type = self._type(name)
            if node_type == PYCOMPSS_JOB:
                step = self._job(name, mapped.containers)
                if step is not None:
                    mapped.steps.append(step)
            elif node_type == OLDER_PYCOMPSS_JOB:
                env, deps = self.environment_and_deps(name)
                step = older_job(name, self.nodes[name].get("properties") or {}, env, deps,
                                 self.warn, self.refuse, self.implied, self.declared)
                if step is not None:
                    mapped.steps.append(step)
            elif node_type == SSH_TO_SSH:
                mapped.site_copies.append(self._site_copy(name))
            elif node_type in DATA_MOVEMENT_TYPES or node_type == IMAGE_TRANSFER:
                mapped.data_movements.append(self._movement(name, mapped.containers))
            elif node_type in MODEL_TYPES:
                mapped.data_movements.append(model_movement(self, name))
            elif node_type not in (ENVIRONMENT, IMAGE_CREATION):
                self.refuse(name, f"node type '{node_type or '(none)'}' is not one this "
                                  f"server runs (it runs {PYCOMPSS_JOB}, {OLDER_PYCOMPSS_JOB}, "
                                  f"the DLS data movements "
                                  f"{', '.join(sorted([*DATA_MOVEMENT_TYPES, *MODEL_TYPES]))}, "
                                  f"{SSH_TO_SSH}, "
                                  f"{IMAGE_TRANSFER}, {IMAGE_CREATION} and {ENVIRONMENT})")
        return mapped

    def _image_of(self, name: str, containers: list[ContainerBuild],
                  seen: frozenset[str] = frozenset()) -> ContainerBuild | None:
        """The image a node uses: an ImageCreation it requires, directly or via a transfer."""
        for target in self._requirements(name):
            if target in seen:
                continue
            if self._type(target) == IMAGE_CREATION:
                return next((c for c in containers if c.name == target), None)
            if self._type(target) == IMAGE_TRANSFER:
                found = self._image_of(target, containers, seen | {name})
                if found is not None:
                    return found
        return None

    def _image_creation(self, name: str) -> ContainerBuild | None:
        props = self.nodes[name].get("properties") or {}
        for key in props:
            if key not in _IMAGE_CREATION_KEYS:
                self.warn(f"{name}.properties.{key}", "not imported")
        workflow, step_id = props.get("workflow"), props.get("step_id")
        if not workflow or not step_id:
            self.refuse(f"{name}.properties", "an image creation needs workflow and step_id "
                                              "(the registry folder of the step's software)")
            return None
        secrets = {k: p for k in ("username", "password")
                   if (p := _secret_path(props.get(k))) is not None}
        options = {k: template_value(props[k])
                   for k in ("insecure_tls", "debug", "run_in_standard_mode") if k in props}
        if secrets:
            options["secrets"] = secrets
        machine = props.get("machine") or {}
        return ContainerBuild(
            name=name, workflow=str(workflow), step_id=str(step_id),
            machine=dict(machine) if isinstance(machine, dict) else {},
            service_url=_as_str(props.get("service_url")), force=bool(props.get("force")),
            options=options)

    def _job(self, name: str, containers: list[ContainerBuild]) -> Step | None:
        props = self.nodes[name].get("properties") or {}
        for key, value in props.items():
            if key not in _JOB_PROPERTIES:
                self.warn(f"{name}.properties.{key}", f"not imported (value {value!r}); the "
                          "cluster and account come from the infrastructure chosen at "
                          "deployment" if key == "environment" else f"not imported ({value!r})")
        params = props.get("submission_params") or {}
        app = props.get("application") or {}
        options: dict[str, Any] = {"tosca_type": PYCOMPSS_JOB}  # (its shell line's words)
        for key, value in params.items():
            if key not in _SUBMISSION_PARAMS:
                self.warn(f"{name}.properties.submission_params.{key}",
                          "unknown submission parameter; kept in step options only")
                options.setdefault("submission_params", {})[key] = template_value(value)
        for key in app:
            if key not in _APPLICATION_KEYS:
                self.warn(f"{name}.properties.application.{key}", "not imported")
        command = _as_str(app.get("command"))
        if command is None:  # the plugin's command line then ends with extra_compss_opts
            command = no_application(name, "properties.application.command", options,
                                     _as_str(params.get("extra_compss_opts")), self.implied,
                                     self.declared, self.warn)
        arguments = app.get("arguments") or []
        if not isinstance(arguments, list):
            arguments = [arguments]
        container_opts = app.get("container_opts") or {}
        num_nodes = template_value(params.get("num_nodes"))
        modules = params.get("compss_modules") or []
        env, deps = self.environment_and_deps(name)
        image = self._image_of(name, containers)
        return Step(
            name=name, application=command,
            arguments=[str(template_value(a)) for a in arguments],
            num_nodes=num_nodes if isinstance(num_nodes, int | str) else None,
            qos=_as_str(params.get("qos")),
            python_interpreter=_as_str(params.get("python_interpreter")),
            compss_modules=[str(m) for m in (modules if isinstance(modules, list) else [modules])],
            extra_compss_opts=_as_str(params.get("extra_compss_opts")),
            container_image=f"{image.workflow}/{image.step_id}" if image else None,
            container_opts={str(k): str(v) for k, v in container_opts.items()}
            if isinstance(container_opts, dict) else {"container_opts": str(container_opts)},
            keep_environment=bool(props.get("keep_environment", False)),
            environment=env, depends_on=deps, options=options)

    def endpoint(self, name: str, props: dict[str, Any], prop: str) -> str:
        """Where data comes from / goes to, as a template.

        The DLS plugin takes the value from the execution input named by
        ``input_name_for_<prop>`` when given, else from the property itself.
        """
        input_name = props.get(f"input_name_for_{prop}")
        if input_name and str(input_name) in self.declared:
            return "${" + str(input_name) + "}"
        value = _as_str(props.get(prop))
        if value is not None:
            return value
        if input_name:
            # The DLS reads it from the execution input of that name, declared or not:
            # the trigger must then ask for it.
            self.implied.setdefault(str(input_name),
                                    f"node_templates.{name}.properties.input_name_for_{prop}")
            return "${" + str(input_name) + "}"
        self.warn(f"{name}.properties", f"neither '{prop}' nor 'input_name_for_{prop}' "
                                        "is set; left empty")
        return ""

    def _movement(self, name: str, containers: list[ContainerBuild]) -> DataMovement:
        node_type = self._type(name)
        props = self.nodes[name].get("properties") or {}
        env, deps = self.environment_and_deps(name)
        host = None
        if node_type == IMAGE_TRANSFER:
            image = self._image_of(name, containers)
            direction, kind = "in", "image"
            source = (f"{image.workflow}/{image.step_id}" if image
                      else _as_str(props.get("image_id")) or "")
            target = self.endpoint(name, props, "target_path")
            used = {"target_path", "input_name_for_target_path"}
            if "target_host" in props or "input_name_for_target_host" in props:
                # The cluster the image goes to (``movement_sites.py``), maybe an input.
                host = self.endpoint(name, props, "target_host") or None
                used |= {"target_host", "input_name_for_target_host"}
        else:
            direction, kind, source_prop, target_prop = DATA_MOVEMENT_TYPES[node_type]
            source = self.endpoint(name, props, source_prop)
            target = self.endpoint(name, props, target_prop)
            used = {source_prop, target_prop}
        options: dict[str, Any] = {"tosca_type": node_type}
        if host:
            options["target_host"] = host
        secrets: dict[str, str] = {}
        for key, value in props.items():
            if key in used:
                continue
            secret = _secret_path(value)
            if secret is not None:
                secrets[key] = secret
            else:
                options[key] = template_value(value)
        if secrets:
            options["secrets"] = secrets
        return DataMovement(name=name, direction=direction, kind=kind, source=source,
                            target=target, environment=env, depends_on=deps, options=options)

    def _site_copy(self, name: str) -> SiteCopy:
        """An ``SSH2SSH`` node: the copy between the jobs on its two environments.

        The DLS plugin reads each end from the property or the execution input named by
        ``input_name_for_<property>``; the hosts are those of the environments (the sites
        bound at trigger) unless ``source_host`` / ``target_host`` say one.
        """
        props = self.nodes[name].get("properties") or {}
        self._requirements(name)  # (warns about requirements on missing nodes)
        source_env = target_env = None
        deps = []
        for kind, target in self.requirement_targets(name):
            if self._type(target) != ENVIRONMENT:
                deps.append(target)
            elif kind == "source_environment":
                source_env = target
            else:
                target_env = target
        if source_env is None or target_env is None:
            source_env = source_env or target_env
            target_env = target_env or source_env
        ends = {}
        for prop in ("source_path", "target_path"):
            if props.get(prop) in (None, "") and not props.get(f"input_name_for_{prop}"):
                self.refuse(f"{name}.properties.{prop}", "missing: an SSH2SSH copy needs "
                            f"the path it copies (set {prop} or input_name_for_{prop})")
                ends[prop] = ""
            else:
                ends[prop] = self.endpoint(name, props, prop)
        hosts = {prop: (self.endpoint(name, props, prop) or None)
                 if prop in props or f"input_name_for_{prop}" in props else None
                 for prop in ("source_host", "target_host")}
        used = {p for prop in [*ends, *hosts] for p in (prop, f"input_name_for_{prop}")}
        options = node_options(SSH_TO_SSH, props, used)
        return SiteCopy(name=name, source_environment=source_env, environment=target_env,
                        source_path=ends["source_path"], target_path=ends["target_path"],
                        source_host=hosts["source_host"], target_host=hosts["target_host"],
                        depends_on=deps, options=options)

