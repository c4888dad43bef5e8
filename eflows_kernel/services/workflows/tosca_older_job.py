"""A job of the older eFlows4HPC PyCOMPSs plugin (``pycomps.ansible.nodes.PyCOMPSJob``).

Its properties are flat (``num_nodes``, ``qos``, ``command``, ``arguments``...) where the
newer plugin nests them in ``submission_params`` and ``application``; each one with a
meaning here becomes the same ``Step`` field as the newer plugin's. The plugin loaded
``COMPSs/<compss_module_version>`` before the job: that is the step's COMPSs module.
Its ``pycomps_endpoint`` (the host it logged in to) is what the site bound at trigger
replaces. A property with no meaning here is refused by name: ``container_image`` is
an image path (our containers are ``ImageCreation`` builds) and ``container_compss_path``
the COMPSs inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from eflows_kernel.services.workflows.compss_opts import no_application
from eflows_kernel.services.workflows.model import Step
from eflows_kernel.services.workflows.tosca_values import as_str, template_value

COMPSS_MODULE = "COMPSs/{version}"  # what the plugin loaded for compss_module_version
_SCALARS = ("qos", "python_interpreter", "extra_compss_opts")
_REPLACED = {"pycomps_endpoint": "the host the plugin logged in to; the site bound at "
                                 "trigger replaces it"}
_NO_MEANING = {"container_image": "an image path for the job's container (containers "
                                  "here are ImageCreation builds of the step's software)",
               "container_compss_path": "where COMPSs is inside that container image"}
_KNOWN = frozenset({*_SCALARS, "num_nodes", "command", "arguments", "container_opts",
                    "compss_module_version", "keep_environment", *_REPLACED, *_NO_MEANING})


def older_job(name: str, props: dict[str, Any], environment: str | None,
              depends_on: list[str], warn: Callable[[str, str], None],
              refuse: Callable[[str, str], None], implied: dict[str, str] | None = None,
              declared: Collection[str] = ()) -> Step | None:
    """The step of an older-plugin job (None, with a refusal, if it cannot run here)."""
    where = f"{name}.properties"
    refused = False
    for key, value in props.items():
        if key in _REPLACED:
            warn(f"{where}.{key}", f"not imported ({value!r}): {_REPLACED[key]}")
        elif key in _NO_MEANING and value not in (None, "", [], {}):
            refuse(f"{where}.{key}", f"{_NO_MEANING[key]}: this server has nothing to "
                                     "do with it; leave it empty or re-export the "
                                     "topology with the newer PyCOMPSs plugin")
            refused = True
        elif key not in _KNOWN:
            warn(f"{where}.{key}", f"not imported ({value!r})")
    options: dict[str, Any] = {"tosca_type": "pycomps.ansible.nodes.PyCOMPSJob"}
    command = as_str(props.get("command"))
    if command is None:  # as the newer plugin: the command line ends with extra_compss_opts
        command = no_application(name, "properties.command", options,
                                 as_str(props.get("extra_compss_opts")),
                                 {} if implied is None else implied, declared, warn)
    if refused:
        return None
    arguments = props.get("arguments") or []
    arguments = arguments if isinstance(arguments, list) else [arguments]
    num_nodes = template_value(props.get("num_nodes"))
    version = as_str(props.get("compss_module_version"))
    container_opts = as_str(props.get("container_opts"))
    return Step(
        name=name, application=command,
        arguments=[str(template_value(a)) for a in arguments],
        num_nodes=num_nodes if isinstance(num_nodes, int | str) else None,
        **{key: as_str(props.get(key)) for key in _SCALARS},
        compss_modules=[COMPSS_MODULE.format(version=version)] if version else [],
        container_opts={"container_opts": container_opts} if container_opts else {},
        keep_environment=bool(props.get("keep_environment", False)),
        environment=environment, depends_on=depends_on,
        options=options)


__all__ = ["COMPSS_MODULE", "older_job"]
