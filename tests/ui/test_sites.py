"""SitesWidget: add/edit/delete on a real store; scan, trust and check through a fake
site service (no SSH server: the shared sshd is another test suite's)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eflows_kernel.client import LocalClient
from eflows_kernel.services.hpc.ssh import HostKey, SiteUnreachable
from eflows_kernel.services.sites import CheckReport, FingerprintMismatch
from eflows_kernel.ui.sites import SitesWidget, check_items

KEY = HostKey.from_line(Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())


def _fill(widget: SitesWidget, **values: Any) -> None:
    for key, value in values.items():
        widget.form[key].value = value


def test_add_edit_delete_a_site(client: LocalClient) -> None:
    widget = SitesWidget(client)
    _fill(widget, name="hpc", host="hpc.example.org", login="alice", partition="main")
    site = widget.save()
    assert site is not None, widget.message.text
    assert client.sites.get("hpc").config.partition == "main"
    assert widget.listing.value == "hpc" and widget.save_button.description == "Save changes"
    assert "not trusted" in widget.summary.value and not widget.scan_button.disabled
    _fill(widget, port=2222, partition="")
    widget.save()
    stored = client.sites.get("hpc").config
    assert stored.port == 2222 and stored.partition is None
    widget.delete()
    assert client.sites.list() == [] and widget.listing.options == ()


def test_invalid_site_is_refused_visibly(client: LocalClient) -> None:
    widget = SitesWidget(client)
    _fill(widget, name="bad name", host="h", login="me")
    assert widget.save() is None
    assert widget.message.kind == "error" and "name" in widget.message.text
    assert client.sites.list() == []


class _FakeSites:
    """The real LocalSites for records; scan/trust/check answer like a site would."""

    def __init__(self, real: Any, report: CheckReport | None = None) -> None:
        self.real, self.report = real, report
        self.trusted: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def scan(self, site: str) -> HostKey:
        return KEY

    def trust(self, site: str, fingerprint: str) -> Any:
        if fingerprint != KEY.fingerprint:
            raise FingerprintMismatch("presents another key; nothing was trusted")
        self.trusted.append(fingerprint)
        self.real._service.repository.update(self.real.get(site).id, host_key=KEY.to_dict())
        return self.real.get(site)

    def check(self, site: str, credential_id: str) -> CheckReport:
        if self.report is None:
            raise SiteUnreachable("cannot reach hpc.example.org:22: timed out")
        return self.report


def _site_widget(client: LocalClient, monkeypatch: Any,
                 report: CheckReport | None = None) -> tuple[SitesWidget, _FakeSites]:
    fake = _FakeSites(client.sites, report)
    monkeypatch.setattr(client, "sites", fake)
    client.credentials.generate("key")
    client.sites.add({"name": "hpc", "host": "hpc.example.org", "login": "alice"})
    widget = SitesWidget(client)
    widget.listing.value = "hpc"
    return widget, fake


def test_scan_shows_the_fingerprint_and_trust_is_explicit(client: LocalClient,
                                                          monkeypatch: Any) -> None:
    widget, fake = _site_widget(client, monkeypatch)
    assert widget.trust_button.layout.display == "none"
    assert widget.scan() == KEY
    assert KEY.fingerprint in widget.fingerprint.value
    assert widget.trust_button.layout.display != "none"
    assert fake.trusted == []  # scanning trusts nothing
    widget.trust()
    assert fake.trusted == [KEY.fingerprint], widget.message.text
    assert client.sites.get("hpc").host_key.fingerprint == KEY.fingerprint
    assert KEY.fingerprint in widget.summary.value
    assert widget.trust_button.layout.display == "none"
    widget.scan()
    assert "already trusted" in widget.fingerprint.value


def test_check_lists_each_problem(client: LocalClient, monkeypatch: Any) -> None:
    report = CheckReport(reachable=True, host_key="ok", authenticated=True, scheduler=False,
                         python=False, problems={
                             "scheduler": "`sbatch` is not on the login's PATH",
                             "python": "`python3` (Python 3.10 or newer) was not found"})
    widget, _fake = _site_widget(client, monkeypatch, report)
    assert widget.check() is report
    html = widget.check_result.value
    assert "2 problem(s)" in html and "sbatch" in html and "Python 3.10" in html
    assert [status for _l, status, _m in check_items(report)] == [
        "ok", "ok", "ok", "problem", "problem"]


def test_check_with_host_key_changed_and_unreachable(client: LocalClient,
                                                     monkeypatch: Any) -> None:
    changed = CheckReport(reachable=True, host_key="changed", problems={
        "host_key": "the host key of hpc:22 has changed"})
    widget, fake = _site_widget(client, monkeypatch, changed)
    widget.check()
    assert [s for _l, s, _m in check_items(changed)] == [
        "ok", "problem", "not tried", "not tried", "not tried"]
    assert "has changed" in widget.check_result.value
    fake.report = None
    assert widget.check() is None
    assert widget.message.kind == "error" and "timed out" in widget.message.text


def test_a_changed_key_shows_both_fingerprints_and_needs_a_second_confirmation(
        client: LocalClient, monkeypatch: Any) -> None:
    widget, fake = _site_widget(client, monkeypatch)
    old = HostKey.from_line(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())
    client.sites.real._service.repository.update(client.sites.get("hpc").id,
                                                 host_key=old.to_dict())
    widget.show("hpc")
    widget.scan()
    html = widget.fingerprint.value
    assert "CHANGED" in html and old.fingerprint in html and KEY.fingerprint in html
    assert "not trusted yet" not in html and "ssh-keyscan" in html
    assert widget.trust() is None and fake.trusted == []  # first click: asked again
    assert widget.confirm_change_button.layout.display != "none"
    assert widget.trust_button.layout.display == "none"
    assert widget.trust(confirmed=True) is not None
    assert fake.trusted == [KEY.fingerprint]
    assert client.sites.get("hpc").host_key.fingerprint == KEY.fingerprint


def test_editing_host_or_port_of_a_trusted_site_says_the_key_must_be_verified_again(
        client: LocalClient, monkeypatch: Any) -> None:
    widget, _fake = _site_widget(client, monkeypatch)
    widget.scan()
    widget.trust()
    assert widget.moved_note.value == ""
    widget.form["port"].value = 2222
    assert "verified" in widget.moved_note.value
    widget.form["port"].value = 22
    assert widget.moved_note.value == ""
    widget.form["host"].value = "other.example.org"
    assert "verified" in widget.moved_note.value
    widget.save()
    assert "not trusted yet" in widget.summary.value and widget.moved_note.value == ""


def test_a_centre_site_is_shown_read_only_and_an_own_one_stays_editable(
        tmp_path: Any) -> None:
    """The operator's site is labelled and its form locked (the service would answer 403
    to a save, delete or new host key); Check stays, and a new own site is editable."""
    centre = {"name": "marenostrum", "host": "login.example.org", "host_key": KEY.line,
              "login": "alice_hpc", "partition": "batch"}
    client = LocalClient(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                         vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                         workers=1, operator_sites=(centre,))
    try:
        widget = SitesWidget(client)
        assert ("marenostrum (centre, read-only)", "marenostrum") in widget.listing.options
        widget.listing.value = "marenostrum"
        assert "read-only" in widget.summary.value and KEY.fingerprint in widget.summary.value
        locked = [widget.save_button, widget.delete_button, widget.scan_button,
                  *widget.form.values()]
        assert all(w.disabled for w in locked), [w.description for w in locked
                                                 if not w.disabled]
        assert not widget.check_button.disabled and not widget.new_button.disabled
        widget.new()
        assert not any(w.disabled for w in (widget.save_button, *widget.form.values()))
        _fill(widget, name="mine", host="my.cluster.org", login="me")
        assert widget.save() is not None, widget.message.text
        assert not widget.save_button.disabled and not widget.delete_button.disabled
        assert not widget.form["host"].disabled
    finally:
        client.close()
