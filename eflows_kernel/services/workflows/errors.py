"""Errors of the workflow registry, each one naming what is wrong and where."""

from __future__ import annotations

from pathlib import Path


class WorkflowImportError(ValueError):
    """A workflow (folder, TOSCA topology, Python file or spec) cannot be imported.

    Carries the offending ``path`` (if any) so a UI can point at the file.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path else message)
        self.message = message


class InputValidationError(ValueError):
    """Workflow inputs given by a user do not fit the declaration.

    ``errors`` maps each faulty input name to one message, so a form can show
    every problem at once instead of one per submission.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        lines = "; ".join(self.errors[k] for k in sorted(self.errors))
        super().__init__(f"invalid workflow inputs: {lines}")


class ArgumentRenderError(ValueError):
    """A ``${name}`` reference in an argument template has no value."""

    def __init__(self, name: str, template: str) -> None:
        self.name = name
        self.template = template
        super().__init__(f"unknown reference '${{{name}}}' in {template!r}: "
                         f"no input named '{name}'")
