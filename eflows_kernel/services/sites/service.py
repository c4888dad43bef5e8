"""What can be done with a site: keep its record, pin its host key, check it, authorize keys.

A site's SSH host key is pinned by an explicit user decision only: :meth:`SiteService.scan`
shows the fingerprint and stores nothing, :meth:`SiteService.trust` stores the key only if the
server still presents the key whose fingerprint the user confirmed. Every later connection
refuses any other key (see :mod:`eflows_kernel.services.hpc.ssh`). Credentials come from the vault;
passwords and one-time codes (for :meth:`~SiteService.authorize`) pass through, never kept.
"""

from __future__ import annotations

import logging
import secrets
import shlex
from collections.abc import Callable
from typing import Any

import paramiko
import pydantic

from eflows_kernel.services.credentials import CredentialVault
from eflows_kernel.services.credentials.keys import authorized_key_blob
from eflows_kernel.services.errors import NotFoundError
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.local_shell import LocalShell, local_login
from eflows_kernel.services.hpc.ssh import HostKey
from eflows_kernel.services.sites.config import (
    CheckReport,
    FingerprintMismatch,
    Site,
    SiteConfig,
    SiteError,
    SiteExists,
    SiteNotFound,
)
from eflows_kernel.services.sites.repository import SiteRepository

log = logging.getLogger(__name__)

AUTHORIZED_KEYS = ".ssh/authorized_keys"  # relative to the login's home (SFTP starts there)


def _login_shell(command: str) -> str:
    # A login shell reads /etc/profile, where HPC sites put module systems and Slurm's PATH.
    return f"sh -lc {shlex.quote(command)}"


class SiteService:
    """Add, change and remove sites; pin their host keys; check and authorize credentials."""

    def __init__(self, repository: SiteRepository, vault: CredentialVault,
                 timeout: float = ssh.DEFAULT_TIMEOUT) -> None:
        self.repository = repository
        self.vault = vault
        self.timeout = timeout

    # ---- records -----------------------------------------------------------------------

    @staticmethod
    def _validate(config: SiteConfig | dict[str, Any]) -> SiteConfig:
        if isinstance(config, SiteConfig):
            return config
        try:
            return SiteConfig.model_validate(config)
        except pydantic.ValidationError as error:
            raise SiteError(f"invalid site: {error}") from None

    @staticmethod
    def _site(record: dict[str, Any]) -> Site:
        key = record.get("host_key")
        return Site(id=record["id"], config=SiteConfig.model_validate(record["config"]),
                    host_key=None if not key else HostKey.from_dict(key),
                    operator=bool(record.get("operator")))

    def add(self, config: SiteConfig | dict[str, Any]) -> Site:
        site = self._validate(config)
        existing = self._find(self.repository.get_by_name, site.name)
        if existing is not None:
            whose = " (set by the centre's operator)" if existing.get("operator") else ""
            raise SiteExists(f"a site named {site.name!r} exists already{whose}")
        return self._site(self.repository.add(site.name, site.model_dump()))

    def _find(self, lookup: Callable[[str], dict[str, Any] | None],
              key: str) -> dict[str, Any] | None:
        try:
            return lookup(key) if isinstance(key, str) else None
        except NotFoundError:
            return None

    def get(self, site_id: str) -> Site:
        record = self._find(self.repository.get, site_id)
        if record is None:
            raise SiteNotFound(f"no site {site_id!r}", id=site_id)
        return self._site(record)

    def get_by_name(self, name: str) -> Site:
        record = self._find(self.repository.get_by_name, name)
        if record is None:
            raise SiteNotFound(f"no site named {name!r}", name=name)
        return self._site(record)

    def list(self) -> list[Site]:
        return [self._site(r) for r in self.repository.list()]

    def update(self, site_id: str, config: SiteConfig | dict[str, Any]) -> Site:
        """Replace a site's config. Another host or port forgets the trusted host key.

        The name stays: executions refer to sites by name (add a new site to rename).
        """
        current = self.get(site_id)
        new = self._validate(config)
        if new.name != current.name:
            raise SiteError(f"a site cannot be renamed ({current.name!r} to {new.name!r}); "
                            "add a new site instead")
        moved = (new.host, new.port) != (current.config.host, current.config.port)
        forget: dict[str, Any] = {"host_key": None} if moved else {}
        record = self.repository.update(site_id, config=new.model_dump(), **forget)
        return self._site(record)

    def delete(self, site_id: str) -> None:
        self.repository.delete(self.get(site_id).id)

    # ---- host key ----------------------------------------------------------------------

    @staticmethod
    def _no_host_key(site: Site) -> None:
        if site.config.is_local:
            raise SiteError(f"site {site.name!r} is this host (connection local): it has no "
                            "host key to scan or trust")

    @staticmethod
    def _no_keys(site: Site) -> None:
        if site.config.is_local:  # (it would change the server account's authorized_keys)
            raise SiteError(f"site {site.name!r} is this host (connection local): it needs no "
                            "key, so none is authorized or revoked there")

    def scan(self, site_id: str) -> HostKey:
        """The host key the site presents now, to show the user. Stores nothing."""
        site = self.get(site_id)
        self._no_host_key(site)
        return ssh.fetch_host_key(site.config.host, site.config.port, self.timeout)

    def trust(self, site_id: str, fingerprint: str) -> Site:
        """Pin the host key, only if the site presents the key the user confirmed."""
        site = self.get(site_id)
        self._no_host_key(site)
        presented = ssh.fetch_host_key(site.config.host, site.config.port, self.timeout)
        if fingerprint.strip() != presented.fingerprint:
            raise FingerprintMismatch(
                f"{site.config.host}:{site.config.port} presents the host key "
                f"{presented.fingerprint}, not the confirmed {fingerprint.strip()}; "
                "nothing was trusted", presented=presented.fingerprint)
        log.info("site %s: trusted host key %s", site.name, presented.fingerprint)
        return self._site(self.repository.update(site.id, host_key=presented.to_dict()))

    def forget_host_key(self, site_id: str) -> Site:
        """Unpin the host key (e.g. before re-trusting after a confirmed server change)."""
        return self._site(self.repository.update(self.get(site_id).id, host_key=None))

    # ---- connections -------------------------------------------------------------------

    def connect(self, site_id: str, credential_id: str | None = None, *,
                password: str | None = None,
                otp: Callable[[str], str] | None = None) -> paramiko.SSHClient:
        """An authenticated connection to the site, pinned to its trusted host key (a local
        site's "connection" is this host's own shell, as the server's account)."""
        site = self.get(site_id)
        if site.config.is_local:
            return local_shell(site)  # type: ignore[return-value]
        key = cert = None
        if credential_id is not None:
            key = self.vault.private_key_for_use(credential_id)
            cert = self.vault.certificate(credential_id)
        return ssh.connect(site.config.host, site.config.port, site.config.login,
                           site.host_key, private_key=key, certificate=cert,
                           password=password, otp=otp, timeout=self.timeout)

    def check(self, site_id: str, credential_id: str) -> CheckReport:
        """Try everything a run needs and say, item by item, what is wrong."""
        site = self.get(site_id)
        cfg = site.config
        report = CheckReport()
        if cfg.is_local:
            try:
                client = local_shell(site)
            except ssh.AuthenticationFailed as error:
                report.problems["authenticated"] = str(error)
                return report
            report.reachable, report.host_key, report.authenticated = True, "ok", True
            with client:
                self._check_remote(client, cfg, report)  # type: ignore[arg-type]
            return report
        try:
            presented = ssh.fetch_host_key(cfg.host, cfg.port, self.timeout)
        except ssh.SiteUnreachable as error:
            report.problems["reachable"] = str(error)
            return report
        report.reachable = True
        report.presented_fingerprint = presented.fingerprint
        if site.host_key is None:
            report.host_key = "unknown"
            report.problems["host_key"] = (
                f"the host key of {cfg.host}:{cfg.port} is not trusted yet (it presents "
                f"{presented.fingerprint}): confirm that fingerprint to trust it")
            return report
        try:
            client = self.connect(site.id, credential_id)
        except ssh.HostKeyChangedError as error:
            report.host_key = "changed"
            report.problems["host_key"] = str(error)
            return report
        except ssh.AuthenticationFailed as error:
            report.host_key = "ok"
            report.authenticated = False
            report.problems["authenticated"] = (
                f"{error}; authorize the credential on the site first")
            return report
        except ssh.SSHError as error:
            report.problems["reachable"] = str(error)
            report.reachable = False
            return report
        report.host_key = "ok"
        report.authenticated = True
        with client:
            self._check_remote(client, cfg, report)
        return report

    def _check_remote(self, client: paramiko.SSHClient, cfg: SiteConfig,
                      report: CheckReport) -> None:
        if cfg.scheduler == "slurm":
            status, _out, _err = ssh.run(client, _login_shell("command -v sbatch"),
                                         self.timeout)
            report.scheduler = status == 0
            if not report.scheduler:
                report.problems["scheduler"] = (
                    "the site is set up for Slurm but `sbatch` is not on the login's PATH")
        python = shlex.quote(cfg.python.path)
        if cfg.python.mode == "existing":
            probe = f"{python} -c 'import eflows_kernel'"
            failure = (f"`{cfg.python.path}` cannot import eflows_kernel on the site; install "
                       "the package there or choose python mode 'bootstrap'")
        else:
            probe = f"{python} -c 'import sys; sys.exit(sys.version_info < (3, 10))'"
            failure = (f"`{cfg.python.path}` (Python 3.10 or newer) is needed on the site to "
                       "bootstrap the environment, and it was not found")
        status, _out, _err = ssh.run(client, _login_shell(probe), self.timeout)
        report.python = status == 0
        if not report.python:
            report.problems["python"] = failure

    # ---- authorized_keys ---------------------------------------------------------------

    def authorize(self, site_id: str, credential_id: str, password: str | None = None,
                  otp: Callable[[str], str] | None = None) -> dict[str, Any]:
        """ssh-copy-id: log in with the password/one-time code, add the key, try the key.

        Returns ``{"added": bool}`` (False: the key was there already).
        """
        self._no_keys(self.get(site_id))
        if password is None and otp is None:
            raise SiteError("authorizing a key needs the site password or a one-time code")
        line = self.vault.authorized_keys_line(credential_id)
        blob = line.split()[1]
        site = self.get(site_id)
        with self.connect(site.id, password=password, otp=otp) as client, \
                client.open_sftp() as sftp:
            try:
                sftp.stat(".ssh")
            except FileNotFoundError:
                sftp.mkdir(".ssh", 0o700)
            sftp.chmod(".ssh", 0o700)
            text = _read_text(sftp, AUTHORIZED_KEYS)
            present = any(authorized_key_blob(x) == blob for x in text.splitlines())
            if not present:
                prefix = "\n" if text and not text.endswith("\n") else ""
                with sftp.open(AUTHORIZED_KEYS, "a") as handle:
                    handle.write(f"{prefix}{line}\n")
            sftp.chmod(AUTHORIZED_KEYS, 0o600)
        try:
            with self.connect(site.id, credential_id) as client:
                ssh.run(client, "true", self.timeout)
        except ssh.AuthenticationFailed as error:
            raise ssh.AuthenticationFailed(
                f"the key was added to ~/{AUTHORIZED_KEYS} on {site.name} but the site still "
                f"refuses it ({error}); check the permissions of the home directory and "
                "~/.ssh, or the site's AuthorizedKeysFile setting") from None
        log.info("site %s: credential %s authorized (%s)", site.name, credential_id,
                 "added" if not present else "already present")
        return {"added": not present}

    def revoke(self, site_id: str, credential_id: str, password: str | None = None,
               otp: Callable[[str], str] | None = None) -> dict[str, Any]:
        """Remove exactly this key's line(s) from authorized_keys; the rest stays as it was.

        Logs in with the key itself unless a password or one-time code is given.
        Returns ``{"removed": bool}``.
        """
        site = self.get(site_id)
        self._no_keys(site)
        use_key = password is None and otp is None
        with self.connect(site.id, credential_id if use_key else None, password=password,
                          otp=otp) as client, client.open_sftp() as sftp:
            text = _read_text(sftp, AUTHORIZED_KEYS)
            kept = self.vault.revoke_line(text, credential_id)
            removed = kept != text
            if removed:
                # Write aside then rename: a cut connection never leaves a half-written file.
                temporary = f"{AUTHORIZED_KEYS}.eflows-{secrets.token_hex(4)}"
                with sftp.open(temporary, "w") as handle:
                    handle.write(kept)
                sftp.chmod(temporary, 0o600)
                try:
                    sftp.posix_rename(temporary, AUTHORIZED_KEYS)
                except OSError:  # a server without the posix-rename extension
                    sftp.remove(AUTHORIZED_KEYS)
                    sftp.rename(temporary, AUTHORIZED_KEYS)
        log.info("site %s: credential %s %s", site.name, credential_id,
                 "revoked" if removed else "was not authorized")
        return {"removed": removed}


def local_shell(site: Site) -> LocalShell:
    """This host's shell for a local site, if the site's login is the server's account."""
    if site.config.login != local_login():
        raise ssh.AuthenticationFailed(
            f"site {site.name!r} is this host (connection local), where the server runs as "
            f"{local_login()!r}, not {site.config.login!r}: a local site runs as the server's "
            "own account")
    return LocalShell()


def _read_text(sftp: paramiko.SFTPClient, path: str) -> str:
    try:
        with sftp.open(path, "r") as handle:
            return handle.read().decode()
    except FileNotFoundError:
        return ""
