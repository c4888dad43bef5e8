"""Executions: a live list of runs, and one run's graph, logs, outputs and controls.

The list is polled (every ``poll_interval`` seconds, in a background thread started
and stopped explicitly, and stopped by ``close()``) because both clients answer
``executions.list`` cheaply while neither pushes list changes. A selected run gets
an :class:`ExecutionDetail` that tails the run's events into a live
``TaskGraphView`` and its log file incrementally (by byte offset).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import MessageArea, error_message, esc, guarded
from eflows_kernel.ui.errors import error_html
from eflows_kernel.ui.jobs_table import STATE_ICON, JobsTable, queue_text
from eflows_kernel.ui.run_actions import RemoveRunButtons
from eflows_kernel.ui.run_files import RunFilesView
from eflows_kernel.widgets.graph_view import TaskGraphView

LOG_LIMIT = 200_000  # characters kept in the log view (the tail)
CANCEL_REQUESTED = "Cancel requested."


def where(execution: Any) -> str:
    """The sites a run is on, for its header: ``local``, or for a graph on several each
    site with the steps it runs there (``2 sites: cluster-a (first), cluster-b
    (second)``): ``site`` alone is the first step's."""
    by_site = execution.steps_by_site
    if len(by_site) < 2:
        return ", ".join(by_site)
    return f"{len(by_site)} sites: " + ", ".join(
        f"{site} ({', '.join(steps)})" for site, steps in by_site.items())


class ExecutionDetail(widgets.VBox):
    """One execution: state, live task graph, log tail, outputs, error, Cancel / Re-run.

    ``poll()`` reads what is new once (events, log bytes, state); a background thread
    calls it every ``poll_interval`` seconds until the run has ended and nothing new
    arrives. ``on_rerun(execution)`` is told about a re-run, ``on_edit(execution)`` asked
    to edit this run's inputs before running again (the portal opens its deploy form),
    ``on_removed(id)`` told the run was archived or deleted.
    """

    def __init__(self, client: Client, execution_id: str, poll_interval: float = 0.5,
                 start: bool = True, on_rerun: Any = None, graph: bool = True,
                 on_edit: Any = None, on_removed: Any = None) -> None:
        self.client = client
        self.execution_id = execution_id
        self.poll_interval = poll_interval
        self.on_rerun = on_rerun
        self.on_edit = on_edit
        self.execution: Any = None
        self.last_seq = 0
        self.log_offset = 0
        self._events: Any = None  # the client's follower of this execution's events
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.header = widgets.HTML()
        self.graph = TaskGraphView(height=420) if graph else None
        if self.graph is not None:
            self.graph.start()
        self.logs = widgets.Textarea(disabled=True, layout=widgets.Layout(
            width="100%", height="240px"))
        self.files = RunFilesView(client, execution_id)
        self.outputs = self.files.outputs
        self.error = widgets.HTML()
        self.cancel_button = widgets.Button(description="Cancel", icon="stop",
                                            button_style="danger")
        self.rerun_button = widgets.Button(description="Re-run with same inputs",
                                           icon="repeat", layout=widgets.Layout(width="auto"))
        # Cancelling stops work that may have queued for hours: asked once more.
        self.confirm_cancel_button = widgets.Button(
            description="Yes, cancel this run", button_style="danger",
            layout=widgets.Layout(width="auto", display="none"))
        self.keep_button = widgets.Button(description="Keep it running",
                                          layout=widgets.Layout(width="auto", display="none"))
        # Offered only once the finished run is known to have left a checkpoint.
        self.resume_button = widgets.Button(
            description="Resume from checkpoint", icon="forward",
            tooltip="Run it again: the tasks its checkpoint holds are not run again",
            layout=widgets.Layout(width="auto", display="none"))
        self.checkpoint_tasks: int | None = None  # asked once the run has finished
        self.edit_button = widgets.Button(
            description="Edit inputs and re-run", icon="pencil",
            layout=widgets.Layout(width="auto", display=None if on_edit else "none"))
        self.message = MessageArea()
        self.remove = RemoveRunButtons(client, execution_id, self.message, on_removed)
        self.edit_button.on_click(lambda _b: self.edit())
        self.cancel_button.on_click(lambda _b: self.ask_cancel())
        self.confirm_cancel_button.on_click(lambda _b: self.cancel())
        self.keep_button.on_click(lambda _b: self._hide_confirm())
        self.rerun_button.on_click(lambda _b: self.rerun())
        self.resume_button.on_click(lambda _b: self.resume())
        parts: list[widgets.Widget] = [
            self.header, widgets.HBox([self.cancel_button, self.confirm_cancel_button,
                                       self.keep_button, self.rerun_button,
                                       self.resume_button, self.edit_button, self.remove],
                                      layout=widgets.Layout(flex_flow="row wrap")),
            self.message, self.error]
        if self.graph is not None:
            parts.append(self.graph)
        parts += [widgets.HTML("<b>Log</b>"), self.logs, widgets.HTML("<b>Outputs</b>"),
                  self.files]
        super().__init__(parts)
        self.poll()
        if start:
            self.start()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name=f"eflows-execution-{self.execution_id}")
            self._thread.start()

    def stop(self) -> None:
        """Stop following the run (what is shown stays)."""
        self._stop.set()
        if self.graph is not None:
            self.graph.stop()

    def close(self) -> None:
        self.stop()
        if self.graph is not None:
            self.graph.close()
        super().close()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            if self.poll():
                return

    def poll(self) -> bool:
        """Read new events, log text and state once; True once the run is over and read."""
        with self._lock:
            try:
                if self._events is None:
                    self._events = self.client.executions.follower(self.execution_id)
                events = self._events.poll()
                execution = self._events.latest
                text, offset = self.client.executions.logs(self.execution_id,
                                                           self.log_offset)
            except Exception as exc:  # shown; tried again at the next poll
                self.message.error(error_message(exc))
                return False
            for event in events:
                if isinstance(event.get("seq"), int):
                    self.last_seq = max(self.last_seq, event["seq"])
                if self.graph is not None:
                    self.graph.feed(event)
            if text:
                self.logs.value = (self.logs.value + text)[-LOG_LIMIT:]
            self.log_offset = offset
            self.execution = execution
            self._render()
            return bool(execution.finished and not events and not text)

    def _render(self) -> None:
        execution = self.execution
        state = execution.state.value
        self.header.value = (
            f"<b>{esc(execution.id)}</b> — {STATE_ICON.get(state, '')} <b>{esc(state)}</b> "
            f"on {esc(where(execution))}"
            + (f" (job {esc(execution.remote_job_id)}"
               + (f": {esc(queue_text(execution))}" if queue_text(execution) else "") + ")"
               if execution.remote_job_id else "")
            + f"<br><small>workflow {esc(execution.workflow_id)} · inputs "
            f"<code>{esc(json.dumps(execution.inputs, default=str))}</code></small>")
        self.cancel_button.disabled = execution.finished or state == "cancelling"
        if execution.finished:
            self._hide_confirm()
            if self.message.text == CANCEL_REQUESTED:  # the request is answered by the state
                self.message.clear()
        self.error.value = error_html(execution.error)
        self.remove.show_for(execution)
        self.files.offer_site(execution.sites)  # a graph: any step's site
        if execution.finished and not self.files.loaded:
            self.files.load(finished=True)  # once: a finished run's folder stays as it is
        if execution.finished and self.checkpoint_tasks is None:
            self._offer_resume()

    def _offer_resume(self) -> None:
        """Ask once whether the finished run left a checkpoint; offer Resume if it did."""
        try:
            self.checkpoint_tasks = self.client.executions.checkpoint_tasks(self.execution_id)
        except Exception:  # a site out of reach: no offer (a plain re-run still works)
            self.checkpoint_tasks = 0
        if self.checkpoint_tasks:
            self.resume_button.description = (
                f"Resume from checkpoint ({self.checkpoint_tasks} tasks saved)")
            self.resume_button.layout.display = None

    def resume(self) -> Any:
        """A new run from this one's checkpoint (the saved tasks are not run again)."""
        ok, new = guarded(self.message, self.client.executions.resume, self.execution_id)
        if not ok or new is None:
            return None
        self.message.info(f"Started {new.id}, resuming from the checkpoint of "
                          f"{self.execution_id}.")
        if self.on_rerun is not None:
            self.on_rerun(new)
        return new

    def ask_cancel(self) -> None:
        """The Cancel button: ask for a confirmation first."""
        self.confirm_cancel_button.layout.display = None
        self.keep_button.layout.display = None
        self.cancel_button.layout.display = "none"
        self.message.info("Cancel this run? Its work so far is lost.")

    def _hide_confirm(self) -> None:
        self.confirm_cancel_button.layout.display = "none"
        self.keep_button.layout.display = "none"
        self.cancel_button.layout.display = None
        if self.message.text.startswith("Cancel this run?"):
            self.message.clear()

    def cancel(self) -> Any:
        """Ask the run to stop (confirmed); the updated execution or None (error shown)."""
        self._hide_confirm()
        ok, execution = guarded(self.message, self.client.executions.cancel,
                                self.execution_id)
        if ok and execution is not None:
            self.execution = execution
            self.message.info(CANCEL_REQUESTED)
            self._render()
        return execution if ok else None

    def rerun(self) -> Any:
        """Trigger the same workflow again, same inputs, site and credential."""
        if self.execution is None:
            return None
        e = self.execution
        ok, new = guarded(self.message, self.client.executions.trigger, e.workflow_id,
                          e.inputs, site=e.site_binding,
                          credential_id=e.credential_id)
        if not ok or new is None:
            return None
        self.message.info(f"Started {new.id}.")
        if self.on_rerun is not None:
            self.on_rerun(new)
        return new


    def edit(self) -> Any:
        """Hand this run to ``on_edit`` to change its inputs before running it again."""
        if self.execution is None or self.on_edit is None:
            return None
        self.on_edit(self.execution)
        return self.execution


class ExecutionsWidget(widgets.VBox):
    """Every execution, states updating live; selecting one opens its detail."""

    def __init__(self, client: Client, poll_interval: float = 1.0, start: bool = True,
                 detail_poll_interval: float = 0.5, limit: int = 100,
                 on_edit: Any = None) -> None:
        self.client = client
        self.on_edit = on_edit  # (execution) -> None: edit a run's inputs and run again
        self.poll_interval = poll_interval
        self.detail_poll_interval = detail_poll_interval
        self.limit = limit
        self.executions: list[Any] = []
        self.detail: ExecutionDetail | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        self._names: dict[str, str | None] = {}
        self._limits: dict[str, str | None] = {}
        self.table = JobsTable(on_open=self.open_execution)
        self.table.add_class("eflows-executions")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.live = widgets.ToggleButton(value=False, description="Live", icon="eye",
                                         tooltip="Update the list every second")
        self.message = MessageArea()
        self.detail_box = widgets.VBox()
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.live.observe(lambda c: self.start() if c["new"] else self.stop(), names="value")
        super().__init__([widgets.HBox([self.refresh_button, self.live]), self.table,
                          self.message, self.detail_box])
        self.refresh()
        if start:
            self.start()

    # -- the live list ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Poll the list in a background thread until ``stop()`` / ``close()``."""
        if self.running:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), daemon=True,
                                        name="eflows-executions-list")
        self._thread.start()
        if not self.live.value:
            self.live.value = True

    def stop(self) -> None:
        """Stop polling; waits (briefly) for the thread so nothing updates afterwards."""
        self._stop.set()
        if self.live.value:
            self.live.value = False
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def close(self) -> None:
        self.stop()
        if self.detail is not None:
            self.detail.close()
        super().close()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.poll_interval):
            self.refresh()

    def refresh(self) -> None:
        """Read the list once and redraw the table, keeping the selection."""
        with self._refresh_lock:
            ok, page = guarded(self.message, self.client.executions.list, limit=self.limit)
            if not ok or page is None:
                return
            self.executions = list(page.items)
            for execution in self.executions:
                self._workflow_name(execution.workflow_id)
            self.table.update(self.executions, self._names.get, self._site_limit)
            if self.detail is not None and self.detail.execution_id not in \
                    {e.id for e in self.executions}:
                self.open_execution(None)
            if self.message.kind == "error":
                self.message.clear()

    def _site_limit(self, site: str) -> str | None:
        """The time limit a site submits with, asked once per site (the Walltime column)."""
        if site not in self._limits:
            try:
                self._limits[site] = None if site == "local" else \
                    self.client.sites.get(site).config.time_limit
            except Exception:  # removed since: no limit to show
                self._limits[site] = None
        return self._limits[site]

    # -- one execution ------------------------------------------------------------------
    def _workflow_name(self, workflow_id: str) -> str | None:
        """A workflow's name, asked once (names do not change; a deleted one has none)."""
        if workflow_id not in self._names:
            try:
                self._names[workflow_id] = self.client.workflows.get(workflow_id).workflow.name
            except Exception:  # deleted since: the id alone will do
                self._names[workflow_id] = None
        return self._names[workflow_id]

    def open_execution(self, execution_id: str | None) -> ExecutionDetail | None:
        """Show the detail of ``execution_id`` (None closes it)."""
        if self.detail is not None and (execution_id is None
                                        or self.detail.execution_id != execution_id):
            self.detail.close()
            self.detail = None
            self.detail_box.children = []
        self.table.selected = execution_id
        self.table.redraw()
        if execution_id is None or self.detail is not None:
            return self.detail
        self.detail = ExecutionDetail(self.client, execution_id,
                                      poll_interval=self.detail_poll_interval,
                                      on_rerun=self._on_rerun, on_edit=self.on_edit,
                                      on_removed=self._on_removed)
        self.detail_box.children = [self.detail]
        return self.detail

    def select(self, execution_id: str) -> ExecutionDetail | None:
        """Select one execution in the list (refreshing it if needed) and open it."""
        if execution_id not in self.table.ids:
            self.refresh()
        return self.open_execution(execution_id)

    def _on_removed(self, execution_id: str) -> None:
        self.open_execution(None)
        self.refresh()
        self.message.info(f"Removed {execution_id} from the list.")

    def _on_rerun(self, execution: Any) -> None:
        self.refresh()
        self.select(execution.id)
