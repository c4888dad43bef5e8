"""Standard-library backports in a registry pip list are kept to the Pythons lacking them."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from eflows_kernel.services.deploy.backports import mark_backports


def test_a_backport_is_installed_only_below_the_python_that_has_it() -> None:
    """Caelestis_DT's ``training/eflows4hpc.yaml``: pickle5 does not build on 3.11."""
    marked = mark_backports(["pillow", "rocrate", "pickle5", "contextvars"])
    assert marked.requirements[:2] == ["pillow", "rocrate"]
    pickle5, contextvars = (Requirement(r) for r in marked.requirements[2:])
    assert pickle5.name == "pickle5" and contextvars.name == "contextvars"
    for requirement, since in ((pickle5, "3.8"), (contextvars, "3.7")):
        older, newer = f"{since[0]}.{int(since[2]) - 1}", since
        assert requirement.marker.evaluate({"python_version": older})
        assert not requirement.marker.evaluate({"python_version": newer})
        assert not requirement.marker.evaluate({"python_version": "3.11"})
    assert [b.split()[0] for b in marked.backports] == ["pickle5", "contextvars"]
    assert "since Python 3.8" in marked.backports[0]


@pytest.mark.parametrize("written", [
    'pickle5; python_version < "3.6"',  # the author's own marker wins
    "numpy==1.26",
    "Pickle_5",  # not a backport's name (pickle-5 is another project)
    "not a requirement ===",  # pip will say what is wrong with it
])
def test_other_requirements_are_passed_as_written(written: str) -> None:
    assert mark_backports([written]).requirements == [written]
    assert mark_backports([written]).backports == []


def test_a_backport_with_a_version_or_extras_keeps_them() -> None:
    (text,) = mark_backports(["Pickle5==0.0.11"]).requirements
    requirement = Requirement(text)
    assert str(requirement.specifier) == "==0.0.11"
    assert not requirement.marker.evaluate({"python_version": "3.10"})
