"""Sites without sshd: config validation, repository, service bookkeeping, 2FA prompts.

The keyboard-interactive path (password + one-time code) cannot be exercised on the test
sshd (UsePAM no), so a small in-process paramiko server asks those prompts here.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.sites import (
    InMemorySiteRepository,
    SiteConfig,
    SiteError,
    SiteExists,
    SiteNotFound,
    SiteService,
)

SECRET = "Pa55-never-shown"
CODE = "424242"


@pytest.fixture(params=["memory", "sql"])
def sites(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SiteService]:
    """The service over the in-memory repository and over the SQL one (site_store)."""
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))
    if request.param == "memory":
        yield SiteService(InMemorySiteRepository(), vault, timeout=5)
        return
    from eflows_kernel.services.sites.store import SiteStore
    from eflows_kernel.services.state import StateStore

    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        yield SiteService(SiteStore(state), vault, timeout=5)


def config(**changes: object) -> dict[str, object]:
    return {"name": "mn5", "host": "glogin1.bsc.es", "login": "bsc00001", **changes}


# ---- config and bookkeeping ---------------------------------------------------------------

def test_defaults() -> None:
    site = SiteConfig.model_validate(config())
    assert (site.port, site.scheduler, site.workdir) == (22, "slurm", "~/eflows")
    assert (site.python.mode, site.python.path) == ("bootstrap", "python3")


@pytest.mark.parametrize("bad", [
    {"name": "a b"}, {"name": ""}, {"port": 0}, {"port": 70000}, {"login": "-x"},
    {"scheduler": "pbs"}, {"partition": "gpp; rm -rf ~"}, {"python": {"mode": "conda"}},
    {"python": {"path": "python3 -c evil"}}, {"host": "a b"}, {"unknown": 1},
])
def test_invalid_configs_are_refused(sites: SiteService, bad: dict[str, object]) -> None:
    with pytest.raises(SiteError):
        sites.add(config(**bad))


def test_add_get_list_update_delete(sites: SiteService) -> None:
    site = sites.add(config(partition="gpp", qos="gp_debug", account="bsc99"))
    assert sites.get(site.id) == site == sites.get_by_name("mn5")
    assert [s.id for s in sites.list()] == [site.id]
    assert site.to_dict()["host_key"] is None and site.to_dict()["partition"] == "gpp"
    with pytest.raises(SiteExists):
        sites.add(config())
    with pytest.raises(SiteError, match="renamed"):
        sites.update(site.id, config(name="mn5-acc"))
    changed = sites.update(site.id, config(partition="acc", scheduler="none"))
    assert sites.get_by_name("mn5").config.partition == "acc" == changed.config.partition
    with pytest.raises(SiteNotFound):
        sites.get_by_name("lumi")
    sites.delete(site.id)
    with pytest.raises(SiteNotFound):
        sites.get(site.id)
    with pytest.raises(SiteNotFound):
        sites.delete(site.id)


def test_host_key_survives_config_change_but_not_a_move(sites: SiteService) -> None:
    site = sites.add(config())
    key = ssh.HostKey.from_pkey(paramiko.Ed25519Key.from_private_key(_ed25519_text()))
    sites.repository.update(site.id, host_key=key.to_dict())
    assert sites.update(site.id, config(qos="debug")).host_key == key
    assert sites.update(site.id, config(qos="debug", port=2222)).host_key is None


def test_errors_carry_http_status(sites: SiteService) -> None:
    with pytest.raises(SiteNotFound) as missing:
        sites.get("nope")
    assert missing.value.status == 404
    assert SiteExists("x").status == 409 and SiteError("x").status == 400
    assert ssh.SiteUnreachable("x").status == 502 and ssh.HostKeyNotTrusted("x").status == 409


def test_stored_host_key_fingerprint_is_recomputed() -> None:
    key = paramiko.Ed25519Key.from_private_key(_ed25519_text())
    real = ssh.HostKey.from_pkey(key)
    forged = ssh.HostKey.from_dict(real.to_dict() | {"fingerprint": "SHA256:forged"})
    assert forged.fingerprint == real.fingerprint
    assert ssh.HostKey.from_line(real.line) == real


def test_interactive_answers_route_prompts() -> None:
    codes: list[str] = []

    def otp(prompt: str) -> str:
        codes.append(prompt)
        return CODE

    answers = ssh.interactive_answers(SECRET, otp, [("Password: ", False),
                                                    ("Verification code: ", True)])
    assert answers == [SECRET, CODE] and codes == ["Verification code: "]
    with pytest.raises(ssh.AuthenticationFailed, match="one-time code"):
        ssh.interactive_answers(None, None, [("Verification code: ", True)])


def test_authorize_needs_a_password_or_code(sites: SiteService) -> None:
    site = sites.add(config())
    with pytest.raises(SiteError, match="password"):
        sites.authorize(site.id, sites.vault.generate("k").id)


# ---- keyboard-interactive against an in-process server ------------------------------------

def _ed25519_text() -> object:
    import io

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    return io.StringIO(key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH,
                                         ser.NoEncryption()).decode())


class _TwoFactorServer(paramiko.ServerInterface):
    """Asks "Password:" and "Verification code:" in one keyboard-interactive round."""

    def get_allowed_auths(self, username: str) -> str:
        return "keyboard-interactive"

    def check_auth_interactive(self, username: str, submethods: str) -> paramiko.InteractiveQuery:
        return paramiko.InteractiveQuery("", "", ("Password: ", False),
                                         ("Verification code: ", True))

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        ok = list(responses) == [SECRET, CODE]
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED


@pytest.fixture
def two_factor_server() -> Iterator[tuple[int, paramiko.PKey]]:
    host_key = paramiko.Ed25519Key.from_private_key(_ed25519_text())
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            transports.append(transport)
            try:
                transport.start_server(server=_TwoFactorServer())
            except Exception:
                continue  # scan does) must not stop the server serving the next one

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, host_key
    listener.close()
    for transport in transports:
        transport.close()


def test_password_and_one_time_code(two_factor_server: tuple[int, paramiko.PKey]) -> None:
    port, host_key = two_factor_server
    pinned = ssh.fetch_host_key("127.0.0.1", port, 5)
    assert pinned == ssh.HostKey.from_pkey(host_key)
    client = ssh.connect("127.0.0.1", port, "someone", pinned, password=SECRET,
                         otp=lambda prompt: CODE, timeout=5)
    assert client.get_transport().is_authenticated()
    client.close()
    with pytest.raises(ssh.AuthenticationFailed) as caught:
        ssh.connect("127.0.0.1", port, "someone", pinned, password=SECRET,
                    otp=lambda prompt: "000000", timeout=5)
    assert SECRET not in str(caught.value) and "000000" not in str(caught.value)


@pytest.mark.parametrize("workdir", ["~bob/runs", "~root"])
def test_workdir_in_another_users_home_is_refused(workdir: str) -> None:
    with pytest.raises(ValueError, match="not ~otheruser"):
        SiteConfig(name="s", host="h", login="me", workdir=workdir)
    for fine in ("~", "~/eflows", "/scratch/me", "runs"):
        assert SiteConfig(name="s", host="h", login="me", workdir=fine).workdir == fine
