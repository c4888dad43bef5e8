"""A run's outputs and files as links (open in JupyterLab, download) with an inline preview.

Through a Jupyter server every file has a download link on that server (the browser's
session authenticates it) and, when the server's root holds it, a link opening it in
JupyterLab; with the in-process client there are no URLs, so the local path is shown.
Text, CSV and images preview inline; anything else is a download away. A step graph's
steps each leave their run folder on their own site: those are shown by step, each
with its site, and a step that has none (never started, its site gone or out of reach)
says why.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import MessageArea, esc, guarded, human_bytes

IMAGE_INLINE_LIMIT = 4 * 1024 * 1024  # an in-process image preview is sent as a data URI


def _links(entry: dict[str, Any]) -> str:
    parts = []
    if entry.get("lab_url"):
        parts.append(f"<a href='{html.escape(entry['lab_url'])}' target='_blank' "
                     "class='eflows-open-lab'>open in JupyterLab</a>")
    if entry.get("url"):
        parts.append(f"<a href='{html.escape(entry['url'])}' download "
                     "class='eflows-download'>download</a>")
    if not parts and entry.get("local_path"):
        parts.append(f"<code>{esc(entry['local_path'])}</code>")
    return " · ".join(parts)


def outputs_html(outputs: dict[str, Any], finished: bool) -> str:
    """The named outputs: links for those in the run folder, the site path for the others."""
    if not outputs:
        return ("<i>This run produced no declared outputs.</i>" if finished
                else "<i>Outputs appear here when the run has finished.</i>")
    items = []
    for name, entry in outputs.items():
        if "in_folder" in entry:
            where = f"<code>{esc(entry['in_folder'])}</code> {_links(entry)}"
        elif entry.get("cluster_path"):
            where = f"kept on the site: <code>{esc(entry['cluster_path'])}</code>"
        else:
            where = f"<code>{esc(entry.get('value', entry))}</code>"
        items.append(f"<li><b>{esc(name)}</b>: {where}</li>")
    return "<ul class='eflows-outputs'>" + "".join(items) + "</ul>"


def files_html(items: list[dict[str, Any]]) -> str:
    if not items:
        return "<i>The run folder is empty.</i>"
    rows = "".join(
        f"<tr><td><code>{esc(f['path'])}</code></td><td>{esc(human_bytes(f['bytes']))}</td>"
        f"<td>{_links(f)}</td></tr>" for f in items)
    return f"<table class='eflows-run-files'>{rows}</table>"


def step_files_html(folders: list[dict[str, Any]]) -> str:
    """The site folders of an execution: one run's as before, a graph's by step."""
    if len(folders) == 1 and folders[0].get("step") is None:
        (only,) = folders
        body = files_html(only.get("items") or []) if only.get("status") == "listed" else \
            f"<i>{esc(only.get('message') or '')}</i>"
        return "<b>On the site</b>" + body
    parts = []
    for folder in folders:
        where = "this host" if folder.get("where") == "local" else folder.get("site", "")
        title = f"<b>Step {esc(folder.get('step'))}</b> on {esc(where)}"
        if folder.get("status") == "listed":
            body = files_html(folder.get("items") or [])
        else:
            body = (f"<div class='eflows-step-files-note'><i>{esc(folder.get('message'))}"
                    "</i></div>")
        parts.append(f"<div class='eflows-step-files' data-step='{html.escape(folder['step'])}'"
                     f" data-status='{html.escape(folder.get('status', ''))}'>{title}{body}"
                     "</div>")
    return "<b>On the sites, by step</b>" + "".join(parts)


def preview_html(preview: dict[str, Any], image_src: str | None) -> str:
    kind = preview.get("kind")
    cut = "<br><small>(only the beginning is shown: download the file for the rest)</small>" \
        if preview.get("truncated") else ""
    if kind == "text":
        return ("<pre class='eflows-preview' style='max-height:320px;overflow:auto;"
                f"white-space:pre-wrap'>{esc(preview.get('text', ''))}</pre>{cut}")
    if kind == "csv":
        rows = preview.get("rows") or []
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                       for row in rows)
        return (f"<div style='max-height:320px;overflow:auto'><table class='eflows-preview'>"
                f"{body}</table></div>{cut}")
    if kind == "image" and image_src:
        return (f"<img class='eflows-preview' src='{html.escape(image_src)}' "
                "style='max-width:100%;max-height:400px' alt='preview'>")
    return "<i>No preview for this kind of file: download it.</i>"


class RunFilesView(widgets.VBox):
    """The outputs and the files of one run, with a preview of the file chosen."""

    def __init__(self, client: Client, execution_id: str) -> None:
        self.client = client
        self.execution_id = execution_id
        self.listing: dict[str, Any] = {"items": [], "outputs": {}}
        self.loaded = False
        self.outputs = widgets.HTML(outputs_html({}, finished=False))
        self.files = widgets.HTML()
        self.picker = widgets.Dropdown(description="Preview", options=[],
                                       style={"description_width": "70px"},
                                       layout=widgets.Layout(width="420px"))
        self.preview = widgets.HTML()
        self.message = MessageArea()
        self.picker.observe(lambda c: self.show(c["new"]) if c["new"] else None,
                            names="value")
        self.files_box = widgets.VBox([widgets.HTML("<b>Run folder</b>"), self.files,
                                       self.picker, self.preview],
                                      layout=widgets.Layout(display="none"))
        # A remote run also has its folder on the site (job script, COMPSs logs...); a
        # graph's steps each have one, on their own site.
        self.site_button = widgets.Button(description="Browse the run folder on the site",
                                          icon="folder-open",
                                          layout=widgets.Layout(width="auto", display="none"))
        self.site_files = widgets.HTML()
        self.site_button.on_click(lambda _b: self.load_site())
        super().__init__([self.outputs, self.message, self.files_box, self.site_button,
                          self.site_files])

    def offer_site(self, site: str | Sequence[str] | None) -> None:
        """Offer the run folders on the sites for a run with a step on one (not
        ``local``): ``site`` is the run's, or the sites of a graph's steps."""
        sites = [site] if isinstance(site, str) else list(site or [])
        self.site_button.layout.display = None if any(s != "local" for s in sites) \
            else "none"

    def load_site(self) -> list[dict[str, Any]] | None:
        """List the run folder on the site, or each step's on its own site (with download
        links through a server)."""
        ok, folders = guarded(self.message, self.client.runs.step_files, self.execution_id)
        if not ok or folders is None:
            return None
        self.site_files.value = step_files_html(folders)
        return folders

    def load(self, finished: bool) -> None:
        """Read the outputs and the folder once (again when asked)."""
        ok, listing = guarded(self.message, self.client.runs.files, self.execution_id)
        if not ok or listing is None:
            return
        self.listing = listing
        self.loaded = finished
        self.outputs.value = outputs_html(listing.get("outputs") or {}, finished)
        items = listing.get("items") or []
        self.files.value = files_html(items)
        previewable = [f["path"] for f in items if f.get("kind") != "binary"]
        self.picker.options = [("(choose a file)", None), *[(p, p) for p in previewable]]
        self.files_box.layout.display = None if items else "none"

    def _entry(self, path: str) -> dict[str, Any]:
        return next((f for f in self.listing.get("items") or [] if f["path"] == path), {})

    def show(self, path: str) -> str:
        """Preview ``path`` (what the picker does); the HTML shown."""
        ok, preview = guarded(self.message, self.client.runs.preview, self.execution_id, path)
        if not ok or preview is None:
            self.preview.value = ""
            return ""
        entry = self._entry(path)
        src = None
        if preview.get("kind") == "image":
            if entry.get("url"):
                src = entry["url"] + "?inline=1"
            elif entry.get("local_path") and entry.get("bytes", 0) <= IMAGE_INLINE_LIMIT:
                data = base64.b64encode(Path(entry["local_path"]).read_bytes()).decode()
                src = f"data:{preview.get('media_type', 'image/png')};base64,{data}"
        self.preview.value = preview_html(preview, src)
        self.message.clear()
        return self.preview.value


__all__ = ["RunFilesView", "files_html", "outputs_html", "preview_html", "step_files_html"]
