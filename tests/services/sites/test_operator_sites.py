"""The centre's sites (operator.py): pinned host keys, logins from the hub user, read-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from eflows_kernel.services.hpc.local_shell import local_login
from eflows_kernel.services.sites import InMemorySiteRepository, SiteError, SiteExists
from eflows_kernel.services.sites import SiteService as Sites
from eflows_kernel.services.sites.operator import (
    LayeredSiteRepository,
    SiteReadOnly,
    load_sites_files,
    operator_records,
)

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGp0+6Pt3P0eNqN8rEgYxQ8w9oPj3yO7M7m2hWlVf2m3"
CENTRE = {"name": "marenostrum", "host": "login.example.org", "host_key": HOST_KEY,
          "login_template": "{user}_hpc", "partition": "batch", "account": "proj42",
          "python": {"mode": "existing", "path": "/apps/eflows/bin/python"}}


def _sites(entries: list[dict], user: str = "alice") -> Sites:
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))
    return Sites(LayeredSiteRepository(operator_records(entries, user),
                                       InMemorySiteRepository()), vault)


def test_operator_sites_are_listed_pinned_and_read_only() -> None:
    sites = _sites([CENTRE, {"name": "here", "connection": "local"}])
    centre = sites.get_by_name("marenostrum")
    assert centre.operator and centre.config.login == "alice_hpc"  # from the hub user
    assert centre.host_key is not None and centre.host_key.line.startswith("ssh-ed25519 ")
    assert centre.config.partition == "batch" and centre.config.account == "proj42"
    assert sites.get(centre.id) == centre and centre.to_dict()["operator"] is True
    assert sites.get_by_name("here").config.login == local_login()
    for change in (lambda: sites.update(centre.id, {**centre.config.model_dump(),
                                                    "partition": "debug"}),
                   lambda: sites.delete(centre.id), lambda: sites.forget_host_key(centre.id)):
        with pytest.raises(SiteReadOnly, match="set by the centre's operator") as caught:
            change()
        assert caught.value.status == 403
    with pytest.raises(SiteExists, match="centre's operator"):
        sites.add({"name": "marenostrum", "host": "elsewhere", "login": "me"})
    own = sites.add({"name": "mine", "host": "my.cluster", "login": "me"})
    assert not own.operator
    assert [(s.name, s.operator) for s in sites.list()] == [
        ("marenostrum", True), ("here", True), ("mine", False)]
    sites.delete(own.id)  # the user's own sites stay theirs


def test_login_per_user_and_default() -> None:
    bob = _sites([CENTRE], user="bob").get_by_name("marenostrum")
    assert bob.config.login == "bob_hpc"
    plain = {k: v for k, v in CENTRE.items() if k != "login_template"}
    assert _sites([plain], user="bob").get_by_name("marenostrum").config.login == "bob"
    fixed = {**plain, "login": "shared"}
    assert _sites([fixed], user="bob").get_by_name("marenostrum").config.login == "shared"


@pytest.mark.parametrize(("entry", "message"), [
    ({**CENTRE, "host_key": None}, "needs its host_key pinned"),
    ({**CENTRE, "host_key": "ssh-ed25519 !!!"}, "host_key must be"),
    ({**CENTRE, "login_template": "{uid}"}, "may use {user} only"),
    ({**CENTRE, "partition": "a b"}, r"operator site #1 \(marenostrum\)"),
    ("marenostrum", "must be a mapping")])
def test_operator_mistakes_name_the_entry(entry: object, message: str) -> None:
    with pytest.raises(SiteError, match=message):
        operator_records([entry], "alice")  # type: ignore[list-item]


def test_two_operator_sites_with_one_name_are_refused() -> None:
    with pytest.raises(SiteError, match="two operator sites"):
        operator_records([CENTRE, CENTRE], "alice")


def test_sites_from_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        f"sites:\n  - name: marenostrum\n    host: login.example.org\n"
        f"    host_key: {HOST_KEY}\n    login_template: '{{user}}'\n")
    (tmp_path / "b.yaml").write_text("- name: here\n  connection: local\n")
    entries = load_sites_files([tmp_path / "a.yaml", tmp_path / "missing.yaml",
                                tmp_path / "b.yaml"])
    assert [e["name"] for e in entries] == ["marenostrum", "here"]
    assert operator_records(entries, "carol")[0]["config"]["login"] == "carol"
    (tmp_path / "bad.yaml").write_text("sites: {name: x}\n")
    with pytest.raises(SiteError, match=r"bad\.yaml"):
        load_sites_files([tmp_path / "bad.yaml"])
