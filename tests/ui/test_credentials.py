"""CredentialsWidget on a real vault: generate, import, show, delete; secrets never kept."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.credentials import CredentialsWidget, authorized_keys_line


def _private_key(passphrase: bytes | None) -> str:
    encryption: Any = (serialization.BestAvailableEncryption(passphrase) if passphrase
                       else serialization.NoEncryption())
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption).decode()


def test_generate_lists_the_key_with_its_fingerprint(client: LocalClient) -> None:
    widget = CredentialsWidget(client)
    widget.gen_name.value = "hpc"
    info = widget.generate()
    assert info is not None and widget.message.kind == "info"
    labels = [label for label, _id in widget.listing.options]
    assert any("hpc" in label and info.fingerprint in label for label in labels)
    assert widget.listing.value == info.id
    assert widget.public_key.value == info.public_key
    line = widget.authorized_line.value
    assert line == client.vault.authorized_keys_line(info.id)  # as the vault writes it
    assert line == authorized_keys_line(info)
    assert "navigator.clipboard.writeText" in widget.copy_line.value
    assert not widget.delete_button.disabled


def test_generate_needs_a_name_and_refuses_bad_types(client: LocalClient) -> None:
    widget = CredentialsWidget(client)
    assert widget.generate() is None and widget.message.kind == "error"
    assert client.credentials.list() == []


def test_import_clears_the_secret_fields_on_success(client: LocalClient) -> None:
    widget = CredentialsWidget(client)
    widget.imp_name.value = "imported"
    widget.imp_key.value = _private_key(b"s3cret-phrase")
    widget.imp_passphrase.value = "s3cret-phrase"
    info = widget.import_key()
    assert info is not None, widget.message.text
    assert widget.imp_key.value == "" and widget.imp_passphrase.value == ""
    assert [c.id for c in client.credentials.list()] == [info.id]
    assert widget.listing.value == info.id


def test_import_failure_clears_secrets_and_never_echoes_them(client: LocalClient) -> None:
    widget = CredentialsWidget(client)
    key = _private_key(b"right-phrase")
    widget.imp_name.value = "bad"
    widget.imp_key.value = key
    widget.imp_passphrase.value = "wrong-phrase"
    assert widget.import_key() is None
    assert widget.message.kind == "error" and widget.message.text
    assert "wrong-phrase" not in widget.message.text + widget.message.value
    assert all(line not in widget.message.value for line in key.splitlines()[1:-1])
    assert widget.imp_key.value == "" and widget.imp_passphrase.value == ""
    assert client.credentials.list() == []


def test_delete(client: LocalClient) -> None:
    widget = CredentialsWidget(client)
    widget.gen_name.value = "gone"
    info = widget.generate()
    widget.delete()
    assert client.credentials.list() == [] and widget.listing.options == ()
    assert info is not None and widget.selected is None


class _FakeSites:
    """Records what authorize/revoke received, and fails like a site would."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self.fail = fail

    def list(self) -> list[Any]:
        return [type("S", (), {"name": "hpc"})()]

    def _call(self, action: str, site: str, credential_id: str, **kw: Any) -> dict[str, Any]:
        self.calls.append((action, site, credential_id, kw))
        if self.fail:
            from eflows_kernel.services.hpc.ssh import AuthenticationFailed

            raise AuthenticationFailed(f"login refused with password {kw.get('password')}")
        return {"added": True} if action == "authorize" else {"removed": True}

    def authorize(self, site: str, credential_id: str, **kw: Any) -> dict[str, Any]:
        return self._call("authorize", site, credential_id, **kw)

    def revoke(self, site: str, credential_id: str, **kw: Any) -> dict[str, Any]:
        return self._call("revoke", site, credential_id, **kw)


def test_authorize_passes_password_and_code_once_then_clears_them(
        client: LocalClient, monkeypatch: Any) -> None:
    fake = _FakeSites()
    monkeypatch.setattr(client, "sites", fake)
    widget = CredentialsWidget(client)
    widget.gen_name.value = "k"
    info = widget.generate()
    widget.site_picker.value = "hpc"
    widget.password.value, widget.otp.value = "pw-123456", "654321"
    assert widget.authorize() == {"added": True}
    assert fake.calls == [("authorize", "hpc", info.id,
                           {"password": "pw-123456", "otp": "654321"})]
    assert widget.password.value == "" and widget.otp.value == ""
    assert "authorized on hpc" in widget.message.text
    assert widget.revoke() == {"removed": True}  # with the key itself: no password
    assert fake.calls[-1][3] == {"password": None, "otp": None}
    assert widget.authorize() is None and "password" in widget.message.text


def test_authorize_error_is_shown_without_the_password(client: LocalClient,
                                                       monkeypatch: Any) -> None:
    monkeypatch.setattr(client, "sites", _FakeSites(fail=True))
    widget = CredentialsWidget(client)
    widget.gen_name.value = "k"
    widget.generate()
    widget.site_picker.value = "hpc"
    widget.password.value = "hunter2-long"
    assert widget.authorize() is None
    assert widget.message.kind == "error" and "login refused" in widget.message.text
    assert "hunter2-long" not in widget.message.text and widget.password.value == ""
