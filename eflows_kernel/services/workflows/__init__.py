"""The workflow registry, pure logic: models, imports and input checking.

No database and no HTTP here: persistence and the REST routes build on these
functions and store ``Workflow.model_dump(mode="json")``.
"""

from eflows_kernel.services.workflows.errors import (
    ArgumentRenderError,
    InputValidationError,
    WorkflowImportError,
)
from eflows_kernel.services.workflows.inputs import (
    find_references,
    render_arguments,
    validate_inputs,
)
from eflows_kernel.services.workflows.model import (
    ContainerBuild,
    DataMovement,
    SoftwareNeeds,
    Step,
    Workflow,
    WorkflowInput,
    WorkflowWarning,
)
from eflows_kernel.services.workflows.register import (
    workflow_from_folder,
    workflow_from_python_file,
    workflow_from_spec,
)
from eflows_kernel.services.workflows.software import parse_software_file
from eflows_kernel.services.workflows.tosca import import_registry_folder, import_topology

__all__ = [
    "ArgumentRenderError",
    "ContainerBuild",
    "DataMovement",
    "InputValidationError",
    "SoftwareNeeds",
    "Step",
    "Workflow",
    "WorkflowImportError",
    "WorkflowInput",
    "WorkflowWarning",
    "find_references",
    "import_registry_folder",
    "import_topology",
    "parse_software_file",
    "render_arguments",
    "validate_inputs",
    "workflow_from_folder",
    "workflow_from_python_file",
    "workflow_from_spec",
]
