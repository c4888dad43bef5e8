"""Reading YAML sources and a step's ``eflows4hpc.yaml`` (its software needs).

The eFlows4HPC image-creation service reads ``<workflow>/<step>/eflows4hpc.yaml``
(``apt``, ``pip``, ``spack``, ``conda`` sections) to build a step's container; we
read the same file so a deployer can prepare the same software by other means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from eflows_kernel.services.bounds import TooStrange, check_value
from eflows_kernel.services.workflows.errors import WorkflowImportError
from eflows_kernel.services.workflows.model import SoftwareNeeds, WorkflowWarning

SOFTWARE_FILE = "eflows4hpc.yaml"


MAX_YAML_BYTES = 4 << 20  # a workflow description is text a person wrote


def load_yaml(path: Path) -> Any:
    """Parsed YAML of ``path``; a ``WorkflowImportError`` naming file and line otherwise.

    Bounded (a registry folder is not ours): the file's size, and what its aliases
    expand to (``bounds.check_value``), so a small file cannot become gigabytes.
    """
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise WorkflowImportError(f"the file is {size} bytes; a workflow description "
                                      f"may be at most {MAX_YAML_BYTES}", path)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowImportError(f"cannot read file ({exc.strerror or exc})", path) from None
    except UnicodeDecodeError:
        raise WorkflowImportError("not UTF-8 text", path) from None
    try:
        return check_value(yaml.safe_load(text), "the file", json_only=False)
    except TooStrange as exc:
        raise WorkflowImportError(str(exc), path) from None
    except RecursionError:
        raise WorkflowImportError("nested too deep", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise WorkflowImportError(f"invalid YAML{where}: {problem}", path) from None


def _string_list(value: Any, path: Path, section: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise WorkflowImportError(
            f"'{section}' must be a list of package names, got {type(value).__name__}", path)
    return [str(item).strip() for item in value if item is not None and str(item).strip()]


def parse_software_file(path: Path) -> tuple[SoftwareNeeds, list[WorkflowWarning]]:
    """The software needs declared by one ``eflows4hpc.yaml``, plus what was not understood."""
    data = load_yaml(path)
    warnings: list[WorkflowWarning] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise WorkflowImportError("expected a mapping with apt/pip/spack/conda sections", path)
    spack_specs: list[str] = []
    spack_config: dict[str, Any] = {}
    spack = data.get("spack")
    if isinstance(spack, dict):
        spack_specs = _string_list(spack.get("specs"), path, "spack.specs")
        spack_config = {k: v for k, v in spack.items() if k != "specs"}
    elif spack is not None:
        spack_specs = _string_list(spack, path, "spack")
    conda = data.get("conda")
    if isinstance(conda, dict):  # an environment.yml-like section
        conda_list = _string_list(conda.get("dependencies"), path, "conda.dependencies")
    else:
        conda_list = _string_list(conda, path, "conda")
    for key in data:
        if key not in ("apt", "pip", "spack", "conda"):
            warnings.append(WorkflowWarning(
                path=str(path), message=f"section '{key}' is not a known software section "
                                        "(apt, pip, spack, conda); kept in raw only"))
    needs = SoftwareNeeds(
        apt=_string_list(data.get("apt"), path, "apt"),
        pip=_string_list(data.get("pip"), path, "pip"),
        spack=spack_specs, spack_config=spack_config, conda=conda_list,
        sources=[str(path)], raw={str(path): data},
    )
    return needs, warnings
