"""The deploy form: one field per declared workflow input, checked before anything runs.

Fields are generated from the workflow's typed inputs so users cannot forget one;
values are checked with the services' own ``validate_inputs`` (the same rules the
server applies) and every problem is shown at its field. An invalid form submits
nothing; a valid one triggers the execution and shows its :class:`DeployProgress`.
A workflow whose steps run in several environment roles (TOSCA ``AbstractEnvironment``)
gets one site picker per role, sent as ``{role: site}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.services.workflows import InputValidationError
from eflows_kernel.services.workflows.inputs import validate_inputs
from eflows_kernel.ui.common import (
    LOCAL_SITE,
    MessageArea,
    error_message,
    esc,
    field_errors,
    guarded,
    prose,
)
from eflows_kernel.ui.memory import Choices
from eflows_kernel.ui.progress import DeployProgress
from eflows_kernel.ui.workflows import workflow_label

_WIDE = widgets.Layout(width="420px")
# Room for the longest label ("One-time code"): ipywidgets' default cuts it at 80 px.
_LABEL = {"description_width": "110px"}


def input_widget(item: Any) -> widgets.ValueWidget:
    """The widget for one ``WorkflowInput``, filled with its default."""
    default = item.default
    if item.type == "boolean":
        return widgets.Checkbox(value=bool(default), indent=False)
    if item.type in ("list", "map"):
        text = "" if default is None else json.dumps(default)
        return widgets.Textarea(value=text, placeholder="JSON", layout=_WIDE)
    placeholder = {"integer": "an integer", "float": "a number", "path": "a path"}.get(
        item.type, "")
    return widgets.Text(value="" if default is None else str(default),
                        placeholder=placeholder, layout=_WIDE)


def workflow_roles(workflow: Any) -> list[str]:
    """The environment roles a trigger binds to sites, in the order the steps name them."""
    roles = [s.environment for s in workflow.steps if s.environment]
    return list(dict.fromkeys([*roles, *workflow.environments]))


def widget_value(item: Any, widget: widgets.ValueWidget) -> Any:
    """The value to validate; None for an empty text (so defaults/required apply)."""
    value = widget.value
    if item.type == "boolean":
        return bool(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


class DeployForm(widgets.VBox):
    """Pick a workflow, fill its inputs, a site and a credential, then deploy.

    ``fields`` maps input names to their widgets and ``errors`` to their error
    labels; ``role_pickers`` a workflow's roles to their site pickers (when it has two
    or more: the one ``site_picker`` is hidden then); ``submit()`` is what the Deploy
    button does, callable from tests.
    """

    def __init__(self, client: Client, workflow_id: str | None = None,
                 on_deployed: Callable[[Any], None] | None = None,
                 poll_interval: float = 0.5, memory: Path | None = None) -> None:
        self.client = client
        self.choices = Choices(memory)
        self.on_deployed = on_deployed
        self.poll_interval = poll_interval
        self.workflow: Any = None
        self.fields: dict[str, widgets.ValueWidget] = {}
        self.errors: dict[str, widgets.HTML] = {}
        self.role_pickers: dict[str, widgets.Dropdown] = {}
        self.progress: DeployProgress | None = None
        self.last_execution: Any = None
        self.workflow_picker = widgets.Dropdown(description="Workflow", options=[],
                                                layout=_WIDE, style=_LABEL)
        self.site_picker = widgets.Dropdown(description="Site", options=[LOCAL_SITE],
                                            style=_LABEL, layout=_WIDE)
        self.credential_picker = widgets.Dropdown(description="Credential",
                                                  options=[("(none)", None)], style=_LABEL,
                                                  layout=_WIDE)
        self.site_error = widgets.HTML()
        self.roles_box = widgets.VBox()
        # For a site whose login asks (no key, or key + code): sent once, then cleared.
        self.site_password = widgets.Password(description="Site password",
                                              placeholder="only if the login asks",
                                              style=_LABEL)
        self.one_time_code = widgets.Password(description="One-time code",
                                              placeholder="only if the login asks",
                                              style=_LABEL)
        self.description = widgets.HTML()
        self.inputs_box = widgets.VBox()
        self.deploy_button = widgets.Button(description="Deploy", button_style="primary",
                                            icon="rocket", disabled=True,
                                            tooltip="Choose a workflow first")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.message = MessageArea()
        self.progress_box = widgets.VBox()
        self.deploy_button.on_click(lambda _b: self.submit())
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.workflow_picker.observe(self._on_pick, names="value")
        super().__init__([
            widgets.HBox([self.workflow_picker, self.refresh_button]), self.description,
            self.inputs_box, widgets.HBox([self.site_picker, self.roles_box, self.site_error],
                                          layout=widgets.Layout(flex_flow="row wrap")),
            self.credential_picker, widgets.HBox([self.site_password, self.one_time_code],
                                                 layout=widgets.Layout(flex_flow="row wrap")),
            self.deploy_button, self.message, self.progress_box])
        self.refresh()
        if workflow_id is not None:
            self.select_workflow(workflow_id)

    # -- choices ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the workflows, sites and credentials offered (keeping the choices)."""
        ok, page = guarded(self.message, self.client.workflows.list, limit=500)
        if ok and page is not None:
            current = self.workflow_picker.value
            options = [(workflow_label(w), w["id"]) for w in page.items]
            self.workflow_picker.options = [("(choose a workflow)", None), *options]
            if current in {v for _l, v in options}:
                self.workflow_picker.value = current
        ok, sites = guarded(self.message, self.client.sites.list)
        if ok and sites is not None:
            current = self.site_picker.value
            remote = [s.name for s in sites if s.name != LOCAL_SITE]
            names = [LOCAL_SITE, *remote]
            self.site_picker.options = names
            self.site_picker.value = self._preselect(current, names, remote, "site")
            for picker in self.role_pickers.values():
                chosen = picker.value
                picker.options = names
                picker.value = chosen if chosen in names else self.site_picker.value
        ok, credentials = guarded(self.message, self.client.credentials.list)
        if ok and credentials is not None:
            current = self.credential_picker.value
            ids = [c.id for c in credentials]
            options = [("(none)", None), *[(f"{c.name} ({c.fingerprint[:20]}…)", c.id)
                                            for c in credentials]]
            self.credential_picker.options = options
            self.credential_picker.value = self._preselect(current, [None, *ids], ids,
                                                           "credential_id")

    def _preselect(self, current: Any, offered: list[Any], own: list[Any], key: str) -> Any:
        """Keep the current choice; else the one remembered; else the only one there is."""
        if current in offered and (current is not None and current != LOCAL_SITE):
            return current
        remembered = self.choices.get(key)
        if remembered is not None and remembered in offered:
            return remembered
        if len(own) == 1:
            return own[0]
        return current if current in offered else offered[0] if offered else None

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"] is None:
            self.workflow = None
            self.deploy_button.disabled = True
            self.inputs_box.children = []
            self.description.value = ""
            self._ask_roles([])
        elif change["new"] is not None and (self.workflow is None
                                          or self.workflow.id != change["new"]):
            self.select_workflow(change["new"])

    def select_workflow(self, workflow_id: str) -> None:
        """Build the fields of ``workflow_id``'s inputs (defaults filled)."""
        ok, registered = guarded(self.message, self.client.workflows.get, workflow_id)
        if not ok or registered is None:
            return
        self.workflow = registered
        if workflow_id not in {v for _l, v in self.workflow_picker.options}:
            self.workflow_picker.options = [*self.workflow_picker.options,
                                            (f"{registered.name} {registered.version}",
                                             workflow_id)]
        self.workflow_picker.value = workflow_id
        self.fields, self.errors, rows = {}, {}, []
        for item in registered.workflow.inputs:
            widget = input_widget(item)
            marker = " <b style='color:#b00020'>*</b>" if item.required and \
                item.default is None else ""
            label = widgets.HTML(f"{esc(item.name)}{marker} <small>({esc(item.type)})</small>",
                                 layout=widgets.Layout(width="200px"))
            help_text = widgets.HTML(f"<small>{esc(item.description)}</small>")
            error = widgets.HTML()
            self.fields[item.name], self.errors[item.name] = widget, error
            rows.append(widgets.VBox([widgets.HBox([label, widget, help_text]), error]))
        self.inputs_box.children = rows
        self.description.value = f"<i>{prose(registered.description)}</i>" \
            if registered.description else ""
        if not rows:
            self.inputs_box.children = [widgets.HTML("<i>This workflow has no inputs.</i>")]
        roles = workflow_roles(registered.workflow)
        self._ask_roles(roles if len(roles) > 1 else [])
        self.deploy_button.disabled = False
        self.deploy_button.tooltip = ""
        self.message.clear()
        self._forget_last_run()

    def _ask_roles(self, roles: list[str]) -> None:
        """A site picker per role (none: the one site picker binds every step)."""
        self.role_pickers = {
            role: widgets.Dropdown(description=role, options=self.site_picker.options,
                                   value=self.site_picker.value, style=_LABEL, layout=_WIDE)
            for role in roles}
        self.roles_box.children = list(self.role_pickers.values())
        self.site_picker.layout.display = "none" if roles else None

    def site_choice(self) -> str | dict[str, str]:
        """What the trigger binds: ``{role: site}`` with a picker per role, else the site."""
        if self.role_pickers:
            return {role: picker.value or LOCAL_SITE
                    for role, picker in self.role_pickers.items()}
        return self.site_picker.value or LOCAL_SITE

    def prefill(self, execution: Any) -> None:
        """The form as ``execution`` was deployed (workflow, inputs, site, credential), to
        change what needs changing and deploy again."""
        self.select_workflow(execution.workflow_id)
        if self.workflow is None or self.workflow.id != execution.workflow_id:
            return  # the workflow is gone: select_workflow said so
        for name, value in execution.inputs.items():
            widget = self.fields.get(name)
            if widget is None:
                continue
            if isinstance(widget, widgets.Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, widgets.Textarea) and not isinstance(value, str):
                widget.value = json.dumps(value)
            else:
                widget.value = "" if value is None else str(value)
        if execution.site in self.site_picker.options:
            self.site_picker.value = execution.site
        steps = self.workflow.workflow.steps
        for role, picker in self.role_pickers.items():
            sites = [(execution.step_sites or {}).get(s.name, execution.site)
                     for s in steps if s.environment == role]
            if sites and sites[0] in picker.options:
                picker.value = sites[0]
        if execution.credential_id in {v for _l, v in self.credential_picker.options}:
            self.credential_picker.value = execution.credential_id
        self.message.info(f"The inputs of {execution.id}: change them and deploy again.")

    def _forget_last_run(self) -> None:
        """Each attempt's result replaces the previous one: no stale run above a new try."""
        if self.progress is not None:
            self.progress.stop()
        self.progress = None
        self.progress_box.children = []

    # -- submitting ---------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """What the fields hold, empty ones left out."""
        if self.workflow is None:
            return {}
        declared = {i.name: i for i in self.workflow.workflow.inputs}
        values = {name: widget_value(declared[name], w) for name, w in self.fields.items()}
        return {k: v for k, v in values.items() if v is not None}

    def show_errors(self, errors: dict[str, str]) -> None:
        """Each message at its field (a site error next to the site picker)."""
        for name, label in self.errors.items():
            text = errors.get(name)
            label.value = f"<span style='color:#b00020'>⚠ {esc(text)}</span>" if text else ""
        site = errors.get("site")
        self.site_error.value = f"<span style='color:#b00020'>⚠ {esc(site)}</span>" \
            if site else ""

    def validate(self) -> dict[str, Any] | None:
        """The typed inputs, or None with every problem shown at its field."""
        if self.workflow is None:
            self.message.error("Choose a workflow first.")
            return None
        try:
            values = validate_inputs(self.workflow.workflow, self.values())
        except InputValidationError as exc:
            self.show_errors(exc.errors)
            self.message.error(f"{len(exc.errors)} input(s) need attention.")
            return None
        self.show_errors({})
        return values

    def submit(self) -> Any:
        """Validate, then trigger the execution; the new execution or None (nothing sent)."""
        self._forget_last_run()
        values = self.validate()
        if values is None or self.workflow is None:
            return None
        self.message.clear()
        answers = {k: v for k, v in (("password", self.site_password.value),
                                     ("one_time_code", self.one_time_code.value)) if v}
        self.site_password.value = self.one_time_code.value = ""  # held no longer than this
        try:
            execution = self.client.executions.trigger(
                self.workflow.id, values, site=self.site_choice(),
                credential_id=self.credential_picker.value, **answers)
        except Exception as exc:
            errors = field_errors(exc)
            self.show_errors(errors)
            self.message.error(error_message(exc))
            return None
        self.last_execution = execution
        self.choices.remember(site=execution.site, credential_id=execution.credential_id)
        where = ", ".join(dict.fromkeys((execution.step_sites or {}).values())) or \
            execution.site
        self.message.info(f"Execution {execution.id} started on {where}.")
        self.progress = DeployProgress(self.client, execution.id,
                                       poll_interval=self.poll_interval)
        self.progress_box.children = [self.progress]
        if self.on_deployed is not None:
            self.on_deployed(execution)
        return execution

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        super().close()
