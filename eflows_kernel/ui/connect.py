"""Connect a site, guided: credential → site → host key → trust → authorize → check.

The first journey used to zig-zag between the Credentials and Sites tabs (about 27
interactions). Here one form holds everything a first connection needs, and three
clicks do it when all goes well: **Connect** (the key is generated or chosen, the site
saved, its host key scanned and shown with how to verify it), **Trust** (pins exactly
that key, a changed key asks once more), **Authorize and check** (installs the key with
the site password or one-time code, used once, then checks the connection; skipped
when the key already works). Each step has its own message line, so a failure is
explained where it happened and the steps before it stay done.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from eflows_kernel.ui.common import LOCAL_SITE, MessageArea, esc, guarded
from eflows_kernel.ui.sites import check_report_html, host_key_html

NEW_KEY = "__new__"
_LABEL = {"description_width": "110px"}


def _field() -> widgets.Layout:
    """A fresh layout per widget: a shared Layout would hide them all with any one."""
    return widgets.Layout(width="360px")


def _button() -> widgets.Layout:
    return widgets.Layout(width="max-content")  # not stretched across the whole box

STEPS = ("Credential and site", "Host key", "Authorize and check")


class ConnectSiteWidget(widgets.VBox):
    """The guided first connection. ``site``/``credential_id`` hold what it set up."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.site: Any = None
        self.credential_id: str | None = None
        self.scanned: Any = None
        self.report: Any = None
        self.credential_choice = widgets.Dropdown(description="Credential", style=_LABEL,
                                                  layout=widgets.Layout(width="520px",
                                                                        max_width="100%"))
        self.key_name = widgets.Text(description="New key name", placeholder="e.g. mn5-key",
                                     style=_LABEL, layout=_field())
        self.fields: dict[str, widgets.ValueWidget] = {
            "name": widgets.Text(description="Site name", placeholder="e.g. mn5",
                                 style=_LABEL, layout=_field()),
            "host": widgets.Text(description="Host", placeholder="login.hpc.example.org",
                                 style=_LABEL, layout=_field()),
            "port": widgets.BoundedIntText(value=22, min=1, max=65535, description="Port",
                                           style=_LABEL, layout=_field()),
            "login": widgets.Text(description="Login", placeholder="your account there",
                                  style=_LABEL, layout=_field()),
            "scheduler": widgets.Dropdown(options=["slurm", "none"], value="slurm",
                                          description="Scheduler", style=_LABEL,
                                          layout=_field()),
        }
        self.connect_button = widgets.Button(description="Connect", icon="plug",
                                             button_style="primary", layout=_button())
        self.host_key = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.trust_button = widgets.Button(description="Trust this key", icon="check",
                                           button_style="warning",
                                           layout=widgets.Layout(width="auto"))
        self.confirm_change_button = widgets.Button(
            description="Yes, the administrators confirmed the new key", icon="exclamation",
            button_style="danger", layout=widgets.Layout(width="auto", display="none"))
        self.password = widgets.Password(description="Site password", style=_LABEL,
                                         layout=_field(), placeholder="used once, never stored")
        self.otp = widgets.Password(description="One-time code", style=_LABEL, layout=_field(),
                                    placeholder="if the site asks for one")
        self.authorize_button = widgets.Button(description="Authorize and check",
                                               icon="unlock", button_style="primary",
                                               layout=_button())
        self.result = widgets.HTML()
        self.messages = [MessageArea() for _step in STEPS]
        self.titles = [widgets.HTML() for _step in STEPS]
        self.key_box = widgets.VBox([self.host_key, widgets.HBox(
            [self.trust_button, self.confirm_change_button],
            layout=widgets.Layout(flex_flow="row wrap")), self.messages[1]])
        self.auth_box = widgets.VBox([
            widgets.HTML("<small>The key is not accepted by the site yet: give the site "
                         "password (and a one-time code if it asks) to install it, as "
                         "<code>ssh-copy-id</code> does.</small>"),
            widgets.HBox([self.password, self.otp], layout=widgets.Layout(flex_flow="row wrap")),
            self.authorize_button, self.messages[2]])
        self._chosen = False  # the user picked a credential: refreshes keep it
        self._refreshing = False
        self.credential_choice.observe(self._on_choice, names="value")
        self.connect_button.on_click(lambda _b: self.connect())
        self.trust_button.on_click(lambda _b: self.trust())
        self.confirm_change_button.on_click(lambda _b: self.trust(confirmed=True))
        self.authorize_button.on_click(lambda _b: self.authorize())
        super().__init__([
            widgets.HTML("<b>Connect a site</b> <small>— a credential, the site's address, "
                         "its host key, and the key installed: three clicks.</small>"),
            self.titles[0], self.credential_choice, self.key_name, *self.fields.values(),
            self.connect_button, self.messages[0],
            self.titles[1], self.key_box,
            self.titles[2], self.auth_box, self.result])
        self._progress(0)
        self.refresh()

    # -- state ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Offer the vault's keys (a new one first when there is none)."""
        ok, credentials = guarded(self.messages[0], self.client.credentials.list)
        if not ok or credentials is None:
            return
        current = self.credential_choice.value
        options = [("Generate a new key", NEW_KEY),
                   *[(f"{c.name} ({c.fingerprint[:20]}…)", c.id) for c in credentials]]
        ids = [v for _l, v in options]
        keep = current in ids and (self._chosen or current != NEW_KEY)
        self._refreshing = True
        try:
            self.credential_choice.options = options
            self.credential_choice.value = current if keep else \
                (ids[1] if len(ids) == 2 else NEW_KEY)
        finally:
            self._refreshing = False
        self._show_key_name()

    def _on_choice(self, _change: dict[str, Any]) -> None:
        if not self._refreshing:
            self._chosen = True
        self._show_key_name()

    def _show_key_name(self) -> None:
        self.key_name.layout.display = None if self.credential_choice.value == NEW_KEY \
            else "none"

    def _progress(self, done: int) -> None:
        """Step titles (✔ for done ones); later steps hidden until their turn."""
        for index, (title, label) in enumerate(zip(self.titles, STEPS, strict=True)):
            mark = "✔" if index < done else f"{index + 1}."
            title.value = f"<b>{mark} {esc(label)}</b>"
        self.key_box.layout.display = None if done >= 1 else "none"
        self.auth_box.layout.display = "none"
        self.titles[1].layout.display = None if done >= 1 else "none"
        self.titles[2].layout.display = None if done >= 2 else "none"

    # -- step 1 ---------------------------------------------------------------------------
    def connect(self) -> Any:
        """Key (generated or chosen), site (added, or the same one reused), host key scan."""
        for area in self.messages:
            area.clear()
        self.result.value = ""
        config = {key: (w.value.strip() if isinstance(w.value, str) else w.value)
                  for key, w in self.fields.items()}
        missing = [self.fields[k].description for k in ("name", "host", "login")
                   if not config[k]]
        if missing:
            self.messages[0].error(f"Fill in: {', '.join(missing)}.")
            return None
        if config["name"] == LOCAL_SITE:
            self.messages[0].error("'local' is this machine; give the site another name.")
            return None
        credential_id = self._credential(config["name"])
        if credential_id is None:
            return None
        site = self._site(config)
        if site is None:
            return None
        self.site, self.credential_id = site, credential_id
        self._progress(1)
        return self.scan()

    def _credential(self, site_name: str) -> str | None:
        choice = self.credential_choice.value
        if choice != NEW_KEY:
            return str(choice)
        name = self.key_name.value.strip() or f"{site_name}-key"
        ok, info = guarded(self.messages[0], self.client.credentials.generate, name)
        if not ok or info is None:
            return None
        self.refresh()
        self.credential_choice.value = info.id
        self.messages[0].info(f"Generated the key {info.name} ({info.fingerprint}).")
        return str(info.id)

    def _site(self, config: dict[str, Any]) -> Any:
        ok, sites = guarded(self.messages[0], self.client.sites.list)
        if not ok or sites is None:
            return None
        same = next((s for s in sites if s.name == config["name"]), None)
        if same is not None:
            address = (same.config.host, same.config.port, same.config.login)
            if address != (config["host"], config["port"], config["login"]):
                self.messages[0].error(
                    f"A site named {config['name']} already exists for "
                    f"{same.config.login}@{same.config.host}:{same.config.port}: choose "
                    "another name, or change it in the Sites tab.")
                return None
            return same
        ok, site = guarded(self.messages[0], self.client.sites.add, config)
        return site if ok else None

    # -- step 2 ---------------------------------------------------------------------------
    def scan(self) -> Any:
        site = self.site
        self.confirm_change_button.layout.display = "none"
        ok, key = guarded(self.messages[1], self.client.sites.scan, site.name)
        if not ok or key is None:
            self.host_key.value = ""
            self.trust_button.layout.display = "none"
            self.messages[1].error(self.messages[1].text + " — check the host and port, "
                                   "then click Connect again.")
            return None
        self.scanned = key
        pinned = site.host_key
        if pinned is not None and pinned.fingerprint == key.fingerprint:
            self.host_key.value = (f"<code>{esc(key.type)} {esc(key.fingerprint)}</code> — "
                                   "already trusted.")
            self.trust_button.layout.display = "none"
            return self._after_trust()
        self.host_key.value = host_key_html(key, pinned, site.config)
        self.trust_button.layout.display = None
        self.trust_button.description = "Trust this key" if pinned is None \
            else "Trust the new key…"
        return key

    def trust(self, confirmed: bool = False) -> Any:
        if self.site is None or self.scanned is None:
            self.messages[1].error("Click Connect first.")
            return None
        pinned = self.site.host_key
        if pinned is not None and pinned.fingerprint != self.scanned.fingerprint and \
                not confirmed:
            self.trust_button.layout.display = "none"
            self.confirm_change_button.layout.display = None
            self.messages[1].error("Trust the new key only if the site's administrators "
                                   "confirmed the change.")
            return None
        ok, site = guarded(self.messages[1], self.client.sites.trust, self.site.name,
                           self.scanned.fingerprint)
        if not ok or site is None:
            return None
        self.site = site
        self.trust_button.layout.display = self.confirm_change_button.layout.display = "none"
        self.messages[1].info(f"Trusted {self.scanned.fingerprint}.")
        return self._after_trust()

    # -- step 3 ---------------------------------------------------------------------------
    def _after_trust(self) -> Any:
        self._progress(2)
        report = self._check()
        if report is not None and not report.authenticated and report.host_key == "ok":
            self.auth_box.layout.display = None  # the key is not on the site yet
            self.result.value = ""
        return report

    def _check(self) -> Any:
        ok, report = guarded(self.messages[2], self.client.sites.check, self.site.name,
                             self.credential_id)
        if not ok or report is None:
            return None
        self.report = report
        if report.ok:
            self._progress(3)
            self.result.value = check_report_html(report) + (
                f"<p>Deploy to <b>{esc(self.site.name)}</b> from the Deploy tab.</p>")
        elif report.authenticated or report.host_key != "ok":
            self.result.value = check_report_html(report)
        return report

    def authorize(self) -> Any:
        """Install the key with the password / code (emptied at once), then check."""
        password, otp = self.password.value, self.otp.value
        self.password.value = self.otp.value = ""
        if self.site is None or self.credential_id is None:
            self.messages[2].error("Click Connect first.")
            return None
        if not (password or otp):
            self.messages[2].error("Give the site password (or a one-time code) to install "
                                   "the key.")
            return None
        ok, result = guarded(self.messages[2], self.client.sites.authorize, self.site.name,
                             self.credential_id, password=password or None, otp=otp or None,
                             secrets=[password, otp])
        del password, otp
        if not ok or result is None:
            return None
        self.messages[2].info("The key is installed on the site.")
        report = self._check()
        if report is not None and report.ok:
            self.auth_box.layout.display = "none"
        return report
