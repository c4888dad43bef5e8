"""HPC sites: add and edit them, pin their host key on purpose, check a connection.

Trusting a host key is a decision the user makes after reading the fingerprint
(ideally comparing it with what the site's documentation publishes), so scanning
only shows it and a separate button trusts exactly the fingerprint shown. The
connection check reports every item (reachable, host key, key authorized,
scheduler, Python) so users fix all problems in one go.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import LOCAL_SITE, MessageArea, esc, guarded

# The items of a CheckReport, in the order they are tried, with what they mean.
CHECK_ITEMS: tuple[tuple[str, str], ...] = (
    ("reachable", "Site reachable"), ("host_key", "Host key trusted and unchanged"),
    ("authenticated", "Key authorized for the login"), ("scheduler", "Scheduler available"),
    ("python", "Python on the site"))


def check_items(report: Any) -> list[tuple[str, str, str]]:
    """``(label, status, message)`` per check item; status is ok, problem or not tried."""
    values = {"reachable": report.reachable, "host_key": report.host_key,
              "authenticated": report.authenticated, "scheduler": report.scheduler,
              "python": report.python}
    items = []
    for key, label in CHECK_ITEMS:
        problem = report.problems.get(key)
        value = values[key]
        if problem:
            items.append((label, "problem", problem))
        elif value is None:
            items.append((label, "not tried", ""))
        else:
            items.append((label, "ok", ""))
    return items


def verify_hint(config: Any) -> str:
    """How to check a fingerprint from a trusted machine (never by trusting this one)."""
    port = "" if getattr(config, "port", 22) == 22 else f"-p {config.port} "
    return (f"<small>How to verify it: compare with the fingerprint your centre publishes, "
            f"or run <code>ssh-keyscan {port}{esc(config.host)} | ssh-keygen -lf -</code> "
            "on a machine you trust, or ask the site's administrators.</small>")


def host_key_html(key: Any, pinned: Any, config: Any) -> str:
    """The scanned key: new (how to verify it) or CHANGED (both fingerprints)."""
    shown = f"<code>{esc(key.type)} {esc(key.fingerprint)}</code>"
    if pinned is None:
        return f"New host key: {shown}<br>{verify_hint(config)}"
    return ("<div style='color:#b00020'><b>⚠ The host key CHANGED.</b><br>"
            f"Trusted before: <code>{esc(pinned.fingerprint)}</code><br>"
            f"Presented now: {shown}<br>Someone may be between you and the site. Trust the "
            "new key only if the site's administrators confirm the change.</div>"
            + verify_hint(config))


def check_report_html(report: Any) -> str:
    """The check result, one line per item, problems spelled out."""
    icons = {"ok": "✔", "problem": "✘", "not tried": "·"}
    lines = "".join(
        f"<li>{icons[status]} <b>{esc(label)}</b>"
        + (f": {esc(message)}" if message else f" <small>({status})</small>") + "</li>"
        for label, status, message in check_items(report))
    head = "<b style='color:#1b5e20'>The site is ready.</b>" if report.ok else \
        f"<b style='color:#b00020'>{len(report.problems)} problem(s):</b>"
    return f"{head}<ul style='list-style:none;padding-left:0'>{lines}</ul>"


class SitesWidget(widgets.VBox):
    """List, add, edit and delete sites; scan and trust host keys; check connections."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.selected: Any = None
        self.scanned: Any = None
        self.listing = widgets.Select(options=[], rows=8, layout=widgets.Layout(width="320px"))
        self.summary = widgets.HTML("<i>Select a site, or fill the form to add one.</i>")
        self.form: dict[str, widgets.ValueWidget] = {
            "name": widgets.Text(description="Name"),
            "host": widgets.Text(description="Host"),
            "port": widgets.BoundedIntText(value=22, min=1, max=65535, description="Port"),
            "login": widgets.Text(description="Login"),
            "scheduler": widgets.Dropdown(options=["slurm", "none"], value="slurm",
                                          description="Scheduler"),
            "partition": widgets.Text(description="Partition"),
            "qos": widgets.Text(description="QoS"),
            "account": widgets.Text(description="Account"),
            "workdir": widgets.Text(value="~/eflows", description="Workdir"),
        }
        self.new_button = widgets.Button(description="New", icon="plus")
        self.save_button = widgets.Button(description="Add site", icon="save",
                                          button_style="primary")
        self.delete_button = widgets.Button(description="Delete", icon="trash",
                                            button_style="danger", disabled=True)
        self.scan_button = widgets.Button(description="Scan host key", icon="search",
                                          disabled=True)
        self.fingerprint = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.trust_button = widgets.Button(description="Trust this fingerprint",
                                           icon="check", button_style="warning",
                                           layout=widgets.Layout(display="none", width="auto"))
        # A changed key is either a reinstalled site or someone in between: the trust of a
        # changed key takes a second, explicit click.
        self.confirm_change_button = widgets.Button(
            description="Yes, the administrators confirmed the new key", icon="exclamation",
            button_style="danger", layout=widgets.Layout(display="none", width="auto"))
        self.moved_note = widgets.HTML()
        self.credential_picker = widgets.Dropdown(description="Credential", options=[],
                                                  layout=widgets.Layout(width="420px"))
        self.check_button = widgets.Button(description="Check connection", icon="stethoscope",
                                           disabled=True)
        self.check_result = widgets.HTML()
        self.message = MessageArea()
        self.listing.observe(lambda c: self.show(c["new"]), names="value")
        self.new_button.on_click(lambda _b: self.new())
        self.save_button.on_click(lambda _b: self.save())
        self.delete_button.on_click(lambda _b: self.delete())
        self.scan_button.on_click(lambda _b: self.scan())
        self.trust_button.on_click(lambda _b: self.trust())
        self.confirm_change_button.on_click(lambda _b: self.trust(confirmed=True))
        for key in ("host", "port"):
            self.form[key].observe(lambda _c: self._note_move(), names="value")
        self.check_button.on_click(lambda _b: self.check())
        super().__init__([
            widgets.HBox([widgets.VBox([self.listing, self.summary],
                                       layout=widgets.Layout(width="340px")),
                          widgets.VBox([*self.form.values(), self.moved_note, widgets.HBox(
                              [self.new_button, self.save_button, self.delete_button])])],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HTML("<b>Host key</b>"),
            # one below the other: a fingerprint appearing never pushes the buttons sideways
            self.scan_button, self.fingerprint,
            widgets.HBox([self.trust_button, self.confirm_change_button],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HTML("<b>Connection</b>"),
            widgets.HBox([self.credential_picker, self.check_button]), self.check_result,
            self.message])
        self.refresh()

    # -- listing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload sites and credentials, keeping the selection."""
        ok, sites = guarded(self.message, self.client.sites.list)
        if ok and sites is not None:
            current = self.listing.value
            # the name (and whether the key is trusted); the address is in the summary
            options = [(s.name + (" (centre, read-only)" if s.operator else "")
                        + ("" if s.host_key or s.config.is_local
                           else " (host key not trusted)"), s.name)
                       for s in sites if s.name != LOCAL_SITE]
            self.listing.options = options
            if current in {v for _l, v in options}:
                self.listing.value = current
            if not options and self.selected is None:
                self.summary.value = ("<i>No site yet: fill the form (name, host, login) and "
                                      "click <b>Add site</b>, or use the <b>Connect</b> tab "
                                      "for a guided first connection.</i>")
        ok, credentials = guarded(self.message, self.client.credentials.list)
        if ok and credentials is not None:
            current = self.credential_picker.value
            options = [(c.name, c.id) for c in credentials]
            self.credential_picker.options = options
            ids = [v for _l, v in options]
            self.credential_picker.value = current if current in ids else \
                (ids[0] if ids else None)

    def show(self, name: str | None) -> None:
        """Fill the form with site ``name`` (None: an empty form for a new site)."""
        self.selected = self.scanned = None
        self._hide_trust()
        self.check_result.value = ""
        for button in (self.delete_button, self.scan_button, self.check_button):
            button.disabled = name is None
        self._lock(False)
        self.save_button.description = "Add site" if name is None else "Save changes"
        if name is None:
            self.summary.value = "<i>Fill the form to add a site.</i>"
            return
        ok, site = guarded(self.message, self.client.sites.get, name)
        if not ok or site is None:
            return
        self.selected = site
        config = site.config
        for key, widget in self.form.items():
            value = getattr(config, key)
            widget.value = value if value is not None else ""
        key = site.host_key
        self.summary.value = (f"<b>{esc(site.name)}</b><br>"
                              f"{esc(config.login)}@{esc(config.host)}:{config.port}"
                              "<br>host key: "
                              + (f"<code>{esc(key.fingerprint)}</code>" if key else
                                 "<span style='color:#e65100'>not trusted yet: scan it</span>"))
        if site.operator:
            self.summary.value += ("<br><i>Set by the centre (read-only): its host key is "
                                   "pinned by the operator. Check the connection, or add a "
                                   "site of your own with <b>New</b>.</i>")
            self._lock(True)
        self.moved_note.value = ""

    def _lock(self, locked: bool) -> None:
        """A centre's site is the operator's to change (the service answers 403): its
        form and the buttons that would change it are off while it is shown."""
        for widget in (*self.form.values(), self.save_button):
            widget.disabled = locked
        if locked:
            self.delete_button.disabled = self.scan_button.disabled = True

    def _note_move(self) -> None:
        """Editing the address of a trusted site: say the key must be verified again."""
        site = self.selected
        if site is None:
            self.moved_note.value = ""
            return
        moved = (str(self.form["host"].value).strip(), self.form["port"].value) != \
            (site.config.host, site.config.port)
        self.moved_note.value = (
            "<span style='color:#e65100'>⚠ Another host or port: once saved, the trusted "
            "host key is forgotten and the new address's key must be scanned and verified "
            "again.</span>") if moved and site.host_key is not None else ""

    def new(self) -> None:
        """Empty the form for a new site."""
        self.listing.value = None
        defaults = {"port": 22, "scheduler": "slurm", "workdir": "~/eflows"}
        for key, widget in self.form.items():
            widget.value = defaults.get(key, "")
        self.show(None)

    def config(self) -> dict[str, Any]:
        """The form as a site config (empty optional fields left out)."""
        config: dict[str, Any] = {}
        for key, widget in self.form.items():
            value = widget.value
            if isinstance(value, str):
                value = value.strip()
                if not value and key in ("partition", "qos", "account"):
                    continue
            config[key] = value
        if self.selected is not None:  # keep what the form does not show
            config["python"] = self.selected.config.python.model_dump()
        return config

    def save(self) -> Any:
        """Add the site, or save the selected one; the stored site or None."""
        config = self.config()
        if self.selected is None:
            ok, site = guarded(self.message, self.client.sites.add, config)
            verb = "Added"
        else:
            ok, site = guarded(self.message, self.client.sites.update, self.selected.id,
                               config)
            verb = "Saved"
        if not ok or site is None:
            return None
        forgot = self.selected is not None and self.selected.host_key is not None and \
            site.host_key is None
        self.refresh()
        if self.listing.value == site.name:
            self.show(site.name)  # the summary must not keep a key the save forgot
        else:
            self.listing.value = site.name
        self.message.info(f"{verb} {site.name}." + (
            " Its address changed: scan and verify its host key again." if forgot else ""))
        return site

    def delete(self) -> None:
        if self.selected is None:
            return
        ok, _ = guarded(self.message, self.client.sites.delete, self.selected.id)
        if ok:
            self.message.info(f"Deleted {self.selected.name}.")
            self.new()
            self.refresh()

    # -- host key -----------------------------------------------------------------------
    def _hide_trust(self) -> None:
        self.trust_button.layout.display = "none"
        self.confirm_change_button.layout.display = "none"
        self.fingerprint.value = ""

    def scan(self) -> Any:
        """Show the host key the site presents now; stores nothing."""
        self._hide_trust()
        if self.selected is None:
            return None
        self.message.info(f"Scanning {self.selected.config.host}…")
        ok, key = guarded(self.message, self.client.sites.scan, self.selected.id)
        if not ok or key is None:
            return None
        self.scanned = key
        pinned = self.selected.host_key
        if pinned is not None and pinned.fingerprint == key.fingerprint:
            self.fingerprint.value = (f"<code>{esc(key.type)} {esc(key.fingerprint)}</code> "
                                      "— already trusted")
            self.message.info("The site presents the trusted host key.")
            return key
        self.fingerprint.value = host_key_html(key, pinned, self.selected.config)
        if pinned is None:
            self.trust_button.description = "Trust this fingerprint"
            self.message.clear()
        else:
            self.trust_button.description = "Trust the new key…"
            self.message.error(f"The host key of {self.selected.name} CHANGED.")
        self.trust_button.layout.display = None
        return key

    def trust(self, confirmed: bool = False) -> Any:
        """Pin exactly the fingerprint that was shown (refused if the site changed since).

        A key replacing a trusted one needs ``confirmed`` (the second button) as well.
        """
        if self.selected is None or self.scanned is None:
            self.message.error("Scan the host key first.")
            return None
        pinned = self.selected.host_key
        if pinned is not None and pinned.fingerprint != self.scanned.fingerprint and \
                not confirmed:
            self.confirm_change_button.layout.display = None
            self.trust_button.layout.display = "none"
            self.message.error("Trust the new key only if the site's administrators confirmed "
                               "the change (or you reinstalled the site yourself).")
            return None
        ok, site = guarded(self.message, self.client.sites.trust, self.selected.id,
                           self.scanned.fingerprint)
        if not ok or site is None:
            return None
        self._hide_trust()
        self.message.info(f"Trusted {self.scanned.fingerprint} for {site.name}.")
        name = site.name
        self.refresh()
        self.show(name)
        return site

    # -- checking -----------------------------------------------------------------------
    def check(self) -> Any:
        """Try the connection with the chosen credential; every item shown."""
        self.check_result.value = ""
        if self.selected is None or not self.credential_picker.value:
            self.message.error("Choose a site and a credential to check.")
            return None
        ok, report = guarded(self.message, self.client.sites.check, self.selected.id,
                             self.credential_picker.value)
        if not ok or report is None:
            return None
        self.check_result.value = check_report_html(report)
        self.message.clear()
        return report
