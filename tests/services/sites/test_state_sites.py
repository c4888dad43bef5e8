"""Site records in the state database (SiteStore)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import StateStore


def test_site_crud(tmp_path: Path) -> None:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        sites = SiteStore(state)
        added = sites.add("mn5", {"host": "glogin1.bsc.es", "user": "me", "port": 22})
        assert added["host_key"] is None
        assert sites.get(added["id"]) == added
        assert sites.get_by_name("mn5") == added
        with pytest.raises(ConflictError):
            sites.add("mn5", {})
        other = sites.add("local", {"host": "127.0.0.1"})
        assert [s["name"] for s in sites.list()] == ["local", "mn5"]

        key = {"type": "ssh-ed25519", "key": "AAAA", "fingerprint": "SHA256:x"}
        updated = sites.update(added["id"], host_key=key)
        assert updated["host_key"] == key
        assert updated["config"] == added["config"]
        assert updated["updated_at"] >= added["updated_at"]
        updated = sites.update(added["id"], config={"host": "other"})
        assert (updated["config"], updated["host_key"]) == ({"host": "other"}, key)
        assert sites.update(added["id"], host_key=None)["host_key"] is None

        sites.delete(other["id"])
        for call in (sites.get, sites.delete, lambda i: sites.update(i, config={})):
            with pytest.raises(NotFoundError):
                call(other["id"])
        with pytest.raises(NotFoundError):
            sites.get_by_name("local")
        for bad in (("", {}), ("x", ["not", "a", "dict"])):
            with pytest.raises(ValidationError):
                sites.add(*bad)
        with pytest.raises(ValidationError):
            sites.update(added["id"], host_key="AAAA")  # type: ignore[arg-type]
