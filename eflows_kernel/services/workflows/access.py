"""Who may see and trigger a published workflow: hub users and hub groups.

HPCWaaS tags a workflow with ``hpcwaas-authorized-users`` (a comma-separated list);
a workflow without the tag is open to every user. A centre running JupyterHub has
groups as well, so a grant here names users, groups, or both. The decision is pure
(no HTTP, no database): the caller's identity comes from whoever asks (the server's
identity provider, or the configured local identity), the grants from the operator.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.services.errors import ValidationError

HPCWAAS_USERS_TAG = "hpcwaas-authorized-users"  # HPCWaaS' own spelling of a user list


@dataclass(frozen=True)
class Caller:
    """The identity a request acts as: a hub user and the hub groups it belongs to."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, name: str, groups: Iterable[str] = ()) -> Caller:
        return cls(str(name), frozenset(str(g) for g in groups))


@dataclass(frozen=True)
class AccessList:
    """Users and groups granted one workflow; both empty means every user (as HPCWaaS)."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @property
    def everyone(self) -> bool:
        return not self.users and not self.groups

    def allows(self, caller: Caller) -> bool:
        return self.everyone or caller.name in self.users or bool(self.groups & caller.groups)

    def to_dict(self) -> dict[str, Any]:
        return {"users": sorted(self.users), "groups": sorted(self.groups)}


def _names(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):  # HPCWaaS writes "alice,bob"
        value = [part for part in value.split(",")]
    if not isinstance(value, list | tuple | set | frozenset) or \
            not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{where}: must be a list of names or a comma-separated string")
    return frozenset(v.strip() for v in value if v.strip())


def access_list(entry: Mapping[str, Any], where: str) -> AccessList:
    """One grant as an operator writes it: ``{"users": [...], "groups": [...]}``, or
    HPCWaaS' ``{"hpcwaas-authorized-users": "alice,bob"}``."""
    if not isinstance(entry, Mapping):
        raise ValidationError(f"{where}: must be a mapping with 'users' and/or 'groups'")
    unknown = set(entry) - {"users", "groups", HPCWAAS_USERS_TAG}
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) {sorted(unknown)}; use 'users' and "
                              "'groups'")
    users = _names(entry.get("users"), f"{where}.users") | \
        _names(entry.get(HPCWAAS_USERS_TAG), f"{where}.{HPCWAAS_USERS_TAG}")
    groups = _names(entry.get("groups"), f"{where}.groups")
    if not users and not groups and entry:
        raise ValidationError(f"{where}: grants nobody (an empty list); leave the workflow "
                              "out to open it to every user, or name users or groups")
    return AccessList(users, groups)


class AccessPolicy:
    """The operator's grants, by workflow name or shell-style pattern (``Pillar_III.*``).

    The first pattern (in the operator's order) matching a workflow's name decides; a
    workflow no pattern matches is open to every user, as an untagged HPCWaaS workflow.
    """

    def __init__(self, grants: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if grants is not None and not isinstance(grants, Mapping):
            raise ValidationError("catalogue access: must map workflow names to grants")
        self.grants = [(str(pattern), access_list(entry, f"catalogue access {pattern!r}"))
                       for pattern, entry in (grants or {}).items()]

    @staticmethod
    def matches(pattern: str, name: str) -> bool:
        return name == pattern or fnmatch.fnmatchcase(name, pattern)

    def patterns(self) -> list[str]:
        return [pattern for pattern, _grant in self.grants]

    def for_workflow(self, name: str) -> AccessList:
        for pattern, grant in self.grants:
            if self.matches(pattern, name):
                return grant
        return AccessList()

    def allows(self, caller: Caller, name: str) -> bool:
        return self.for_workflow(name).allows(caller)


__all__ = ["HPCWAAS_USERS_TAG", "AccessList", "AccessPolicy", "Caller", "access_list"]
