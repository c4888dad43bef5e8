"""Who a request acts as: the hub's user model when JupyterHub sent one, else the local one."""

from __future__ import annotations

from jupyter_server.auth.identity import User

from eflows_extension.identity import caller_of
from eflows_kernel.services.workflows.access import Caller

LOCAL = Caller.of("owner", ["staff"])


class HubUser(User):  # jupyterhub.singleuser.extension.JupyterHubUser's shape
    def __init__(self, hub_user: dict) -> None:
        self.hub_user = hub_user
        super().__init__(username=hub_user["name"])


def test_the_hub_user_and_groups() -> None:
    caller = caller_of(HubUser({"name": "alice", "groups": ["climate", "hpc"]}), LOCAL)
    assert caller == Caller.of("alice", ["climate", "hpc"])


def test_a_hub_model_without_groups_grants_by_name_only() -> None:
    assert caller_of(HubUser({"name": "alice"}), LOCAL) == Caller.of("alice")


def test_no_hub_identity_is_the_local_one() -> None:
    assert caller_of(User(username="a7e92875edd6"), LOCAL) is LOCAL  # jupyter's anonymous
    assert caller_of(None, LOCAL) is LOCAL
