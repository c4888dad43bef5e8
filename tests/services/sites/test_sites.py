"""Sites against the real sshd of tests/cluster: trust, connect, authorize, check, revoke."""

from __future__ import annotations

import logging
import shutil
import subprocess

import pytest

from eflows_kernel.services.credentials import CredentialVault
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.sites import FingerprintMismatch, Site, SiteService
from tests.plugins.cluster import SshdInfo, seed_authorized_keys


def keyscan_fingerprint(sshd: SshdInfo) -> str:
    scan = subprocess.run(["ssh-keyscan", "-p", str(sshd.port), sshd.host],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    listed = subprocess.run(["ssh-keygen", "-lf", "-"], input=scan, capture_output=True,
                            text=True, timeout=30, check=True).stdout
    return listed.split()[1]


def authorized(service: SiteService, vault: CredentialVault, site: Site,
               sshd: SshdInfo) -> str:
    credential = vault.generate("tester").id
    service.authorize(site.id, credential, password=sshd.password)
    return credential


def whoami(service: SiteService, site: Site, credential: str) -> str:
    with service.connect(site.id, credential) as client:
        status, out, _err = ssh.run(client, "whoami")
    assert status == 0
    return out.strip()


# ---- host key ---------------------------------------------------------------------------

def test_scan_shows_openssh_fingerprint_and_stores_nothing(service: SiteService, site: Site,
                                                           sshd: SshdInfo) -> None:
    key = service.scan(site.id)
    assert key.fingerprint == keyscan_fingerprint(sshd)
    assert key.type == "ssh-ed25519"
    assert service.get(site.id).host_key is None


def test_connect_before_trust_is_refused(service: SiteService, site: Site,
                                         sshd: SshdInfo) -> None:
    with pytest.raises(ssh.HostKeyNotTrusted, match="scan"):
        service.connect(site.id, password=sshd.password)


def test_trust_with_wrong_fingerprint_is_refused(service: SiteService, site: Site) -> None:
    wrong = "SHA256:" + "A" * 43
    with pytest.raises(FingerprintMismatch, match="nothing was trusted"):
        service.trust(site.id, wrong)
    assert service.get(site.id).host_key is None


def test_trust_pins_the_presented_key(service: SiteService, trusted_site: Site,
                                      sshd: SshdInfo) -> None:
    assert trusted_site.host_key is not None
    assert trusted_site.host_key.fingerprint == keyscan_fingerprint(sshd)


def test_moving_a_site_forgets_its_host_key(service: SiteService, trusted_site: Site) -> None:
    config = trusted_site.config.model_dump() | {"port": 2200}
    assert service.update(trusted_site.id, config).host_key is None


def test_changed_host_key_is_refused_with_both_fingerprints(
        service: SiteService, vault: CredentialVault, trusted_site: Site, sshd: SshdInfo,
        request: pytest.FixtureRequest) -> None:
    credential = authorized(service, vault, trusted_site, sshd)
    old = trusted_site.host_key
    assert old is not None
    request.getfixturevalue("rotated_host_key")
    new = keyscan_fingerprint(sshd)
    assert new != old.fingerprint
    with pytest.raises(ssh.HostKeyChangedError) as caught:
        service.connect(trusted_site.id, credential)
    message = str(caught.value)
    assert old.fingerprint in message and new in message
    assert "trust" in message
    report = service.check(trusted_site.id, credential)
    assert report.host_key == "changed" and report.authenticated is None
    assert new in report.problems["host_key"]
    # Scanning again and trusting explicitly is the way back.
    service.trust(trusted_site.id, service.scan(trusted_site.id).fingerprint)
    assert whoami(service, trusted_site, credential) == "eflows"


# ---- authorize / check / revoke -----------------------------------------------------------

@pytest.mark.parametrize(("kind", "bits"), [("ed25519", None), ("rsa", 2048)])
def test_authorize_then_key_only_login(service: SiteService, vault: CredentialVault,
                                       trusted_site: Site, sshd: SshdInfo, kind: str,
                                       bits: int | None) -> None:
    credential = vault.generate("tester", kind=kind, bits=bits).id
    assert service.authorize(trusted_site.id, credential, password=sshd.password) == {
        "added": True}
    assert whoami(service, trusted_site, credential) == "eflows"
    ssh_dir = sshd.home / ".ssh"
    assert (ssh_dir.stat().st_mode & 0o777) == 0o700
    assert ((ssh_dir / "authorized_keys").stat().st_mode & 0o777) == 0o600
    # ssh-copy-id semantics: a second time adds nothing.
    assert service.authorize(trusted_site.id, credential, password=sshd.password) == {
        "added": False}
    lines = (ssh_dir / "authorized_keys").read_text().splitlines()
    assert lines == [vault.authorized_keys_line(credential)]


def test_check_all_green(service: SiteService, vault: CredentialVault, trusted_site: Site,
                         sshd: SshdInfo) -> None:
    credential = authorized(service, vault, trusted_site, sshd)
    report = service.check(trusted_site.id, credential)
    assert report.ok, report.problems
    assert (report.reachable, report.host_key, report.authenticated, report.python) == (
        True, "ok", True, True)
    assert report.scheduler is None  # scheduler "none": nothing to look for


def test_check_reports_missing_scheduler_and_package(service: SiteService,
                                                     vault: CredentialVault,
                                                     trusted_site: Site,
                                                     sshd: SshdInfo) -> None:
    credential = authorized(service, vault, trusted_site, sshd)
    config = trusted_site.config.model_dump() | {
        "scheduler": "slurm", "python": {"mode": "existing", "path": "python3"}}
    service.update(trusted_site.id, config)
    report = service.check(trusted_site.id, credential)
    assert report.authenticated is True
    has_sbatch = shutil.which("sbatch") is not None
    assert report.scheduler is has_sbatch
    if not has_sbatch:
        assert "sbatch" in report.problems["scheduler"]
    assert report.python is False
    assert "eflows_kernel" in report.problems["python"]


def test_check_with_unauthorized_key_says_so(service: SiteService, vault: CredentialVault,
                                             trusted_site: Site) -> None:
    credential = vault.generate("stranger").id
    report = service.check(trusted_site.id, credential)
    assert report.reachable and report.host_key == "ok"
    assert report.authenticated is False
    assert "not authorized" in report.problems["authenticated"]
    with pytest.raises(ssh.AuthenticationFailed, match="not authorized"):
        service.connect(trusted_site.id, credential)


def test_check_before_trust_shows_fingerprint(service: SiteService, vault: CredentialVault,
                                              site: Site, sshd: SshdInfo) -> None:
    report = service.check(site.id, vault.generate("k").id)
    assert report.host_key == "unknown" and report.authenticated is None
    assert keyscan_fingerprint(sshd) in report.problems["host_key"]


def test_revoke_removes_exactly_that_line(service: SiteService, vault: CredentialVault,
                                          trusted_site: Site, sshd: SshdInfo) -> None:
    other = vault.generate("other")
    seeded = ("# managed by hand\n"
              f'from="10.0.0.0/8",no-pty {vault.authorized_keys_line(other.id)}\n'
              "\n")
    path = seed_authorized_keys(sshd, seeded)
    credential = authorized(service, vault, trusted_site, sshd)
    assert path.read_text() == seeded + vault.authorized_keys_line(credential) + "\n"
    assert service.revoke(trusted_site.id, credential) == {"removed": True}
    assert path.read_text() == seeded
    assert (path.stat().st_mode & 0o777) == 0o600
    with pytest.raises(ssh.AuthenticationFailed):
        service.connect(trusted_site.id, credential)
    # Revoking again (with the password, as the key no longer works) finds nothing to remove.
    assert service.revoke(trusted_site.id, credential, password=sshd.password) == {
        "removed": False}
    assert path.read_text() == seeded


# ---- failures and secrets -----------------------------------------------------------------

def test_unreachable_port(service: SiteService, vault: CredentialVault) -> None:
    site = service.add({"name": "nowhere", "host": "127.0.0.1", "port": 1, "login": "x"})
    with pytest.raises(ssh.SiteUnreachable, match=r"127\.0\.0\.1:1"):
        service.scan(site.id)
    report = service.check(site.id, vault.generate("k").id)
    assert not report.reachable and "127.0.0.1:1" in report.problems["reachable"]


def test_password_never_in_errors_or_logs(service: SiteService, vault: CredentialVault,
                                          trusted_site: Site, sshd: SshdInfo,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-S3cret-pw"
    credential = vault.generate("tester").id
    with pytest.raises(ssh.AuthenticationFailed) as caught:
        service.authorize(trusted_site.id, credential, password=wrong,
                          otp=lambda prompt: wrong)
    texts = [str(caught.value), repr(caught.value)]
    service.authorize(trusted_site.id, credential, password=sshd.password)
    service.revoke(trusted_site.id, credential, password=sshd.password)
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    for text in texts:
        assert wrong not in text and sshd.password not in text
    assert any("authorized" in r.getMessage() for r in caplog.records)
