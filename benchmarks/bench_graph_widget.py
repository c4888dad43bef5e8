"""Task-graph widget, kernel side: cost of live updates for 1,000 / 10,000 / 100,000 tasks.

Synthetic event streams (a fan-out of ``make`` tasks, one ``process`` task each, a
``merge`` tree) are fed at 5,000 events/s; the view is refreshed every 0.1 s as its
refresher thread does (here called directly, so the times are the kernel's work only:
applying the events and packing the binary delta, and now and then the snapshot kept
for late front ends). Widget messages are counted with a comm that serialises them as
Jupyter would (JSON plus binary buffers).

Measured side by side, in one run, with a naive baseline: one plotly trace for all
nodes whose arrays are re-sent whole at each update (what a straightforward
FigureWidget does). What the browser does with it: bench_graph_browser.py.

Targets (issue #3): <= 50 ms per update at 10,000 tasks, first full figure <= 1 s at
10,000 tasks, 100,000 tasks stay interactive.

    .venv/bin/python benchmarks/bench_graph_widget.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import comm
from comm.base_comm import BaseComm

from eflows_kernel.widgets.graph_view import TaskGraphView

EVENTS_PER_SECOND = 5_000
COLOURS = {"pending": "#bdbdbd", "ready": "#64b5f6", "running": "#f57c00", "done": "#388e3c",
           "failed": "#d32f2f", "cancelled": "#616161"}
REFRESH = 0.1


class CountingComm(BaseComm):
    """A comm that serialises every message as the kernel would, and counts it."""

    messages = 0
    bytes = 0

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        CountingComm.messages += 1
        CountingComm.bytes += len(json.dumps(data, default=str))
        CountingComm.bytes += sum(len(memoryview(b).cast("B")) for b in buffers or ())



def synthetic_run(n: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    seq = 0
    now = time.time()

    def emit(**fields: Any) -> None:
        nonlocal seq
        seq += 1
        events.append({"v": 1, "seq": seq, "run": "bench", "ts": now, **fields})

    emit(type="run", state="running")
    makers = n * 45 // 100
    deps: dict[int, list[int]] = {}
    task = 0
    for _ in range(makers):
        task += 1
        deps[task] = []
    for i in range(makers):
        task += 1
        deps[task] = [i + 1]
    level = list(range(makers + 1, task + 1))
    while len(level) > 1 and task < n:
        nxt = []
        for i in range(0, len(level), 2):
            task += 1
            deps[task] = level[i:i + 2]
            nxt.append(task)
            if task >= n:
                break
        level = nxt
    while task < n:
        task += 1
        deps[task] = []
    names = {t: "make" if not d else ("process" if t <= 2 * makers else "merge")
             for t, d in deps.items()}
    for t, d in deps.items():
        emit(type="task", task=t, state="pending" if d else "ready", name=names[t],
             deps=d, args={"x": str(t)})
    for t in deps:
        worker = f"tcp://10.0.0.{t % 8}:40000"
        emit(type="task", task=t, state="running", attempt=1, worker=worker, started=now,
             worker_name=f"node{t % 8}/0")
        if t % 997 == 0:
            emit(type="task", task=t, state="failed", attempt=1, worker=worker,
                 started=now, ended=now + 0.01, final=True, on_failure="IGNORE",
                 error="Traceback...\nValueError: synthetic failure")
        else:
            emit(type="task", task=t, state="done", attempt=1, worker=worker,
                 started=now, ended=now + 0.01)
    emit(type="run", state="done")
    return events


class NaiveView:
    """Baseline: one FigureWidget trace, every array re-sent at every update."""

    def __init__(self) -> None:
        import plotly.graph_objects as go

        self.fig = go.FigureWidget()
        self.fig.add_scatter(x=[], y=[], mode="markers", hoverinfo="text")
        self.pos: dict[int, tuple[float, float]] = {}
        self.state: dict[int, str] = {}
        self.layer: dict[int, int] = {}
        self.width: dict[int, int] = {}

    def feed(self, event: dict[str, Any]) -> None:
        if event["type"] != "task":
            return
        task = event["task"]
        if task not in self.pos:
            layer = max((self.layer[d] + 1 for d in event.get("deps", ())), default=0)
            self.layer[task] = layer
            self.width[layer] = self.width.get(layer, 0) + 1
            self.pos[task] = (float(self.width[layer]), float(-layer))
        self.state[task] = event["state"]

    def refresh(self) -> None:
        ids = list(self.pos)
        trace = self.fig.data[0]
        with self.fig.batch_update():
            trace.x = [self.pos[t][0] for t in ids]
            trace.y = [self.pos[t][1] for t in ids]
            trace.marker.color = [COLOURS[self.state[t]] for t in ids]
            trace.hovertext = [f"#{t} {self.state[t]}" for t in ids]


def measure(kind: str, n: int, events: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    CountingComm.messages = CountingComm.bytes = 0
    view: Any = TaskGraphView(**options) if kind == "eflows" else NaiveView()
    per_refresh = int(EVENTS_PER_SECOND * REFRESH)
    first_events = 1 + n  # the run event and every task's first event
    started = time.perf_counter()
    for event in events[:first_events]:
        view.feed(event)
    view.refresh()
    first_figure = time.perf_counter() - started
    updates: list[float] = []
    messages_before, bytes_before = CountingComm.messages, CountingComm.bytes
    rest = events[first_events:]
    for i in range(0, len(rest), per_refresh):
        for event in rest[i:i + per_refresh]:
            view.feed(event)
        tick = time.perf_counter()
        view.refresh()
        updates.append(time.perf_counter() - tick)
    seconds = len(updates) * REFRESH
    return {
        "view": kind,
        "tasks": n,
        "first": first_figure,
        "median": statistics.median(updates),
        "max": max(updates),
        "msgs": (CountingComm.messages - messages_before) / seconds,
        "kb": (CountingComm.bytes - bytes_before) / seconds / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--naive-up-to", type=int, default=10_000,
                        help="largest size the naive baseline is run at")
    args = parser.parse_args()
    comm.create_comm = CountingComm  # widgets created from now on talk through it
    rows = []
    for n in args.sizes:
        events = synthetic_run(n)
        rows.append(measure("eflows", n, events))
        if n <= args.naive_up_to:
            rows.append(measure("naive", n, events))
    print(f"\nevents fed at {EVENTS_PER_SECOND}/s, one update every {REFRESH} s; "
          "times are kernel-side")
    print(f"{'view':<24}{'tasks':>8}{'first fig s':>12}{'update ms':>11}{'max ms':>8}"
          f"{'msgs/s':>8}{'KB/s':>10}{'vs naive':>10}")
    naive = {r["tasks"]: r for r in rows if r["view"] == "naive"}
    for r in rows:
        base = naive.get(r["tasks"])
        ratio = f"{r['median'] / base['median']:.2f}x" if base and r is not base else ""
        print(f"{r['view']:<24}{r['tasks']:>8}{r['first']:>12.3f}{1000 * r['median']:>11.1f}"
              f"{1000 * r['max']:>8.1f}{r['msgs']:>8.1f}{r['kb']:>10.1f}{ratio:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
