"""ConnectSiteWidget: the guided first connection in three clicks, each failure in place.

Records are real (LocalClient); the SSH side answers like a site would (the real sshd
journey is tests/browser/test_connect_journey.py).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eflows_kernel.client import LocalClient
from eflows_kernel.services.hpc.ssh import HostKey, SiteUnreachable
from eflows_kernel.services.sites import CheckReport
from eflows_kernel.ui.connect import NEW_KEY, ConnectSiteWidget

KEY = HostKey.from_line(Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())


class _Site:
    """A site: reachable or not, presenting KEY, accepting a key once authorized."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.reachable = True
        self.authorized: set[str] = set()
        self.passwords: list[str | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def scan(self, site: str) -> HostKey:
        if not self.reachable:
            raise SiteUnreachable("cannot reach hpc.example.org:22: timed out")
        return KEY

    def trust(self, site: str, fingerprint: str) -> Any:
        assert fingerprint == KEY.fingerprint
        self.real._service.repository.update(self.real.get(site).id, host_key=KEY.to_dict())
        return self.real.get(site)

    def check(self, site: str, credential_id: str) -> CheckReport:
        if credential_id in self.authorized:
            return CheckReport(reachable=True, host_key="ok", authenticated=True,
                               scheduler=True, python=True)
        return CheckReport(reachable=True, host_key="ok", authenticated=False,
                           problems={"authenticated": "the key is not authorized"})

    def authorize(self, site: str, credential_id: str, password: str | None = None,
                  otp: str | None = None) -> dict[str, Any]:
        self.passwords.append(password)
        self.authorized.add(credential_id)
        return {"added": True}


def _widget(client: LocalClient, monkeypatch: Any) -> tuple[ConnectSiteWidget, _Site]:
    fake = _Site(client.sites)
    monkeypatch.setattr(client, "sites", fake)
    widget = ConnectSiteWidget(client)
    for key, value in {"name": "hpc", "host": "hpc.example.org", "login": "alice"}.items():
        widget.fields[key].value = value
    return widget, fake


def test_three_clicks_from_nothing_to_a_ready_site(client: LocalClient,
                                                   monkeypatch: Any) -> None:
    widget, fake = _widget(client, monkeypatch)
    assert widget.credential_choice.value == NEW_KEY  # nothing in the vault yet
    assert widget.key_box.layout.display == "none"
    assert widget.connect() == KEY  # click 1
    assert [c.name for c in client.credentials.list()] == ["hpc-key"]
    assert client.sites.get("hpc").host_key is None  # scanning trusted nothing
    assert KEY.fingerprint in widget.host_key.value and "ssh-keyscan" in widget.host_key.value
    report = widget.trust()  # click 2
    assert report is not None and not report.authenticated
    assert widget.auth_box.layout.display != "none"
    widget.password.value = "s3cret"
    report = widget.authorize()  # click 3
    assert report is not None and report.ok
    assert fake.passwords == ["s3cret"] and widget.password.value == ""
    assert "The site is ready" in widget.result.value and "s3cret" not in widget.result.value
    assert "✔" in widget.titles[2].value


def test_an_already_authorized_key_needs_two_clicks(client: LocalClient,
                                                    monkeypatch: Any) -> None:
    widget, fake = _widget(client, monkeypatch)
    key = client.credentials.generate("mine")
    fake.authorized.add(key.id)
    widget.refresh()
    assert widget.credential_choice.value == key.id  # the only key is preselected
    assert widget.key_name.layout.display == "none"  # no new key to name...
    assert all(w.layout.display != "none" for w in widget.fields.values())  # ...the rest shows
    assert widget.password.layout.display != "none"
    widget.connect()
    report = widget.trust()
    assert report is not None and report.ok and widget.auth_box.layout.display == "none"
    assert [c.name for c in client.credentials.list()] == ["mine"]


def test_failures_are_explained_at_their_step(client: LocalClient, monkeypatch: Any) -> None:
    widget, fake = _widget(client, monkeypatch)
    widget.fields["host"].value = ""
    assert widget.connect() is None
    assert "Host" in widget.messages[0].text and client.sites.list() == []
    widget.fields["host"].value = "hpc.example.org"
    fake.reachable = False
    assert widget.connect() is None
    assert "timed out" in widget.messages[1].text and "Connect again" in widget.messages[1].text
    assert widget.messages[0].kind != "error"  # step 1 went fine: the key and site exist
    fake.reachable = True
    assert widget.connect() == KEY  # the same site is reused, not added twice
    assert len(client.sites.list()) == 1 and len(client.credentials.list()) == 1
    widget.trust()
    assert widget.authorize() is None and "password" in widget.messages[2].text
    widget.fields["host"].value = "elsewhere.example.org"
    assert widget.connect() is None and "already exists" in widget.messages[0].text
