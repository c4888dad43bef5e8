"""Workflows that do not come from a TOSCA registry: a Python file, a folder, a spec.

Scientists in Jupyter rarely write TOSCA: they have one PyCOMPSs script, a project
folder with ``src/``, or a dict built in a notebook. Each becomes the same
``Workflow`` as a TOSCA import, so deploying does not care where it came from.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eflows_kernel.services.bounds import TooStrange, check_value
from eflows_kernel.services.paths import is_under, name_from
from eflows_kernel.services.workflows.argparse_inputs import parse_argparse_inputs
from eflows_kernel.services.workflows.errors import WorkflowImportError
from eflows_kernel.services.workflows.model import (
    SoftwareNeeds,
    Step,
    Workflow,
    WorkflowInput,
    WorkflowWarning,
)
from eflows_kernel.services.workflows.software import (
    SOFTWARE_FILE,
    load_yaml,
    parse_software_file,
)
from eflows_kernel.services.workflows.step_fields import check_references
from eflows_kernel.services.workflows.step_graph import check_step_graph, step_dependencies

DESCRIPTION_FILE = "workflow.yaml"
_STEP_KEYS = frozenset(Step.model_fields)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(spec)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _normalise_inputs(inputs: Any) -> list[dict[str, Any]]:
    """Inputs as a list of dicts; a ``{name: {type...}}`` mapping (TOSCA-like) is accepted."""
    if inputs is None:
        return []
    if isinstance(inputs, Mapping):
        result = []
        for name, spec in inputs.items():
            spec = dict(spec) if isinstance(spec, Mapping) else {"type": spec or "string"}
            result.append({"name": name, **spec})
        return result
    return [i.model_dump() if isinstance(i, WorkflowInput) else i for i in inputs]


def _check_declared(workflow: Workflow, where: str | None) -> None:
    """Refuse references to undeclared inputs or to steps not waited for, and unknown or
    circular ``depends_on``: a typo found now (with the field's path), not on the cluster."""
    graph = check_step_graph(workflow)
    problems = dict(graph)
    if not graph:
        problems.update(check_references(workflow, step_dependencies(workflow)))
    if problems:
        raise WorkflowImportError("; ".join(f"{path}: {message}" for path, message
                                            in sorted(problems.items())), where)


def workflow_from_spec(spec: Mapping[str, Any], *, where: str | Path | None = None,
                       source: Mapping[str, Any] | None = None) -> Workflow:
    """A workflow from a plain dict (written in a notebook, or read from ``workflow.yaml``).

    The dict has the ``Workflow`` fields; ``inputs`` may also be a ``{name: {...}}``
    mapping. Raises ``WorkflowImportError`` listing every invalid field, and when a
    template references an input that is not declared. Where it came from (``source``)
    is said by the importer, never by the spec: the folder it names is what may be
    uploaded, and the folder a workflow's default paths must stay in.
    """
    if not isinstance(spec, Mapping):
        raise WorkflowImportError(f"a workflow spec must be a mapping, got {type(spec).__name__}",
                                  where)
    try:
        check_value(spec, "the workflow spec", json_only=False)
    except TooStrange as exc:
        raise WorkflowImportError(str(exc), where) from None
    data = dict(spec)
    data["inputs"] = _normalise_inputs(data.get("inputs"))
    data["source"] = dict(source or {"kind": "spec"})
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        raise WorkflowImportError(f"invalid workflow spec: {_validation_message(exc)}",
                                  where) from None
    _check_declared(workflow, str(where) if where is not None else None)
    return workflow


def _module_docstring(path: Path) -> str:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise WorkflowImportError(f"not valid Python at line {exc.lineno}: {exc.msg}",
                                  path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowImportError(f"cannot read file ({exc})", path) from None
    return (ast.get_docstring(tree) or "").strip()


def workflow_from_python_file(
    path: str | Path,
    name: str | None = None,
    inputs: Sequence[WorkflowInput | Mapping[str, Any]] | Mapping[str, Any] | None = None,
    arguments: Sequence[str] | None = None,
    *,
    version: str = "0.1.0",
    description: str | None = None,
    software: SoftwareNeeds | None = None,
    **step_options: Any,
) -> Workflow:
    """A one-step workflow running a single PyCOMPSs application file.

    Without ``inputs`` and ``arguments``, a file with an ``argparse`` definition declares
    its own (read from the source, never run: ``argparse_inputs``). Arguments default to
    one ``${input}`` per declared input, in order, which is how most scripts read
    ``sys.argv``. The description defaults to the module docstring. Extra keyword
    arguments are ``Step`` fields (``num_nodes``, ``qos``...).
    """
    file = Path(path)
    if not file.is_file():
        raise WorkflowImportError("no such Python file", file)
    if file.suffix != ".py":
        raise WorkflowImportError("a PyCOMPSs application must be a .py file", file)
    doc = _module_docstring(file)
    if inputs is None and arguments is None:
        parsed = parse_argparse_inputs(file.read_text(encoding="utf-8"))  # (it parsed above)
        if parsed is not None:
            inputs, arguments = parsed.inputs, parsed.arguments
    input_list = _normalise_inputs(inputs)
    unknown = set(step_options) - _STEP_KEYS
    if unknown:
        raise WorkflowImportError(f"unknown step option(s): {', '.join(sorted(unknown))}", file)
    if arguments is None:
        arguments = ["${" + str(i["name"]) + "}" for i in input_list]
    step_name = name_from(file.stem)
    return workflow_from_spec({
        "name": name or step_name, "version": version,
        "description": description if description is not None else doc,
        "inputs": input_list,
        "steps": [{"name": step_name, "application": str(file.resolve()),
                   "arguments": list(arguments), **step_options}],
        "software": software or SoftwareNeeds(),
    }, where=file, source={"kind": "python_file", "file": str(file.resolve())})


def _entry_point(folder: Path) -> Path:
    src = folder / "src"
    if not src.is_dir():
        raise WorkflowImportError("no src/ folder (a workflow folder holds its code in src/)",
                                  folder)
    candidates = sorted(p for p in src.glob("*.py") if p.name != "__init__.py")
    if len(candidates) == 1:
        return candidates[0]
    for preferred in (f"{folder.name}.py", "main.py", "app.py"):
        if (src / preferred).is_file():
            return src / preferred
    listed = ", ".join(p.name for p in candidates) or "none"
    raise WorkflowImportError(
        f"cannot tell which file in src/ is the application ({listed}); name it in "
        f"{DESCRIPTION_FILE} as 'application: src/<file>.py'", folder)


def workflow_from_folder(path: str | Path) -> Workflow:
    """A workflow from a folder with ``src/`` and optional description files.

    ``workflow.yaml`` may give ``name``, ``version``, ``description``, ``inputs`` and
    either ``steps`` or a single ``application`` (+ ``arguments`` and step options);
    without it the one ``.py`` file in ``src/`` is the application. ``eflows4hpc.yaml``
    gives the software. Application paths are relative to the folder (as on the
    cluster, where the folder is copied as-is).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise WorkflowImportError("no such folder", folder)
    folder = folder.resolve()
    description_file = folder / DESCRIPTION_FILE
    spec: dict[str, Any] = {}
    if description_file.is_file():
        loaded = load_yaml(description_file)
        if loaded is not None and not isinstance(loaded, dict):
            raise WorkflowImportError("expected a mapping (name, inputs, application...)",
                                      description_file)
        spec = dict(loaded or {})
    warnings: list[WorkflowWarning] = []
    software = SoftwareNeeds()
    if (folder / SOFTWARE_FILE).is_file():
        software, warnings = parse_software_file(folder / SOFTWARE_FILE)
    if "steps" not in spec:
        step = {k: spec.pop(k) for k in list(spec) if k in _STEP_KEYS and k != "name"}
        if "application" in step:
            inside = folder / str(step["application"])
            if not inside.is_file() or not is_under(inside, folder):
                raise WorkflowImportError(
                    f"application '{step['application']}' does not exist in the folder",
                    description_file)
        else:
            step["application"] = str(_entry_point(folder).relative_to(folder))
        application = Path(str(step["application"]))
        _module_docstring(folder / application)  # a syntax error is reported now
        if "arguments" not in step:
            step["arguments"] = ["${" + str(i["name"]) + "}"
                                 for i in _normalise_inputs(spec.get("inputs"))]
        step["name"] = name_from(application.stem)
        spec["steps"] = [step]
    spec.setdefault("name", name_from(folder.name))
    spec.setdefault("software", software.model_dump())
    spec.setdefault("warnings", [w.model_dump() for w in warnings])
    return workflow_from_spec(spec, where=description_file if description_file.is_file()
                              else folder, source={"kind": "folder", "folder": str(folder)})
