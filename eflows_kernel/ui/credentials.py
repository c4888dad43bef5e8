"""SSH credentials: generate or import a key, see its public half, put it on a site.

Secrets (a pasted private key, its passphrase, a site password, a one-time code)
only pass through: each is handed to the client and the widget holding it is
emptied right after, success or not, so no widget state (saved in the notebook,
synced to the browser) keeps a secret. Messages never echo them either.
"""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import LOCAL_SITE, MessageArea, esc, guarded

_WIDE = widgets.Layout(width="520px")
_LABEL = {"description_width": "110px"}  # "One-time code" in full, not "One-time …"
AUTHORIZED_KEYS_TAG = "eflows"  # as the vault writes it (vault.AUTHORIZED_KEYS_TAG)


def authorized_keys_line(info: Any) -> str:
    """The line to add to ``~/.ssh/authorized_keys``, as the vault's ``authorize`` writes it.

    The client has no call for it, so it is rebuilt from the public key: type and
    base64 blob, then the ``eflows:<id>`` comment that tells people where it is from.
    """
    key_type, blob = info.public_key.split()[:2]
    return f"{key_type} {blob} {AUTHORIZED_KEYS_TAG}:{info.id}"


def copy_button_html(text: str, label: str = "Copy") -> str:
    """A button that puts ``text`` on the clipboard (inline handler: no extension needed)."""
    payload = html.escape(json.dumps(text), quote=True)
    return (f'<button class="jupyter-button" title="Copy to the clipboard" '
            f'onclick="navigator.clipboard.writeText({payload});'
            f"this.textContent='Copied'\">{html.escape(label)}</button>")


class CredentialsWidget(widgets.VBox):
    """Generate, import, list, inspect, authorize, revoke and delete credentials."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.selected: Any = None
        # generate
        self.gen_name = widgets.Text(description="Name", placeholder="e.g. hpc-key")
        self.gen_kind = widgets.Dropdown(description="Type", options=["ed25519", "rsa"],
                                         value="ed25519")
        self.generate_button = widgets.Button(description="Generate", icon="key",
                                              button_style="primary")
        # import
        self.imp_name = widgets.Text(description="Name")
        self.imp_key = widgets.Textarea(description="Private key",
                                        placeholder="-----BEGIN OPENSSH PRIVATE KEY-----",
                                        layout=_WIDE)
        self.imp_passphrase = widgets.Password(description="Passphrase")
        self.import_button = widgets.Button(description="Import", icon="upload")
        # listing and details
        # wide enough for "name — kind — SHA256:<43 characters>"
        self.listing = widgets.Select(options=[], rows=8, layout=widgets.Layout(
            width="100%", max_width="760px"))
        self.public_key = widgets.Textarea(description="Public key", disabled=True,
                                           layout=_WIDE, style=_LABEL)
        self.authorized_line = widgets.Textarea(description="authorized_keys", disabled=True,
                                                layout=_WIDE, style=_LABEL)
        self.copy_public = widgets.HTML()
        self.copy_line = widgets.HTML()
        self.details = widgets.HTML()
        self.delete_button = widgets.Button(description="Delete", icon="trash",
                                            button_style="danger", disabled=True)
        # a site
        self.site_picker = widgets.Dropdown(description="Site", options=[])
        self.password = widgets.Password(description="Password", style=_LABEL)
        self.otp = widgets.Password(description="One-time code", style=_LABEL)
        self.authorize_button = widgets.Button(description="Authorize on site",
                                               icon="unlock", disabled=True,
                                               layout=widgets.Layout(width="auto"))
        self.revoke_button = widgets.Button(description="Revoke on site", icon="lock",
                                            disabled=True, layout=widgets.Layout(width="auto"))
        self.empty = widgets.HTML()
        self.message = MessageArea()

        self.generate_button.on_click(lambda _b: self.generate())
        self.import_button.on_click(lambda _b: self.import_key())
        self.delete_button.on_click(lambda _b: self.delete())
        self.authorize_button.on_click(lambda _b: self.authorize())
        self.revoke_button.on_click(lambda _b: self.revoke())
        self.listing.observe(lambda c: self.show(c["new"]), names="value")
        super().__init__([
            widgets.HTML("<b>Generate a key</b>"),
            widgets.HBox([self.gen_name, self.gen_kind, self.generate_button]),
            widgets.HTML("<b>Import a private key</b> (kept encrypted in the vault)"),
            self.imp_name, self.imp_key, widgets.HBox([self.imp_passphrase,
                                                       self.import_button]),
            widgets.HTML("<b>Credentials</b>"), self.empty, self.listing, self.details,
            widgets.HBox([self.public_key, self.copy_public]),
            widgets.HBox([self.authorized_line, self.copy_line]), self.delete_button,
            widgets.HTML("<b>Install on a site</b> (the password and code are used once, "
                         "never stored)"),
            widgets.HBox([self.site_picker, self.password, self.otp],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.authorize_button, self.revoke_button]), self.message])
        self.refresh()

    # -- listing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload credentials and sites, keeping the selection."""
        ok, credentials = guarded(self.message, self.client.credentials.list)
        if ok and credentials is not None:
            current = self.listing.value
            options = [(f"{c.name} — {c.kind} — {c.fingerprint}", c.id) for c in credentials]
            self.listing.options = options
            if current in {v for _l, v in options}:
                self.listing.value = current
            self.empty.value = "" if options else (
                "<i>No credential yet: generate a key above (kept encrypted in the vault; only "
                "its public half is shown) or import one you already use.</i>")
        ok, sites = guarded(self.message, self.client.sites.list)
        if ok and sites is not None:
            names = [s.name for s in sites if s.name != LOCAL_SITE]
            current = self.site_picker.value
            self.site_picker.options = names
            if current in names:
                self.site_picker.value = current

    def show(self, credential_id: str | None) -> None:
        """Show one credential's public key and authorized_keys line."""
        self.selected = None
        for button in (self.delete_button, self.authorize_button, self.revoke_button):
            button.disabled = True
        self.public_key.value = self.authorized_line.value = ""
        self.copy_public.value = self.copy_line.value = self.details.value = ""
        if credential_id is None:
            return
        ok, info = guarded(self.message, self.client.credentials.get, credential_id)
        if not ok or info is None:
            return
        self.selected = info
        line = authorized_keys_line(info)
        self.public_key.value = info.public_key
        self.authorized_line.value = line
        self.copy_public.value = copy_button_html(info.public_key, "Copy public key")
        self.copy_line.value = copy_button_html(line, "Copy line")
        self.details.value = (f"<small>{esc(info.kind)} · {esc(info.fingerprint)} · "
                              f"created {info.created_at:%Y-%m-%d %H:%M}"
                              f"{' · certificate' if info.has_certificate else ''}</small>"
                              "<br>Add the line below to <code>~/.ssh/authorized_keys</code> "
                              "on the cluster, or use <i>Authorize on site</i>.")
        for button in (self.delete_button, self.authorize_button, self.revoke_button):
            button.disabled = False

    def select(self, credential_id: str) -> None:
        if credential_id not in {v for _l, v in self.listing.options}:
            self.refresh()
        self.listing.value = credential_id

    # -- creating -----------------------------------------------------------------------
    def generate(self) -> Any:
        """Generate a key pair in the vault; its ``CredentialInfo`` or None."""
        name = self.gen_name.value.strip()
        if not name:
            self.message.error("Give the new key a name.")
            return None
        ok, info = guarded(self.message, self.client.credentials.generate, name,
                           self.gen_kind.value)
        if not ok or info is None:
            return None
        self.gen_name.value = ""
        self.message.info(f"Generated {info.name} ({info.fingerprint}).")
        self.refresh()
        self.select(info.id)
        return info

    def import_key(self) -> Any:
        """Hand the pasted key (and passphrase) to the vault, then empty both fields."""
        name = self.imp_name.value.strip()
        private_key, passphrase = self.imp_key.value, self.imp_passphrase.value
        self.imp_key.value = self.imp_passphrase.value = ""  # never kept, whatever happens
        if not name or not private_key.strip():
            self.message.error("Give a name and paste the private key.")
            return None
        ok, info = guarded(self.message, self.client.credentials.import_key, name,
                           private_key, passphrase or None,
                           secrets=[private_key, passphrase, *private_key.splitlines()])
        del private_key, passphrase
        if not ok or info is None:
            return None
        self.imp_name.value = ""
        self.message.info(f"Imported {info.name} ({info.fingerprint}).")
        self.refresh()
        self.select(info.id)
        return info

    def delete(self) -> None:
        if self.selected is None:
            return
        ok, _ = guarded(self.message, self.client.credentials.delete, self.selected.id)
        if ok:
            self.message.info(f"Deleted {self.selected.name}.")
            self.listing.value = None
            self.refresh()

    # -- sites --------------------------------------------------------------------------
    def _site_call(self, action: str) -> Any:
        password, otp = self.password.value, self.otp.value
        self.password.value = self.otp.value = ""  # used once, never kept
        if self.selected is None or not self.site_picker.value:
            self.message.error("Choose a credential and a site.")
            return None
        if action == "authorize" and not (password or otp):
            self.message.error("Authorizing a key needs the site password or a one-time code.")
            return None
        call = getattr(self.client.sites, action)
        ok, result = guarded(self.message, call, self.site_picker.value, self.selected.id,
                             password=password or None, otp=otp or None,
                             secrets=[password, otp])
        del password, otp
        return result if ok else None

    def authorize(self) -> Any:
        """Install the selected key on the chosen site with a password / one-time code."""
        result = self._site_call("authorize")
        if result is not None:
            added = result.get("added")
            self.message.info(f"{self.selected.name} is authorized on {self.site_picker.value}"
                              + ("" if added else " (it was there already)") + ".")
        return result

    def revoke(self) -> Any:
        """Remove the selected key's line from the site's authorized_keys."""
        result = self._site_call("revoke")
        if result is not None:
            removed = result.get("removed")
            self.message.info(f"{self.selected.name} "
                              + ("was removed from" if removed else "was not authorized on")
                              + f" {self.site_picker.value}.")
        return result
