"""A step that ended well but did not write one of its declared outputs failed.

Why check at the step's own end: a later step reads the output by
``${steps.<s>.outputs.<o>}``, maybe on another site through a copy. Found missing only
there, it looks like the later step's fault, or a copy of nothing; found here, the step
that should have written it fails naming the output and its path, and the graph cancels
what waits for it as for any failed step. Both executors (this host's subprocesses,
``local.py``; a site's jobs, ``deploy/finish.py``) ask their own files; the answer is said
one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from eflows_kernel.services.workflows.model import Step
from eflows_kernel.services.workflows.step_outputs import output_path


def declared_paths(step: Step, run_dir: str) -> dict[str, str]:
    """Each declared output of ``step`` (its templates filled) -> its path on its site."""
    return {name: output_path(run_dir, relative) for name, relative in step.outputs.items()}


def missing_outputs(step: Step, run_dir: str, site: str,
                    missing: Callable[[list[str]], Iterable[str]]) -> str | None:
    """Why the step failed although its application ended well: the declared outputs
    ``missing`` (paths -> those not there) does not find, or None when all are there."""
    paths = declared_paths(step, run_dir)
    if not paths:
        return None
    gone = set(missing(list(paths.values())))
    absent = {name: path for name, path in paths.items() if path in gone}
    return missing_message(step.name, site, absent) if absent else None


def missing_message(step: str, site: str, absent: Mapping[str, str]) -> str:
    """The error of a step that did not write the declared outputs ``absent``."""
    named = "; ".join(f"{name!r} ({path})" for name, path in absent.items())
    what = "output" if len(absent) == 1 else "outputs"
    return (f"step {step!r} ended but did not write its declared {what} {named} on site "
            f"{site!r}: the steps that read it cannot run")


__all__ = ["declared_paths", "missing_message", "missing_outputs"]
