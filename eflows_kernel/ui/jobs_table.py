"""The executions as a jobs table: sortable by any column, filtered by state and text.

:func:`table_rows` is the plain part (which rows, in which order, with which cells),
tested without widgets; :class:`JobsTable` draws it: one header button per column
(click: sort by it, again: reverse), a state filter, a text filter (workflow, site or
id), and one row per execution with an Open button. Rows are redrawn only when what
they show changed, so a live list polled every second costs nothing while idle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import ipywidgets as widgets

from eflows_kernel.ui.common import esc

# Symbols every font has (DejaVu): emoji render as empty boxes on many HPC desktops.
STATE_ICON = {"queued": "…", "staging-in": "⇡", "submitted": "…", "running": "▶",
              "staging-out": "⇣", "done": "✔", "failed": "✘", "cancelling": "■",
              "cancelled": "■"}
# (key, title): the columns, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("state", "State"), ("workflow", "Workflow"), ("site", "Site"), ("start", "Start"),
    ("duration", "Duration"), ("job", "Job id"), ("walltime", "Walltime"))
GRID = "110px minmax(110px, 2fr) minmax(70px, 1fr) 150px 100px minmax(70px, 1fr) 100px"
STATE_FILTERS = ("all", "active", "queued", "staging-in", "submitted", "running",
                 "staging-out", "cancelling", "done", "failed", "cancelled")
PAGE = 50  # rows drawn at most (the filter narrows the rest)


@dataclass(frozen=True)
class Row:
    """One execution as the table shows it."""

    id: str
    cells: tuple[str, ...]
    sort_values: tuple[Any, ...]


def _duration(execution: Any, now: datetime) -> float:
    start = execution.created_at
    end = execution.updated_at if execution.finished else now
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    return max((end - start).total_seconds(), 0.0)


def human_duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def walltime(execution: Any, site_limit: str | None = None) -> str | None:
    """The run's time limit where it is known (Slurm's for its job, the inputs', else the
    limit its site submits with)."""
    queue = getattr(execution, "queue", None) or {}
    for source in (queue.get("time_limit"), (execution.inputs or {}).get("walltime"),
                   site_limit):
        if source:
            return str(source)
    return None


def queue_text(execution: Any) -> str:
    """Slurm's word on an unfinished job: ``PENDING: Resources``, ``RUNNING`` ('' if none)."""
    queue = getattr(execution, "queue", None) or {}
    if execution.finished or not queue.get("state"):
        return ""
    reason = queue.get("reason")
    return f"{queue['state']}: {reason}" if reason else queue["state"]


def state_text(execution: Any) -> str:
    """The state, and where a batch job is: 'submitted' with a job id is Slurm's queue."""
    state = execution.state.value
    text = f"{STATE_ICON.get(state, '')} {state}"
    if execution.remote_job_id and state == "submitted":
        return f"{text} (in queue)"
    return text


def job_text(execution: Any) -> str:
    """The job id, with Slurm's state and pending reason while the job is not finished
    (``940 · PENDING: Resources``): the column has the room the state's has not."""
    job = execution.remote_job_id or ""
    queue = queue_text(execution)
    return f"{job} · {queue}" if job and queue else job


def run_sites(execution: Any) -> list[str]:
    """Every site the run is on: a step graph's steps may each run on another, and its
    ``site`` is only its first step's."""
    return list(getattr(execution, "sites", None) or [execution.site])


def site_limits(execution: Any, limits: Callable[[str], str | None]) -> str | None:
    """The time limit the run's sites submit with: each different one, in site order,
    for a graph whose sites differ (``01:00:00, 02:00:00``)."""
    found = [limit for limit in dict.fromkeys(limits(site) for site in run_sites(execution))
             if limit]
    return ", ".join(found) or None


def make_row(execution: Any, workflow_name: str | None, now: datetime,
             site_limit: str | None = None) -> Row:
    state = execution.state.value
    duration = _duration(execution, now)
    name = workflow_name or execution.workflow_id
    job = job_text(execution)
    limit = walltime(execution, site_limit) or ""
    sites = ", ".join(run_sites(execution))
    cells = (state_text(execution), name, sites,
             f"{execution.created_at:%Y-%m-%d %H:%M:%S}", human_duration(duration), job,
             limit)
    return Row(execution.id, cells, (state, name.lower(), sites,
                                     execution.created_at.timestamp(), duration, job, limit))


def table_rows(executions: Iterable[Any], names: Callable[[str], str | None],
               sort: str = "start", descending: bool = True, state: str = "all",
               text: str = "", now: datetime | None = None,
               limits: Callable[[str], str | None] | None = None) -> list[Row]:
    """The rows to show: filtered by ``state`` ("active": not finished) and ``text`` (a
    graph on two sites matches either's name); ``limits(site)`` is a site's time limit
    (the walltime of runs that name none)."""
    now = now or datetime.now(timezone.utc)
    needle = text.strip().lower()
    rows = []
    for execution in executions:
        value = execution.state.value
        if (state == "active" and execution.finished) or (state not in ("all", "active") and \
                value != state):
            continue
        row = make_row(execution, names(execution.workflow_id), now,
                       site_limits(execution, limits) if limits is not None else None)
        if needle and not any(needle in cell.lower() for cell in (*row.cells[1:3], row.id)):
            continue
        rows.append(row)
    index = [key for key, _t in COLUMNS].index(sort)
    rows.sort(key=lambda r: (r.sort_values[index], r.sort_values[3]), reverse=descending)
    return rows


class JobsTable(widgets.VBox):
    """The table; ``on_open(execution_id)`` is called by a row's Open button."""

    def __init__(self, on_open: Callable[[str], Any]) -> None:
        self.on_open = on_open
        self.sort, self.descending = "start", True
        self.rows: list[Row] = []
        self.selected: str | None = None
        self._executions: list[Any] = []
        self._names: Callable[[str], str | None] = lambda _id: None
        self._limits: Callable[[str], str | None] | None = None
        self._drawn: list[tuple[Row, bool]] | None = None
        self.state_filter = widgets.Dropdown(options=STATE_FILTERS, value="all",
                                             description="State",
                                             layout=widgets.Layout(width="220px"))
        self.text_filter = widgets.Text(placeholder="workflow, site or id",
                                        description="Filter",
                                        layout=widgets.Layout(width="320px"))
        self.state_filter.observe(lambda _c: self.redraw(), names="value")
        self.text_filter.observe(lambda _c: self.redraw(), names="value")
        self.header_buttons: dict[str, widgets.Button] = {}
        for key, title in COLUMNS:
            button = widgets.Button(description=title, layout=widgets.Layout(width="auto"))
            button.on_click(lambda _b, key=key: self.sort_by(key))
            self.header_buttons[key] = button
        header = widgets.GridBox(list(self.header_buttons.values()),
                                 layout=widgets.Layout(grid_template_columns=GRID,
                                                       grid_gap="0 6px", flex="1 1 auto"))
        self.body = widgets.VBox()
        self.empty = widgets.HTML()
        self.add_class("eflows-jobs-table")
        super().__init__([
            widgets.HBox([self.state_filter, self.text_filter],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([header, widgets.Box(layout=widgets.Layout(width="82px",
                                                                    flex="0 0 auto"))]),
            self.body, self.empty], layout=widgets.Layout(width="100%"))
        self._label_headers()

    @property
    def ids(self) -> list[str]:
        return [row.id for row in self.rows]

    def row_text(self, execution_id: str) -> str:
        row = next(r for r in self.rows if r.id == execution_id)
        return "  ".join(row.cells)

    def update(self, executions: list[Any], names: Callable[[str], str | None],
               limits: Callable[[str], str | None] | None = None) -> None:
        self._executions, self._names, self._limits = executions, names, limits
        self.redraw()

    def sort_by(self, key: str) -> None:
        if key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key in ("start", "duration")
        self._label_headers()
        self.redraw()

    def _label_headers(self) -> None:
        for key, title in COLUMNS:
            arrow = (" ▼" if self.descending else " ▲") if key == self.sort else ""
            self.header_buttons[key].description = title + arrow

    def redraw(self) -> None:
        self.rows = table_rows(self._executions, self._names, self.sort, self.descending,
                               self.state_filter.value, self.text_filter.value,
                               limits=self._limits)
        shown = [(row, row.id == self.selected) for row in self.rows[:PAGE]]
        if shown == self._drawn:
            return
        self._drawn = shown
        self.body.children = [self._row_widget(row, selected) for row, selected in shown]
        if not self._executions:
            self.empty.value = ("<i>No execution yet. Deploy a workflow (Deploy tab): its "
                                "runs appear here, live.</i>")
        elif not self.rows:
            self.empty.value = "<i>No execution matches the filter.</i>"
        elif len(self.rows) > PAGE:
            self.empty.value = (f"<i>{len(self.rows) - PAGE} more: narrow the filter to see "
                                "them.</i>")
        else:
            self.empty.value = ""

    def _row_widget(self, row: Row, selected: bool) -> widgets.Widget:
        cells = "".join(f"<div title='{esc(cell)}' style='overflow:hidden;"
                        f"text-overflow:ellipsis;white-space:nowrap'>{esc(cell)}</div>"
                        for cell in row.cells)
        background = "background:var(--jp-layout-color2, #eee);" if selected else ""
        html = widgets.HTML(f"<div class='eflows-job-row' data-execution='{esc(row.id)}' "
                            f"style='display:grid;grid-template-columns:{GRID};"
                            f"gap:0 6px;{background}'>{cells}</div>",
                            layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        button = widgets.Button(description="Open", tooltip=f"Open {row.id}",
                                layout=widgets.Layout(width="76px", flex="0 0 auto"))
        button.on_click(lambda _b, rid=row.id: self.on_open(rid))
        return widgets.HBox([html, button], layout=widgets.Layout(width="100%"))
