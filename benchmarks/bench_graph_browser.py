"""The live task graph in a real browser: JupyterLab, the eFlows kernel, headless Chromium.

Two measurements (issue #16), each in a fresh ``jupyter lab`` (2 local workers) driven by
Playwright with Debian's /usr/bin/chromium (flags of tests/browser/conftest.py):

``fanout``  a cell submits a 20,000-task fan-out/fan-in (N leaves, a ``part`` per 100 of
            them, one ``total``) and waits for it; run twice, with the live graph (the
            widget under the cell) and with it closed (``integration.disable()``), side
            by side. Reported: submission and run time (from the cell), the longest gap
            between two ``requestAnimationFrame`` callbacks during the run, whether the
            kernel's WebSocket closed (and the server's WebSocket errors), and how far the
            widget's finished count lagged behind the engine's (for the k-th finished
            task: when the widget first showed k, minus the time in its event).
``dag``     a 100,000-task run is shown as a full DAG: a cell writes a synthetic event
            log at a run's pace while ``TaskGraphView.follow`` shows it. Reported: time
            from the run's last event to the browser showing the final picture, frames
            per second while panning and zooming (driven by the page's own animation
            loop, and by Playwright wheel/drag input), the JS heap.

    .venv/bin/python benchmarks/bench_graph_browser.py [--scenario fanout|dag|all]
        [--tasks 20000] [--dag-tasks 100000] [--dag-seconds 20] [--workers 2]
        [--profile DIR]

``--profile DIR`` also records, for each fan-out run, a Chromium performance trace of
the page (``DIR/<view>.trace.json``, open it in DevTools' Performance panel; its long
tasks are summarised by ``trace_summary.py``) and, when ``py-spy`` is on the PATH, a
sampling profile of the kernel process (``DIR/<view>.kernel.txt``, collapsed stacks;
the busiest functions and threads are printed).

Not part of the test suite (it takes minutes and owns the machine's two cores).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import trace_summary  # noqa: E402 - beside this file

from tests.browser.conftest import (  # noqa: E402 - the tests' own launch settings
    CHROMIUM,
    CHROMIUM_ARGS,
    VENV_BIN,
    _Server,
    _server_env,
    free_port,
)

TARGET_GAP_MS = 250
TARGET_LAG_S = 1.0
TARGET_FIRST_RENDER_S = 2.0
TARGET_FPS = 30

# Before any page script: a frame-gap recorder (started on demand), WebSocket closes,
# and the finished count of the first graph each time it changes.
INSTRUMENT = """
window.__bench = {frames: [], closes: [], counts: [], recording: false, status: [],
                messages: [], long: []};
(function () {
  const Original = window.WebSocket;
  function Tracked(...args) {
    const ws = new Original(...args);
    ws.addEventListener('close', (e) => window.__bench.closes.push(
      {t: Date.now(), code: e.code, url: String(args[0])}));
    return ws;
  }
  Tracked.prototype = Original.prototype;
  Object.assign(Tracked, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Tracked;
  const tick = (t) => {
    if (window.__bench.recording) window.__bench.frames.push(performance.timeOrigin + t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  // Long tasks of the page (start, duration; unix ms): what held a count back.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__bench.long.push([performance.timeOrigin + e.startTime, e.duration]);
      }
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { /* no long-task timing in this browser */ }
  const watch = () => {
    const g = document.querySelector('.eflows-graph');
    if (!g) { setTimeout(watch, 50); return; }
    g.scrollIntoView({block: 'start'});  // as someone watching it (off screen, it rests)
    // Every kernel message the graph's store gets: [received (unix s), kind, seq, the
    // kernel's clock when it encoded it, its finished count, bytes].
    const store = g.eflowsGraph && g.eflowsGraph.store;
    if (store) {
      const accept = store.accept.bind(store);
      store.accept = (meta, data) => {
        const h = (meta && meta.header) || {};
        window.__bench.messages.push([Date.now() / 1000, meta && meta.kind, meta && meta.seq,
          h.now, h.finished, data ? data.byteLength || 0 : 0]);
        return accept(meta, data);
      };
      if (store.acceptHeader) {  // header-only messages (between deltas)
        const acceptHeader = store.acceptHeader.bind(store);
        store.acceptHeader = (msg) => {
          const h = msg.header || {};
          window.__bench.messages.push([Date.now() / 1000, 'header', msg.seq, h.now,
                                        h.finished, 0]);
          return acceptHeader(msg);
        };
      }
    }
    new MutationObserver(() => {
      const c = JSON.parse(g.dataset.counts || '[0,0,0,0,0,0]');
      const b = window.__bench;
      const finished = c[3] + c[4] + c[5];
      if (!b.counts.length || b.counts[b.counts.length - 1][1] !== finished) {
        b.counts.push([Date.now() / 1000, finished]);
      }
      if (!b.status.length || b.status[b.status.length - 1][1] !== g.dataset.status) {
        b.status.push([Date.now() / 1000, g.dataset.status, Number(g.dataset.total)]);
      }
    }).observe(g, {attributes: true});
  };
  watch();
})();
"""

FANOUT_CELL = """
import json, time
from pycompss.api.task import task
from pycompss.api.api import compss_wait_on
import eflows_kernel
{disable}
@task(returns=1)
def leaf(i):
    return i

@task(returns=1)
def part(*values):
    return sum(values)

# When the engine learned of each finished task (its count), and the kernel's long GC
# pauses: where a count lag comes from (an append per event, in both runs).
import gc
known, pauses, gc_start = [], [], [0.0]
def _known(event):
    if event.get("type") == "task" and (event["state"] in ("done", "cancelled") or (
            event["state"] == "failed" and event.get("final"))):
        known.append(time.time())
def _gc(phase, info):
    if phase == "start":
        gc_start[0] = time.perf_counter()
    elif time.perf_counter() - gc_start[0] > 0.02:
        pauses.append([time.time(), time.perf_counter() - gc_start[0], info["generation"]])
gc.callbacks.append(_gc)
_recorder = eflows_kernel.current_engine().events.subscribe(_known, from_seq=None)

t0, cpu0 = time.time(), time.process_time()
leaves = [leaf(i) for i in range({n})]
parts = [part(*leaves[i:i + 100]) for i in range(0, len(leaves), 100)]
total = part(*parts)
t1 = time.time()
result = compss_wait_on(total)
t2 = time.time()
cpu = time.process_time() - cpu0
_recorder.close()
gc.callbacks.remove(_gc)
with open("kernel-times.json", "w") as out:
    json.dump({{"known": known, "gc": pauses}}, out)
print("BENCH " + json.dumps({{"submit": t1 - t0, "run": t2 - t0, "t0": t0, "t2": t2,
      "kernel_cpu": cpu, "result": result,
      "log": str(eflows_kernel.current_engine().events.log_path)}}))
"""

DAG_CELL = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {benchmarks!r})
from bench_graph_widget import synthetic_run
from eflows_kernel.widgets.graph_view import TaskGraphView

events = synthetic_run({n})
path = Path("dag.jsonl")
path.write_text("")
view = TaskGraphView.follow(path, max_nodes={n} + 1)
display(view)
per_second = len(events) / {seconds}
started_at = {{}}
t0 = time.time()
with path.open("a") as log:
    for i, event in enumerate(events):
        now = time.time()
        event["ts"] = now
        if event["type"] == "task" and event["state"] == "running":
            started_at[event["task"]] = now
            event["started"] = now
        elif "ended" in event:
            event["started"] = started_at.get(event["task"], now)
            event["ended"] = now
        log.write(json.dumps(event) + "\\n")
        if i % 2000 == 0:
            log.flush()
            ahead = t0 + i / per_second - time.time()
            if ahead > 0:
                time.sleep(ahead)
last = time.time()
print("BENCH " + json.dumps({{"last_event": last, "events": len(events), "t0": t0}}))
"""


class Lab:
    """A ``jupyter lab`` (eFlows kernel, ``workers`` local workers) and a Chromium page."""

    def __init__(self, root: Path, workers: int, code: Path | None = None) -> None:
        self.root = root
        base = root / "_jupyter"
        base.mkdir(parents=True)
        self.token = secrets.token_hex(16)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        # Jupyter and eFlows state of their own (no user's database, vault or runs).
        env = _server_env(base, {"EFLOWS_WORKERS": str(workers),
                                 "EFLOWS_EVENT_LOG_DIR": str(root / "runs"),
                                 "JUPYTER_DATA_DIR": str(base / "data"), "EFLOWS_STATE_URL": "",
                                 "EFLOWS_VAULT_KEY": "",
                                 "EFLOWS_CONFIG": str(base / "no-config.toml")})
        if code is not None:  # another version of the package (e.g. main's), for "before"
            env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
        cmd = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               *(["--allow-root"] if os.geteuid() == 0 else [])]
        self.server = _Server("jupyter lab", cmd, cwd=root, env=env, log=base / "server.log",
                              probe_url=f"{self.url}api")

    def server_errors(self) -> int:
        text = self.server.log.read_text(errors="replace")
        return len(re.findall(r"WebSocketClosedError|ping timeout|Connection lost", text))


@contextmanager
def lab_page(workers: int, code: Path | None = None) -> Iterator[tuple[Lab, Any, Any]]:
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="eflows-bench-graph-"))
    lab = Lab(root, workers, code)
    lab.server.start(90)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(600_000)
            page.add_init_script(INSTRUMENT)
            try:
                yield lab, page, page.context.new_cdp_session(page)
            except BaseException:
                artifacts = REPO / "test-artifacts"
                artifacts.mkdir(exist_ok=True)
                page.screenshot(path=str(artifacts / "bench-graph-browser-failed.png"))
                print("graphs:", page.evaluate("""() => Array.from(document.querySelectorAll(
                    '.eflows-graph')).map(g => ({...g.dataset}))"""), file=sys.stderr)
                outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
                print("cell outputs:\n" + "\n".join(o[-2000:] for o in outputs),
                      file=sys.stderr)
                print(f"server log: {lab.server.log_tail(30)}", file=sys.stderr)
                raise
            finally:
                browser.close()
    finally:
        lab.server.stop()


def busy_seconds(cdp: Any) -> float:
    """Time the page's main thread has spent on tasks so far (Chrome's TaskDuration)."""
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics.get("TaskDuration", float("nan"))


def run_notebook(lab: Lab, page: Any, cells: list[str], name: str = "bench.ipynb") -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "eflows", "display_name": "eFlows4HPC (Python 3)",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, lab.root / name)
    page.goto(f"{lab.url}lab/tree/{name}?token={lab.token}")
    page.get_by_text("eFlows4HPC (Python 3) | Idle").first.wait_for(timeout=180_000)
    page.evaluate("window.__bench.recording = true")
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()


def cell_result(page: Any, timeout: float) -> dict[str, Any]:
    """The JSON a benchmark cell prints after ``BENCH``."""
    text = page.locator(".jp-OutputArea-output", has_text=re.compile("^BENCH ", re.M)).last
    text.wait_for(timeout=timeout * 1000)
    line = next(ln for ln in text.inner_text().splitlines() if ln.startswith("BENCH "))
    return json.loads(line[len("BENCH "):])


def longest_gap_ms(frames: list[float], start: float, end: float) -> tuple[float, float]:
    """Longest and 99th-percentile gap (ms) between frames inside [start, end] (unix s)."""
    inside = [f for f in frames if start * 1000 <= f <= end * 1000]
    gaps = sorted(b - a for a, b in itertools.pairwise(inside))
    if not gaps:
        return float("nan"), float("nan")
    return gaps[-1], gaps[int(0.99 * (len(gaps) - 1))]


def finished_times(log: Path) -> list[float]:
    """When each task finished (its event's time: the end on the worker), in order."""
    return sorted(e["ts"] for e in map(json.loads, log.read_text().splitlines())
                  if e.get("type") == "task" and (e["state"] in ("done", "cancelled") or (
                      e["state"] == "failed" and e.get("final"))))


def first_reaching(points: list[list[Any]], k: int, position: int, count: int = 1) -> int:
    """Index of the first of ``points`` (from ``position`` on) whose count reaches ``k``."""
    while position < len(points) and (points[position][count] or 0) < k:
        position += 1
    return position


def count_lag(rows: list[dict[str, float]]) -> tuple[float, float]:
    """Max and 99th-percentile lag (s) of the widget's finished count behind the engine's."""
    lags = sorted(row["lag"] for row in rows)
    return lags[-1], lags[int(0.99 * (len(lags) - 1))]


def lag_per_k(ended: list[float], shown: list[list[float]],
              known: list[float] | None = None,
              messages: list[list[Any]] | None = None) -> list[dict[str, float]]:
    """For the k-th finished task: its lag (the widget first showing k, minus its end) and,
    with the engine's and the browser's records, where that time went: ``report`` (the
    end on the worker until the engine counted k), ``kernel`` (until the kernel encoded
    a message saying k), ``wire`` (until the page got it), ``page`` (until it showed)."""
    known = sorted(known or [])
    deltas = [m for m in messages or [] if m[3] is not None and m[4] is not None]
    rows = []
    shown_at = got_at = 0
    for k, ts in enumerate(ended, start=1):
        shown_at = first_reaching(shown, k, shown_at)
        end = shown[shown_at][0] if shown_at < len(shown) else float("inf")
        row = {"k": k, "ended": ts, "lag": max(0.0, end - ts)}
        if known and deltas and k <= len(known):
            got_at = first_reaching(deltas, k, got_at, count=4)
            if got_at < len(deltas):
                received, encoded = deltas[got_at][0], deltas[got_at][3]
                row.update(report=known[k - 1] - ts, kernel=encoded - known[k - 1],
                           wire=received - encoded, page=end - received)
        rows.append(row)
    return rows


def explain_lag(rows: list[dict[str, float]], t0: float, submitted: float,
                messages: list[list[Any]], long_tasks: list[list[float]],
                gc_pauses: list[list[float]], worst: int = 6) -> str:
    """Where the count lag goes: per part, and at the worst moments (with what ran)."""
    parts = ("report", "kernel", "wire", "page")
    split = [r for r in rows if "kernel" in r]
    lines = []
    if split:
        def pct(values: list[float], q: float) -> float:
            return sorted(values)[int(q * (len(values) - 1))]
        lines.append("count lag by part (s):  " + "  ".join(
            f"{p} p50 {pct([r[p] for r in split], 0.5):.2f} p99 "
            f"{pct([r[p] for r in split], 0.99):.2f} max {max(r[p] for r in split):.2f}"
            for p in parts))
    for phase, inside in (("submitting", lambda r: r["ended"] <= t0 + submitted),
                          ("running", lambda r: r["ended"] > t0 + submitted)):
        chosen = [r["lag"] for r in rows if inside(r)]
        if chosen:
            chosen.sort()
            lines.append(f"  while {phase}: {len(chosen)} tasks finished, lag max "
                         f"{chosen[-1]:.2f} p99 {chosen[int(0.99 * (len(chosen) - 1))]:.2f}")
    sent = sorted(m[3] for m in messages if m[3] is not None)
    if len(sent) > 1:
        gap, at = max((b - a, a) for a, b in itertools.pairwise(sent))
        lines.append(f"  kernel messages: {len(sent)}, longest gap between two "
                     f"{gap:.2f} s at +{at - t0:.1f} s; largest "
                     f"{max(m[5] for m in messages) / 1e3:.0f} kB")
    # The worst moments, one per second of the run.
    seen: set[int] = set()
    for r in sorted(rows, key=lambda r: -r["lag"]):
        second = int(r["ended"] - t0)
        if second in seen:
            continue
        seen.add(second)
        when, until = r["ended"], r["ended"] + r["lag"]
        busy = [d for s, d in long_tasks if s / 1000 < until and s / 1000 + d / 1000 > when]
        pauses = [d for s, d, _ in gc_pauses if s > when and s - d < until]
        split_text = "  ".join(f"{p} {r[p]:.2f}" for p in parts if p in r)
        lines.append(f"  k={r['k']:>6} ended +{when - t0:6.2f} s lag {r['lag']:.2f} s "
                     f"({split_text}); page long tasks {len(busy)} ({sum(busy):.0f} ms)"
                     + (f"; kernel GC {sum(pauses) * 1000:.0f} ms" if pauses else ""))
        if len(seen) >= worst:
            break
    if gc_pauses:
        lines.append(f"  kernel GC pauses > 20 ms: {len(gc_pauses)}, longest "
                     f"{max(d for _, d, _ in gc_pauses) * 1000:.0f} ms")
    return "\n".join(lines)


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline",
                    "disabled-by-default-devtools.timeline.frame", "toplevel", "v8",
                    "blink.user_timing", "loading"]


def kernel_pid(lab: Lab) -> int | None:
    import psutil

    if lab.server.proc is None:
        return None
    for child in psutil.Process(lab.server.proc.pid).children(recursive=True):
        if "eflows_kernel.kernel" in child.cmdline():
            return child.pid
    return None


def kernel_profile(path: Path) -> str:
    """The busiest functions (own time) and threads of a py-spy ``raw`` recording."""
    own: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        samples = int(count)
        total += samples
        threads[frames[0][:60]] = threads.get(frames[0][:60], 0) + samples
        own[frames[-1][:110]] = own.get(frames[-1][:110], 0) + samples
    if not total:
        return "kernel: no samples"
    lines = [f"kernel: {total} samples; by thread: " + ", ".join(
        f"{name} {100 * n / total:.0f}%" for name, n in sorted(
            threads.items(), key=lambda kv: -kv[1])[:6])]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in sorted(
        own.items(), key=lambda kv: -kv[1])[:15]]
    return "\n".join(lines)


@contextmanager
def profiled(lab: Lab, page: Any, profile: Path | None, name: str) -> Iterator[None]:
    """A Chromium trace of the page and (with py-spy) a kernel profile around the block."""
    if profile is None:
        yield
        return
    profile.mkdir(parents=True, exist_ok=True)
    trace = profile / f"{name}.trace.json"
    browser = page.context.browser
    browser.start_tracing(page=page, path=str(trace), categories=TRACE_CATEGORIES)
    spy = None
    pid = kernel_pid(lab)
    raw = profile / f"{name}.kernel.txt"
    spy_bin = shutil.which("py-spy") or shutil.which("py-spy", path=str(VENV_BIN))
    if pid is not None and spy_bin:
        spy = subprocess.Popen([spy_bin, "record", "--pid", str(pid), "--format", "raw",
                                "--threads", "--nonblocking", "--rate", "50",
                                "--output", str(raw)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        browser.stop_tracing()
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes what it has
            spy.wait(60)
        print(f"\n[{name}] " + trace_summary.report(
            trace_summary.summarise(trace_summary.load(trace))), flush=True)
        if raw.is_file():
            print(f"[{name}] " + kernel_profile(raw), flush=True)


def fanout(n: int, workers: int, widget: bool, code: Path | None = None,
           profile: Path | None = None, name: str | None = None) -> dict[str, Any]:
    disable = "" if widget else (
        "from eflows_kernel.kernel.integration import disable\ndisable()  # the graph closed")
    name = name or ("live-graph" if widget else "graph-closed")
    with lab_page(workers, code) as (lab, page, cdp):
        run_notebook(lab, page, [FANOUT_CELL.format(n=n, disable=disable)])
        busy = busy_seconds(cdp)
        with profiled(lab, page, profile, name):
            result = cell_result(page, timeout=1800)
        busy = busy_seconds(cdp) - busy
        time.sleep(1.5)  # the last redraws
        bench = page.evaluate("window.__bench")
        gap, gap99 = longest_gap_ms(bench["frames"], result["t0"], result["t2"])
        row = {"view": "live graph" if widget else "graph closed", "tasks": n + n // 100 + 1,
               "submit_s": result["submit"], "run_s": result["run"], "gap_ms": gap,
               "gap99_ms": gap99, "ws_closed": len(bench["closes"]),
               "server_ws_errors": lab.server_errors(), "lag_s": float("nan"),
               "kernel_cpu_s": result["kernel_cpu"], "browser_busy_s": busy,
               "lag99_s": float("nan"), "load": os.getloadavg()[0]}
        kernel = json.loads((lab.root / "kernel-times.json").read_text())
        ended = finished_times(Path(result["log"]))
        known = sorted(kernel["known"])
        report = [k - e for k, e in zip(known, ended, strict=False)]
        row["report_lag_s"] = max(report, default=float("nan"))
        print(f"[{name}] the engine counted the k-th finished task at most "
              f"{row['report_lag_s']:.2f} s after its end on the worker; kernel GC pauses "
              f"> 20 ms: {len(kernel['gc'])}", flush=True)
        if widget and bench["counts"]:  # (a widget that publishes its counts)
            rows = lag_per_k(ended, bench["counts"], known, bench["messages"])
            row["lag_s"], row["lag99_s"] = count_lag(rows)
            row["widget_finished"] = bench["counts"][-1][1]
            print(f"[{name}] count lag max {row['lag_s']:.2f} s p99 {row['lag99_s']:.2f} s\n"
                  + explain_lag(rows, result["t0"], result["submit"], bench["messages"],
                                bench["long"], kernel["gc"]), flush=True)
            if profile is not None:
                (profile / f"{name}.lag.json").write_text(json.dumps(
                    {"t0": result["t0"], "submit": result["submit"], "per_k": rows,
                     "messages": bench["messages"], "long_tasks": bench["long"],
                     "gc": kernel["gc"], "shown": bench["counts"]}))
        return row


# Three seconds of panning or zooming, one step per frame: by calling the view
# (``zoom``/``pan``: what drawing costs), or by dispatching the DOM events a mouse sends
# (``wheel``/``drag``: through the widget's own handlers and redraw scheduling), or
# nothing (``idle``: the page's own frame rate). Frames per second = redraws / time.
FPS_LOOP = """async (mode) => {
  const g = document.querySelector('.eflows-graph').eflowsGraph;
  const dag = g.dag;
  const el = dag.root;
  el.scrollIntoView({block: 'start'});
  dag.fit(false);
  el.focus();
  const box = el.getBoundingClientRect();
  const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
  const pointer = (type, x) => el.dispatchEvent(new PointerEvent(type, {
    bubbles: true, clientX: x, clientY: cy, button: 0, pointerId: 1, isPrimary: true}));
  const draws0 = dag.frames;
  let frames = 0;
  const t0 = performance.now();
  if (mode === 'drag') { el.setPointerCapture = () => {}; pointer('pointerdown', cx); }
  await new Promise((resolve) => {
    const step = (t) => {
      frames += 1;
      const forward = frames % 120 < 60;
      if (mode === 'zoom') { dag.zoom(forward ? 1.04 : 1 / 1.04); dag.draw(); }
      else if (mode === 'pan') { dag.pan(forward ? 6 : -6, 0); dag.draw(); }
      else if (mode === 'wheel') el.dispatchEvent(new WheelEvent('wheel', {
        bubbles: true, cancelable: true, clientX: cx, clientY: cy, deltaY: forward ? -40 : 40}));
      else if (mode === 'drag') pointer('pointermove', cx + (forward ? 1 : -1) * (frames % 60) * 6);
      if (t - t0 < 3000) requestAnimationFrame(step); else resolve();
    };
    requestAnimationFrame(step);
  });
  if (mode === 'drag') pointer('pointerup', cx);
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - t0;
  const draws = dag.frames - draws0;
  return {fps: 1000 * (mode === 'idle' ? frames : draws) / ms, drawMs: dag.lastDrawMs};
}"""


def dag(n: int, workers: int, seconds: float) -> dict[str, Any]:
    with lab_page(workers) as (lab, page, cdp):
        run_notebook(lab, page, [DAG_CELL.format(n=n, seconds=seconds,
                                                 benchmarks=str(REPO / "benchmarks"))])
        result = cell_result(page, timeout=seconds * 5 + 120)
        page.wait_for_function(f"""() => {{ const g = document.querySelector('.eflows-graph');
            return g && g.dataset.status === 'done' && g.dataset.total === '{n}'; }}""",
                               timeout=120_000)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        bench = page.evaluate("window.__bench")
        done_at = next(t for t, status, total in bench["status"]
                       if status == "done" and total == n)
        fitted = page.evaluate("document.querySelector('.eflows-graph').eflowsGraph.dag.lastDrawMs")
        fps = {mode: page.evaluate(FPS_LOOP, mode)["fps"]
               for mode in ("idle", "zoom", "pan", "wheel", "drag")}
        cdp.send("Performance.enable")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        mode = page.evaluate("document.querySelector('.eflows-graph').dataset.mode")
        return {"tasks": n, "events": result["events"], "mode": mode,
                "first_render_s": done_at - result["last_event"], "fit_draw_ms": fitted,
                **{f"{mode}_fps": value for mode, value in fps.items()},
                "heap_mb": metrics.get("JSHeapUsedSize", float("nan")) / 1e6,
                "gaps_ms": longest_gap_ms(bench["frames"], result["t0"], done_at)[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["fanout", "dag", "all"], default="all")
    parser.add_argument("--tasks", type=int, default=20_000, help="fan-out leaves")
    parser.add_argument("--dag-tasks", type=int, default=100_000)
    parser.add_argument("--dag-seconds", type=float, default=20.0,
                        help="how long the synthetic run takes to write its events")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="record a Chromium trace (and, with py-spy, a kernel profile) of "
                             "each fan-out run in DIR and summarise them")
    parser.add_argument("--before", type=Path, default=None, metavar="DIR",
                        help="also run the fan-out with the live graph of the eflows_kernel "
                             "package in DIR (e.g. `git archive main | tar -x -C DIR`)")
    args = parser.parse_args()
    if args.scenario in ("fanout", "all"):
        rows = [fanout(args.tasks, args.workers, widget=False, profile=args.profile),
                fanout(args.tasks, args.workers, widget=True, profile=args.profile)]
        if args.before is not None:
            before = fanout(args.tasks, args.workers, widget=True, code=args.before,
                            profile=args.profile, name="before-graph")
            before["view"] = "before: graph"
            rows.append(before)
        print(f"\nfan-out/fan-in in JupyterLab + Chromium, {args.workers} workers "
              f"(targets: gap <= {TARGET_GAP_MS} ms, lag <= {TARGET_LAG_S} s, no lost "
              "connection)")
        print(f"{'view':<14}{'tasks':>7}{'submit s':>10}{'run s':>8}{'max gap ms':>12}"
              f"{'p99 gap':>9}{'ws closed':>11}{'srv errors':>12}{'lag s':>8}{'p99 lag':>9}"
              f"{'kernel cpu s':>14}{'page busy s':>13}{'engine lag':>12}{'load':>6}")
        for r in rows:
            print(f"{r['view']:<14}{r['tasks']:>7}{r['submit_s']:>10.1f}{r['run_s']:>8.1f}"
                  f"{r['gap_ms']:>12.0f}{r['gap99_ms']:>9.0f}{r['ws_closed']:>11}"
                  f"{r['server_ws_errors']:>12}{r['lag_s']:>8.2f}{r['lag99_s']:>9.2f}"
                  f"{r['kernel_cpu_s']:>14.1f}{r['browser_busy_s']:>13.1f}"
                  f"{r['report_lag_s']:>12.2f}{r['load']:>6.1f}")
        print("(engine lag: the longest a finished task took to reach the engine's count, "
              "which the lag includes; load: the 1-minute load average after the run)")
        base, live = rows[:2]
        print(f"live / closed: run {live['run_s'] / base['run_s']:.2f}x, submit "
              f"{live['submit_s'] / base['submit_s']:.2f}x, max gap "
              f"{live['gap_ms'] / base['gap_ms']:.2f}x; widget shows "
              f"{live.get('widget_finished')} finished")
    if args.scenario in ("dag", "all"):
        r = dag(args.dag_tasks, args.workers, args.dag_seconds)
        print(f"\nfull DAG, {r['tasks']} tasks ({r['events']} events in {args.dag_seconds:g} s),"
              f" view mode {r['mode']} (targets: first render <= {TARGET_FIRST_RENDER_S} s, "
              f">= {TARGET_FPS} fps)")
        print(f"{'first render s':>15}{'fit draw ms':>12}{'idle fps':>9}{'zoom fps':>9}"
              f"{'pan fps':>8}{'wheel fps':>10}{'drag fps':>9}{'heap MB':>9}{'max gap ms':>11}")
        print(f"{r['first_render_s']:>15.2f}{r['fit_draw_ms']:>12.1f}{r['idle_fps']:>9.1f}"
              f"{r['zoom_fps']:>9.1f}{r['pan_fps']:>8.1f}{r['wheel_fps']:>10.1f}"
              f"{r['drag_fps']:>9.1f}{r['heap_mb']:>9.1f}{r['gaps_ms']:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
