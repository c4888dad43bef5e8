"""Browse registered workflows and bring new ones in (registry folders, Python files).

The detail pane shows what a user must know before deploying: the inputs with
their types and defaults, the steps, the software they need, the data moved, and
the warnings the importer left (what it could not map), so nothing is dropped
silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import MessageArea, esc, guarded, prose
from eflows_kernel.ui.input_editor import InputEditor

_WIDE = widgets.Layout(width="420px")


def workflow_label(summary: dict[str, Any]) -> str:
    """A listing's line: name and version, and whether the centre publishes it."""
    label = f"{summary['name']} {summary['version']}"
    return label + " (centre, read-only)" if summary.get("published") else label


def _placed(part: Any, role: bool = True) -> str:
    """`` on <role>, after a, b``: where a step or movement runs and what it waits for
    (an imported topology's order is not the list's)."""
    text = f" on <code>{esc(part.environment)}</code>" if role and part.environment else ""
    if part.depends_on:
        text += (", " if text else " ") + "after " + ", ".join(
            f"<code>{esc(d)}</code>" for d in part.depends_on)
    return text


def _outputs(step: Any) -> str:
    """`` (outputs: name <path>, ...)``: what later steps may read of a step."""
    if not step.outputs:
        return ""
    return " (outputs: " + ", ".join(
        f"<code>{esc(name)}</code> {esc(path)}" for name, path in step.outputs.items()) + ")"


def workflow_details_html(registered: Any) -> str:
    """The detail pane of one ``RegisteredWorkflow`` as HTML."""
    wf = registered.workflow
    parts = [f"<h4>{esc(wf.name)} <small>{esc(registered.version)}</small></h4>",
             "<p><b>Published by the centre</b> (read-only: only the operator changes or "
             "removes it)</p>" if getattr(registered, "published", False) else "",
             f"<p>{prose(wf.description)}</p>" if wf.description else "",
             f"<p><small>id {esc(registered.id)}</small></p>"]
    if wf.inputs:
        rows = "".join(
            f"<tr><td><code>{esc(i.name)}</code></td><td>{esc(i.type)}</td>"
            f"<td>{'yes' if i.required else 'no'}</td>"
            f"<td>{'' if i.default is None else esc(i.default)}</td>"
            f"<td>{esc(i.description)}</td></tr>" for i in wf.inputs)
        parts.append("<b>Inputs</b><table><tr><th>name</th><th>type</th><th>required</th>"
                     f"<th>default</th><th>description</th></tr>{rows}</table>")
    else:
        parts.append("<p><b>Inputs</b>: none</p>")
    if wf.environments:
        roles = ", ".join(f"<code>{esc(e)}</code>" for e in wf.environments)
        parts.append(f"<p><b>Roles</b>: {roles} <small>(each bound to a site when you "
                     "deploy)</small></p>")
    if wf.steps:
        items = "".join(f"<li><code>{esc(s.name)}</code>{_placed(s)}: {esc(s.application)} "
                        f"{esc(' '.join(s.arguments))}{_outputs(s)}</li>" for s in wf.steps)
        parts.append(f"<b>Steps</b><ul>{items}</ul>")
    software = wf.software
    needs = [(kind, getattr(software, kind)) for kind in ("pip", "apt", "spack", "conda")]
    needs = [(k, v) for k, v in needs if v]
    if needs or software.containers:
        items = "".join(f"<li>{esc(k)}: {esc(', '.join(v))}</li>" for k, v in needs)
        items += "".join(f"<li>container {esc(c.name)} ({esc(c.step_id)})</li>"
                         for c in software.containers)
        parts.append(f"<b>Software</b><ul>{items}</ul>")
    if wf.data_movements:
        items = "".join(f"<li>{esc(d.direction)} <code>{esc(d.name)}</code> ({esc(d.kind)})"
                        f"{_placed(d)}: {esc(d.source)} → {esc(d.target)}</li>"
                        for d in wf.data_movements)
        parts.append(f"<b>Data movements</b><ul>{items}</ul>")
    if wf.site_copies:
        items = "".join(f"<li><code>{esc(c.name)}</code>: <code>{esc(c.source_environment)}"
                        f"</code> → <code>{esc(c.environment)}</code>{_placed(c, role=False)}"
                        f"</li>" for c in wf.site_copies)
        parts.append(f"<b>Copies between sites</b><ul>{items}</ul>")
    if wf.warnings:
        items = "".join(f"<li>{esc(w.path)}{': ' if w.path else ''}{esc(w.message)}</li>"
                        for w in wf.warnings)
        parts.append(f"<b style='color:#e65100'>Warnings</b><ul>{items}</ul>")
    return "".join(parts)


class WorkflowsWidget(widgets.VBox):
    """The registered workflows (list + details), and the two ways to add more.

    ``on_deploy(workflow_id)`` is called by the Deploy button (the portal opens the
    deploy form on it).
    """

    def __init__(self, client: Client, on_deploy: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.on_deploy = on_deploy
        self.selected: Any = None
        self.listing = widgets.Select(options=[], rows=10, layout=widgets.Layout(width="320px"))
        self.details = widgets.HTML("<i>Select a workflow.</i>",
                                    layout=widgets.Layout(flex="1 1 320px", min_width="0",
                                                          overflow="auto"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.deploy_button = widgets.Button(description="Deploy…", icon="rocket",
                                            disabled=True)
        self.delete_button = widgets.Button(description="Delete", icon="trash",
                                            button_style="danger", disabled=True)
        self.folder_path = widgets.Text(placeholder="path/to/workflow-registry/<workflow>",
                                        description="Folder", layout=_WIDE)
        self.import_button = widgets.Button(description="Import folder", icon="download",
                                            layout=widgets.Layout(width="auto"))
        self.python_path = widgets.Text(placeholder="path/to/app.py", description="Python file",
                                        layout=_WIDE)
        self.python_name = widgets.Text(placeholder="(file name)", description="Name")
        self.register_button = widgets.Button(description="Register file", icon="plus",
                                              layout=widgets.Layout(width="auto"))
        self.spec_text = widgets.Textarea(
            placeholder="name: wordcount\ninputs: [...]\nsteps: [...]\ndata_movements: [...]",
            description="Spec", layout=widgets.Layout(width="520px", height="160px"))
        self.spec_button = widgets.Button(description="Register spec", icon="plus",
                                          layout=widgets.Layout(width="auto"))
        self.input_editor = InputEditor()
        self.spec_problems = widgets.HTML()
        self._schema: dict[str, Any] | None = None
        self.spec_text.observe(lambda c: self.check_spec(c["new"]), names="value")
        self.message = MessageArea()
        self.listing.observe(lambda c: self.show(c["new"]), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.import_button.on_click(lambda _b: self.import_folder())
        self.register_button.on_click(lambda _b: self.register_python_file())
        self.spec_button.on_click(lambda _b: self.register_spec())
        self.deploy_button.on_click(lambda _b: self._deploy())
        self.delete_button.on_click(lambda _b: self.delete())
        super().__init__([
            widgets.HBox([widgets.VBox([self.listing, widgets.HBox(
                [self.refresh_button, self.deploy_button, self.delete_button])]),
                self.details]),
            widgets.HTML("<b>Import an eFlows4HPC workflow-registry folder</b>"),
            widgets.HBox([self.folder_path, self.import_button]),
            widgets.HTML("<b>Register a PyCOMPSs application file</b>"),
            widgets.HBox([self.python_path, self.python_name, self.register_button]),
            widgets.HTML("<small>Its inputs are read from its <code>argparse</code> "
                         "definition; a file without one can declare them here:</small>"),
            self.input_editor,
            widgets.HTML("<b>Register a workflow spec</b> (YAML or JSON: inputs, steps, "
                         "data movements)"),
            widgets.HBox([self.spec_text, self.spec_button]), self.spec_problems,
            self.message])
        self.refresh()

    def refresh(self) -> None:
        """Reload the list, keeping the selection."""
        ok, page = guarded(self.message, self.client.workflows.list, limit=500)
        if not ok or page is None:
            return
        current = self.listing.value
        options = [(workflow_label(w), w["id"]) for w in page.items]
        self.listing.options = options
        if current in {v for _l, v in options}:
            self.listing.value = current
        if not options:
            self.details.value = ("<i>No workflow yet: import an eFlows4HPC workflow-registry "
                                  "folder, register a PyCOMPSs file or a spec below.</i>")

    def show(self, workflow_id: str | None) -> None:
        """Show the details of ``workflow_id`` (None: nothing selected)."""
        self.selected = None
        self.deploy_button.disabled = self.delete_button.disabled = True
        if workflow_id is None:
            self.details.value = "<i>Select a workflow.</i>"
            return
        ok, registered = guarded(self.message, self.client.workflows.get, workflow_id)
        if ok and registered is not None:
            self.selected = registered
            self.details.value = workflow_details_html(registered)
            self.deploy_button.disabled = False
            self.delete_button.disabled = registered.published  # the centre's: read-only

    def select(self, workflow_id: str) -> None:
        """Select (and show) one workflow of the list."""
        if workflow_id not in {v for _l, v in self.listing.options}:
            self.refresh()
        self.listing.value = workflow_id

    def import_folder(self, path: str | None = None) -> list[str]:
        """Import a registry folder; the ids registered (warnings shown)."""
        path = (path if path is not None else self.folder_path.value).strip()
        if not path:
            self.message.error("Give the path of a workflow-registry folder.")
            return []
        ok, report = guarded(self.message, self.client.workflows.import_folder, path)
        if not ok or report is None:
            return []
        registered = report.get("registered", [])
        warnings = report.get("warnings", [])
        names = ", ".join(f"{w['name']} {w['version']}" for w in registered) or "nothing"
        text = f"Imported {names}."
        refused = report.get("refused", [])
        if refused:  # not registered: they name what this server cannot run
            text += "\nRefused:\n" + "\n".join(f"- {r}" for r in refused)
        if warnings:
            text += "\nWarnings:\n" + "\n".join(f"- {w}" for w in warnings)
        self.message.info(text)
        self.refresh()
        if registered:
            self.select(registered[0]["id"])
        return [w["id"] for w in registered]

    def register_python_file(self, path: str | None = None,
                             name: str | None = None) -> str | None:
        """Register one PyCOMPSs file; its id, or None (error shown)."""
        path = (path if path is not None else self.python_path.value).strip()
        name = (name if name is not None else self.python_name.value).strip() or None
        if not path:
            self.message.error("Give the path of a Python file.")
            return None
        options: dict[str, Any] = {"name": name} if name else {}
        declared = self.input_editor.inputs()
        if declared is not None:
            options["inputs"] = declared
        ok, registered = guarded(self.message, self.client.workflows.register_python_file,
                                 path, **options)
        if not ok or registered is None:
            return None
        self.input_editor.clear()
        count = len(registered.workflow.inputs)
        self.message.info(f"Registered {registered.name} {registered.version} "
                          f"({count} input{'s' if count != 1 else ''}).")
        self.refresh()
        self.select(registered.id)
        return str(registered.id)

    def check_spec(self, text: str) -> list[str]:
        """Validate the spec being typed against the API's JSON schema; problems shown."""
        import yaml

        from eflows_kernel.services.workflows.spec_schema import spec_problems

        if not text.strip():
            self.spec_problems.value = ""
            return []
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problems = [f"not valid YAML/JSON{where}: {getattr(exc, 'problem', exc)}"]
        else:
            if self._schema is None:
                _ok, self._schema = guarded(self.message, self.client.workflows.spec_schema)
            problems = spec_problems(spec, self._schema) if self._schema else []
        self.spec_problems.value = "" if not problems else (
            "<ul class='eflows-spec-problems' style='color:#b00020;margin:2px 0'>"
            + "".join(f"<li>{esc(p)}</li>" for p in problems[:8]) + "</ul>")
        return problems

    def register_spec(self, text: str | None = None) -> str | None:
        """Register a workflow spec given as YAML or JSON; its id, or None (error shown).

        A file registers a one-step workflow without declared inputs or data movements;
        a spec is the only way from the portal to say which inputs are staged in and
        which results come back from a site.
        """
        import yaml

        text = text if text is not None else self.spec_text.value
        if not text.strip():
            self.message.error("Paste a workflow spec (YAML or JSON).")
            return None
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            self.message.error(f"The spec is not valid YAML/JSON: {exc}")
            return None
        if not isinstance(spec, dict):
            self.message.error("A workflow spec is a mapping (name, inputs, steps...).")
            return None
        ok, registered = guarded(self.message, self.client.workflows.register_spec, spec)
        if not ok or registered is None:
            return None
        self.spec_text.value = ""
        self.message.info(f"Registered {registered.name} {registered.version}.")
        self.refresh()
        self.select(registered.id)
        return str(registered.id)

    def delete(self) -> None:
        """Delete the selected workflow."""
        if self.selected is None:
            return
        ok, _ = guarded(self.message, self.client.workflows.delete, self.selected.id)
        if ok:
            self.message.info(f"Deleted {self.selected.name} {self.selected.version}.")
            self.listing.value = None
            self.refresh()

    def _deploy(self) -> None:
        if self.selected is not None and self.on_deploy is not None:
            self.on_deploy(self.selected.id)
