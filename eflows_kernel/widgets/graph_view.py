"""The live task-graph view: a DAG, a per-worker timeline, counts and task details.

Any event source feeds it (``feed`` is thread-safe): an engine in this process, a
run's event log being written elsewhere, or a finished log to replay. Events only
update the model; a refresher thread redraws at most ``1 / refresh_interval`` times a
second, sending only what changed (nodes are drawn in chunks of 1,000, so a state
change re-sends one chunk, not the graph). Above ``max_nodes`` tasks the DAG switches
to one node per task function, so 100,000-task runs stay readable and responsive.
"""

from __future__ import annotations

import copy
import html
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from eflows_kernel.widgets.graph_model import (
    STATE_COLOURS,
    STATES,
    RunGraphModel,
    TaskInfo,
    first_line,
)

CHUNK = 1000
_RUN_ENDED = ("done", "failed", "cancelled")


class FigureWidget(go.FigureWidget):
    """A FigureWidget whose full state is current whenever a front end asks for it.

    Plotly sends changes as one-off messages and refreshes the figure's full state
    only when the figure itself is displayed, not inside a box. A front end that
    loads the widget state later (Voila, a reloaded JupyterLab page) would get the
    figure as it was when created: empty. Refreshing the state on full-state
    requests fixes that without re-sending the figure at every update.
    """

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> Any:
        if key is None and getattr(self, "_data", None) is not None:
            # Set without notifying: this is the state being read, not a change to send.
            self._trait_values["_widget_data"] = copy.deepcopy(self._data)
            self._trait_values["_widget_layout"] = copy.deepcopy(self._layout_obj._props)
        return super().get_state(key, drop_defaults)


class _Chunk:
    """Up to CHUNK tasks drawn as one node trace plus one edge trace."""

    def __init__(self, nodes: Any, edges: Any) -> None:
        self.nodes = nodes
        self.edges = edges
        self.ids: list[int] = []
        self.x: list[float] = []
        self.y: list[float] = []
        self.colours: list[str] = []
        self.hover: list[str] = []
        self.edge_x: list[float | None] = []
        self.edge_y: list[float | None] = []


class TaskGraphView(widgets.VBox):
    """Live view of one run's tasks. Create with ``for_engine``, ``follow`` or ``replay``."""

    def __init__(self, first_task: int | None = None, max_nodes: int = 5000,
                 refresh_interval: float = 0.1, timeline_limit: int = 2000,
                 height: int = 640) -> None:
        self.model = RunGraphModel(first_task, timeline_limit)
        self.max_nodes = max_nodes
        self.refresh_interval = refresh_interval
        self._pending: deque[dict[str, Any]] = deque()
        self._render_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Any = None
        self._chunks: list[_Chunk] = []
        self._chunk_of_trace: dict[int, int] = {}
        self._aggregated = False
        self._aggregate_traces: tuple[Any, Any] | None = None
        self._timeline_rendered_at = 0.0
        self.renders = 0

        self._header = widgets.HTML()
        self._progress = widgets.IntProgress(value=0, min=0, max=1, bar_style="info",
                                             layout=widgets.Layout(width="260px"))
        # One figure holds the DAG (top) and the per-worker timeline (bottom): every
        # FigureWidget ships plotly.js (~5 MB) to the browser, so one per view.
        self.graph = FigureWidget(layout=go.Layout(
            height=height, margin={"l": 10, "r": 10, "t": 30, "b": 30},
            xaxis={"visible": False, "domain": [0, 1]},
            yaxis={"visible": False, "domain": [0.3, 1]},
            xaxis2={"anchor": "y2", "title": {"text": "seconds since the first task started",
                                              "standoff": 2}},
            yaxis2={"anchor": "x2", "domain": [0, 0.2], "automargin": True},
            plot_bgcolor="white", hovermode="closest", showlegend=True, barmode="overlay",
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
            annotations=[{"text": "<b>Timeline</b> (one row per worker)", "xref": "paper",
                          "yref": "paper", "x": 0, "y": 0.235, "showarrow": False,
                          "xanchor": "left"}],
            uirevision="keep"))
        for state in ("done", "failed", "running"):  # timeline bars, one trace per state
            self.graph.add_bar(x=[], y=[], base=[], orientation="h", name=state,
                               marker={"color": STATE_COLOURS[state]}, hovertext=[],
                               hoverinfo="text", xaxis="x2", yaxis="y2", showlegend=False)
        for state in STATES:  # legend entries: one per state, with no points
            self.graph.add_scatter(x=[None], y=[None], mode="markers", name=state,
                                   marker={"color": STATE_COLOURS[state], "size": 10},
                                   hoverinfo="skip")
        self.timeline_traces = self.graph.data[:3]
        self._fixed_traces = len(self.graph.data)
        self.details = widgets.HTML("<i>Click a task to see its details.</i>")
        super().__init__([widgets.HBox([self._header, self._progress]), self.graph,
                          self.details])
        self._render_header()

    # -- sources ------------------------------------------------------------------------
    @classmethod
    def for_engine(cls, engine: Any, first_task: int | None = None,
                   **options: Any) -> TaskGraphView:
        """Live view of an engine's run in this process (from ``first_task`` on)."""
        view = cls(first_task=first_task, **options)
        view._subscription = engine.events.subscribe(view.feed, from_seq=0)
        view.start()
        return view

    @classmethod
    def replay(cls, path: str | Path, **options: Any) -> TaskGraphView:
        """The final picture of a finished run, from its event log file."""
        from eflows_kernel.events import read_events

        view = cls(**options)
        for event in read_events(path):
            view.model.apply(event)
        view.render()
        return view

    @classmethod
    def follow(cls, path: str | Path, from_seq: int = 0, **options: Any) -> TaskGraphView:
        """Live view of a run writing its event log (here or on a shared file system)."""
        from eflows_kernel.events import EventLogReader

        view = cls(**options)
        reader = EventLogReader(path, from_seq)

        def tail() -> None:
            for event in reader.follow(interval=view.refresh_interval, stop=view._stop):
                view.feed(event)

        threading.Thread(target=tail, daemon=True, name="eflows-graph-follow").start()
        view.start()
        return view

    def feed(self, event: dict[str, Any]) -> None:
        """Accept one event, from any thread; it shows at the next refresh."""
        self._pending.append(event)

    # -- refreshing ---------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._refresh_loop, daemon=True,
                                            name="eflows-graph-refresh")
            self._thread.start()

    def seal(self, last_task: int) -> None:
        """Show no task after ``last_task`` (the kernel seals a cell's view when it ends);
        the view stops following the run once its tasks have finished."""
        self.model.last_task = last_task

    def stop(self) -> None:
        """Stop following the source (the view keeps what it shows)."""
        self._stop.set()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def close(self) -> None:
        self.stop()
        super().close()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_interval):
            model = self.model
            if self._pending:
                self.refresh()
            elif model.run_state in _RUN_ENDED or (
                    model.last_task is not None and model.finished == model.total):
                self.stop()  # nothing more will change here
            elif self.model.timeline_changed or self.model.counts["running"]:
                self._render_timeline()  # running bars grow

    def refresh(self) -> None:
        """Apply the events received so far and redraw what changed."""
        pending = self._pending
        apply = self.model.apply
        while pending:
            apply(pending.popleft())
        self.render()

    # -- rendering ----------------------------------------------------------------------
    def render(self) -> None:
        with self._render_lock:
            self.renders += 1
            model = self.model
            header = model.header_changed
            new, changed = model.take_changes()
            if not self._aggregated and model.total > self.max_nodes:
                self._switch_to_aggregated()
            if self._aggregated:
                self._render_aggregated()
            elif new or changed:
                self._render_tasks(new, changed)
            if header or new or changed:
                self._render_header()
            self._render_timeline()

    def _render_header(self) -> None:
        model = self.model
        run = f"run {model.run_id} {model.run_state}" if model.run_id else "waiting for tasks"
        counts = " ".join(
            f'<span style="color:{STATE_COLOURS[s]}">&#9679;</span> {s} {model.counts[s]}'
            for s in STATES)
        mode = " (grouped by function)" if self._aggregated else ""
        self._header.value = (f"<b>{html.escape(run)}</b>: {model.total} tasks{mode} "
                              f"&nbsp; {counts}")
        self._progress.max = max(1, model.total)
        self._progress.value = model.finished
        self._progress.bar_style = ("danger" if model.counts["failed"] else
                                    "success" if model.finished == model.total else "info")

    def _render_tasks(self, new: list[int], changed: set[int]) -> None:
        model = self.model
        touched: set[int] = set()
        for task_id in new:
            info = model.tasks[task_id]
            chunk = self._chunk(info.index // CHUNK)
            chunk.ids.append(task_id)
            chunk.x.append(info.x)
            chunk.y.append(-info.layer)
            chunk.colours.append(STATE_COLOURS[info.state])
            chunk.hover.append(info.hover())
            for dep in model.edges([task_id]):
                chunk.edge_x += [dep[0].x, info.x, None]
                chunk.edge_y += [-dep[0].layer, -info.layer, None]
            touched.add(info.index // CHUNK)
        new_set = set(new)
        for task_id in changed - new_set:
            info = model.tasks.get(task_id)
            if info is None:
                continue
            index = info.index // CHUNK
            chunk = self._chunks[index]
            position = info.index - index * CHUNK
            chunk.colours[position] = STATE_COLOURS[info.state]
            chunk.hover[position] = info.hover()
            touched.add(index)
        with self.graph.batch_update():
            for index in touched:
                chunk = self._chunks[index]
                nodes = chunk.nodes
                if len(nodes.x or ()) != len(chunk.x):
                    nodes.x, nodes.y = chunk.x, chunk.y
                    chunk.edges.x, chunk.edges.y = chunk.edge_x, chunk.edge_y
                nodes.marker.color = chunk.colours
                nodes.hovertext = chunk.hover

    def _chunk(self, index: int) -> _Chunk:
        while len(self._chunks) <= index:
            self.graph.add_scatter(x=[], y=[], mode="lines", hoverinfo="skip",
                                   line={"color": "#b0b0b0", "width": 1}, showlegend=False)
            self.graph.add_scatter(x=[], y=[], mode="markers", hoverinfo="text",
                                   marker={"size": 11, "line": {"width": 0.5,
                                                                "color": "#555"}},
                                   showlegend=False)
            edges, nodes = self.graph.data[-2], self.graph.data[-1]
            nodes.on_click(self._on_click)
            self._chunk_of_trace[id(nodes)] = len(self._chunks)
            self._chunks.append(_Chunk(nodes, edges))
        return self._chunks[index]

    def _switch_to_aggregated(self) -> None:
        """Replace the per-task drawing with one node per function, never blanking."""
        self._aggregated = True
        self.graph.add_scatter(x=[], y=[], mode="lines", hoverinfo="skip", showlegend=False,
                               line={"color": "#b0b0b0", "width": 2})
        self.graph.add_scatter(x=[], y=[], mode="markers+text", hoverinfo="text",
                               textposition="bottom center", showlegend=False,
                               marker={"line": {"width": 1, "color": "#555"}})
        edges, nodes = self.graph.data[-2], self.graph.data[-1]
        nodes.on_click(self._on_click)
        self._aggregate_traces = (edges, nodes)
        self._render_aggregated()
        self.graph.data = (*self.graph.data[:self._fixed_traces], edges, nodes)
        self._chunks.clear()

    def _render_aggregated(self) -> None:
        assert self._aggregate_traces is not None
        edges, nodes = self._aggregate_traces
        functions = list(self.model.functions.values())
        edge_x: list[float | None] = []
        edge_y: list[float | None] = []
        for stats in functions:
            for dep in stats.deps:
                source = self.model.functions[dep]
                edge_x += [source.x, stats.x, None]
                edge_y += [-source.layer, -stats.layer, None]
        with self.graph.batch_update():
            nodes.x = [f.x for f in functions]
            nodes.y = [-f.layer for f in functions]
            nodes.text = [f"{f.name} {f.finished}/{f.total}" for f in functions]
            nodes.hovertext = [f.hover() for f in functions]
            nodes.marker.color = [STATE_COLOURS[f.state()] for f in functions]
            nodes.marker.size = [min(60, 14 + 4 * f.total ** 0.3) for f in functions]
            edges.x, edges.y = edge_x, edge_y

    def _render_timeline(self) -> None:
        model = self.model
        if not model.timeline_changed and not model.counts["running"]:
            return
        now = time.monotonic()
        if now - self._timeline_rendered_at < 0.5:  # a secondary view: 2 redraws/s
            return
        self._timeline_rendered_at = now
        model.timeline_changed = False
        attempts = list(model.attempts)
        if not attempts:
            return
        origin = min(a.started for a in attempts)
        wall = time.time()
        bars: dict[str, tuple[list[Any], ...]] = {s: ([], [], [], []) for s in
                                                   ("done", "failed", "running")}
        for attempt in attempts:
            x, y, base, text = bars.get(attempt.state, bars["done"])
            end = attempt.ended if attempt.ended is not None else wall
            x.append(max(end - attempt.started, 1e-3))
            y.append(attempt.worker)
            base.append(attempt.started - origin)
            text.append(f"#{attempt.task} {attempt.name}: {end - attempt.started:.3f} s")
        with self.graph.batch_update():
            for trace in self.timeline_traces:
                x, y, base, text = bars[trace.name]
                trace.x, trace.y, trace.base, trace.hovertext = x, y, base, text

    # -- details ------------------------------------------------------------------------
    def _on_click(self, trace: Any, points: Any, _state: Any) -> None:
        if not points.point_inds:
            return
        index = points.point_inds[0]
        if self._aggregated:
            functions = list(self.model.functions.values())
            if index < len(functions):
                self.show_function(functions[index].name)
            return
        chunk = self._chunks[self._chunk_of_trace[id(trace)]]
        if index < len(chunk.ids):
            self.show_task(chunk.ids[index])

    def show_task(self, task_id: int) -> TaskInfo:
        """Show one task's details below the graph (also what a click does)."""
        info = self.model.tasks[task_id]
        rows = [("state", info.state), ("attempt", info.attempt or ""),
                ("worker", info.worker or ""),
                ("duration", f"{info.duration:.3f} s" if info.duration is not None else ""),
                ("depends on", ", ".join(f"#{d}" for d in info.deps) or "nothing"),
                ("groups", ", ".join(info.groups)), ("cancelled because", info.reason or "")]
        rows += [(f"argument {k}", v) for k, v in (info.args or {}).items()]
        table = "".join(f"<tr><td><b>{html.escape(str(k))}</b></td>"
                        f"<td><code>{html.escape(str(v))}</code></td></tr>"
                        for k, v in rows if v != "")
        error = (f"<pre style='color:#a00;white-space:pre-wrap'>{html.escape(info.error)}"
                 "</pre>" if info.error else "")
        self.details.value = (f"<h4>Task #{info.id} {html.escape(info.name)}</h4>"
                              f"<table>{table}</table>{error}")
        return info

    def show_function(self, name: str) -> None:
        stats = self.model.functions[name]
        failed = [t for t in self.model.tasks.values() if t.name == name and t.error][-5:]
        errors = "".join(f"<li>#{t.id}: <code>{html.escape(first_line(t.error or ''))}"
                         "</code></li>" for t in failed)
        self.details.value = (f"<h4>{html.escape(name)}</h4><p>{stats.hover()}</p>"
                              + (f"<p>Last errors:</p><ul>{errors}</ul>" if errors else ""))

    def __repr__(self) -> str:
        # Stable on purpose: notebooks are checked against their saved text outputs.
        return "<eFlows task graph>"

    def failed_tasks(self) -> list[TaskInfo]:
        return [t for t in self.model.tasks.values() if t.state == "failed"]
