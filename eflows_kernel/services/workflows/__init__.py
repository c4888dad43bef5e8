"""Workflows: what a workflow is, how it is imported, how its inputs are checked, the registry.

Everything but ``registry.py`` is pure logic (no database, no HTTP): models, imports of
specs, PyCOMPSs files and eFlows4HPC registry folders (TOSCA), input checking. The
registry stores ``Workflow.model_dump(mode="json")`` in the state database.
"""

from eflows_kernel.services.workflows.application import local_application, source_root
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
from eflows_kernel.services.workflows.registry import (
    ImportReport,
    RegisteredWorkflow,
    WorkflowRegistry,
)
from eflows_kernel.services.workflows.software import parse_software_file
from eflows_kernel.services.workflows.tosca import import_registry_folder, import_topology

__all__ = [
    "ArgumentRenderError",
    "ContainerBuild",
    "DataMovement",
    "ImportReport",
    "InputValidationError",
    "RegisteredWorkflow",
    "SoftwareNeeds",
    "Step",
    "Workflow",
    "WorkflowImportError",
    "WorkflowInput",
    "WorkflowRegistry",
    "WorkflowWarning",
    "find_references",
    "import_registry_folder",
    "import_topology",
    "local_application",
    "parse_software_file",
    "render_arguments",
    "source_root",
    "validate_inputs",
    "workflow_from_folder",
    "workflow_from_python_file",
    "workflow_from_spec",
]
