"""Standard-library backports in a workflow's pip list, kept to the Pythons that need them.

Registry ``eflows4hpc.yaml`` files were written for images built on older Pythons and
list backports such as ``pickle5`` or ``contextvars``. On the Python 3.10+ a site runs
here these are in the standard library, and ``pickle5`` does not even build: the whole
environment would fail for a package nothing imports from pip. Each such requirement
gets the environment marker its own project documents (``python_version < "3.8"``), so
pip itself skips it on a newer interpreter and installs it on an older one, the
wheelhouse download (which evaluates markers for the site's version) included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# distribution -> the first Python whose standard library has what it backports
STDLIB_SINCE: dict[str, str] = {
    "argparse": "3.2",
    "asyncio": "3.4",
    "contextvars": "3.7",
    "dataclasses": "3.7",
    "enum34": "3.4",
    "futures": "3.2",
    "ipaddress": "3.3",
    "pathlib": "3.4",
    "pickle5": "3.8",
    "statistics": "3.4",
    "subprocess32": "3.2",
    "typing": "3.5",
}


@dataclass(frozen=True)
class MarkedRequirements:
    requirements: list[str]
    backports: list[str]  # the names given a marker, for the run's notes


def mark_backports(requirements: Sequence[str]) -> MarkedRequirements:
    """``requirements`` with each known backport limited to the Pythons that lack it.

    A requirement that already has a marker, or that pip's grammar does not parse (pip
    will say what is wrong with it), is passed as written.
    """
    marked: list[str] = []
    backports: list[str] = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            marked.append(text)
            continue
        since = STDLIB_SINCE.get(canonicalize_name(requirement.name))
        if since is None or requirement.marker is not None or requirement.url:
            marked.append(text)
            continue
        marked.append(f'{text}; python_version < "{since}"')
        backports.append(f"{requirement.name} (in the standard library since Python {since})")
    return MarkedRequirements(marked, backports)
