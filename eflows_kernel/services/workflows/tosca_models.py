"""The DLS's MLflow nodes (the eFlows4HPC model repository) as stage-out movements.

``dls.ansible.nodes.DLSDAGModelUpload`` (rom_pillar_I) triggers the DLS pipeline
``mlflow_upload_model``: ``location`` (a folder on the site holding ``attrs.json``) into
one run of an MLflow experiment. ``DLSDAGModelSearchUpload`` (Pillar_III/mlesmap)
triggers ``model_search_upload``: ``location``'s ``pd.csv`` + ``model.dat`` into the
experiment ``experiment`` (the pipeline's default ``model_search`` when none is given).
Both read their values from the execution input named by ``input_name_for_<property>``
when there is one, else from the property, as every DLS node does; ``subfolder`` (two
uploads of one job's results, ``center`` and ``outside``) is a folder below
``location``. The tracking server is the one the vault has a login for (the DLS's one
``my_mlflow`` connection); the upload itself is ``hpc/transfer/model_upload.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eflows_kernel.services.workflows.model import DataMovement
from eflows_kernel.services.workflows.tosca_values import as_str, node_options

if TYPE_CHECKING:
    from eflows_kernel.services.workflows.tosca_nodes import NodeMapper

MODEL_UPLOAD = "dls.ansible.nodes.DLSDAGModelUpload"
MODEL_SEARCH_UPLOAD = "dls.ansible.nodes.DLSDAGModelSearchUpload"
MODEL_TYPES = {MODEL_UPLOAD: "mlflow", MODEL_SEARCH_UPLOAD: "mlflow_search"}
DEFAULT_EXPERIMENT = "model_search"  # model_search_upload's experiment_name default


def model_movement(mapper: NodeMapper, name: str) -> DataMovement:
    """The stage-out movement of one MLflow node, after the job it depends on."""
    node_type = mapper.nodes[name]["type"]
    props = mapper.nodes[name].get("properties") or {}
    env, deps = mapper.environment_and_deps(name)
    source = mapper.endpoint(name, props, "location")
    subfolder = as_str(props.get("subfolder"))
    if subfolder:
        source = f"{source.rstrip('/')}/{subfolder.strip('/')}" if source else subfolder
    target = ""
    used = {"location", "input_name_for_location", "subfolder"}
    if node_type == MODEL_SEARCH_UPLOAD:
        used |= {"experiment", "input_name_for_experiment"}
        if props.get("experiment") not in (None, "") or \
                str(props.get("input_name_for_experiment") or "") in mapper.declared:
            target = mapper.endpoint(name, props, "experiment")
        elif props.get("input_name_for_experiment"):
            # the pipeline's own default when the execution gives no such input
            input_name = str(props["input_name_for_experiment"])
            mapper.implied_defaults.setdefault(input_name, DEFAULT_EXPERIMENT)
            mapper.implied.setdefault(
                input_name, f"node_templates.{name}.properties.input_name_for_experiment")
            target = "${" + input_name + "}"
    options = node_options(node_type, props, used)
    return DataMovement(name=name, direction="out", kind=MODEL_TYPES[node_type],  # type: ignore[arg-type]
                        source=source, target=target, environment=env, depends_on=deps,
                        options=options)


__all__ = ["MODEL_SEARCH_UPLOAD", "MODEL_TYPES", "MODEL_UPLOAD", "model_movement"]
