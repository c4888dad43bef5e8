"""What a Chromium performance trace says about a page's long frames.

Used by ``bench_graph_browser.py --profile DIR`` (and runnable on a saved trace:
``python benchmarks/trace_summary.py trace.json``). For the renderer's main thread it
reports the long tasks (> 50 ms), and for each the CPU time the thread really got
(``tdur``) against its wall time (``dur``): a long task that got little CPU is the
machine starving the browser, not the page's code. The time inside the long tasks is
split by what ran (our widget's scripts, JupyterLab's, garbage collection, style and
layout, painting) and the busiest script functions are listed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

LONG_TASK_US = 50_000
TOP_LEVEL = {"RunTask", "ThreadControllerImpl::RunTask", "ThreadPool_RunTask"}
KINDS = {
    "FunctionCall": "script", "EvaluateScript": "script", "v8.compile": "compile",
    "v8.compileModule": "compile", "TimerFire": "script", "FireAnimationFrame": "script",
    "EventDispatch": "script", "V8.GCScavenger": "gc", "MinorGC": "gc", "MajorGC": "gc",
    "V8.GCFinalizeMC": "gc", "V8.GCIncrementalMarking": "gc", "BlinkGC.AtomicPhase": "gc",
    "UpdateLayoutTree": "style", "RecalculateStyles": "style", "Layout": "layout",
    "PrePaint": "paint", "Paint": "paint", "PaintImage": "paint", "Layerize": "paint",
    "UpdateLayer": "paint", "CompositeLayers": "paint", "Commit": "paint",
    "ParseHTML": "parse", "ParseAuthorStyleSheet": "parse",
    "IntersectionObserverController::computeIntersections": "layout",
}


def load(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    return data["traceEvents"] if isinstance(data, dict) else data


def main_threads(events: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {(e["pid"], e["tid"]) for e in events
            if e.get("ph") == "M" and e.get("name") == "thread_name"
            and e.get("args", {}).get("name") == "CrRendererMain"}


def _url_kind(url: str) -> str:
    if not url:
        return "script (?)"
    if "anywidget" in url or url.startswith("blob:") or "eflows" in url:
        return "script: widget"
    return "script: jupyterlab"


def summarise(events: list[dict[str, Any]], start_us: float | None = None,
              end_us: float | None = None) -> dict[str, Any]:
    """Long tasks of the busiest renderer main thread, inside [start_us, end_us]."""
    threads = main_threads(events)
    per_thread: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if key in threads and e.get("ph") == "X" and "dur" in e:
            if start_us is not None and e["ts"] < start_us:
                continue
            if end_us is not None and e["ts"] > end_us:
                continue
            per_thread[key].append(e)
    if not per_thread:
        return {"long_tasks": 0}
    key = max(per_thread, key=lambda k: sum(e["dur"] for e in per_thread[k]
                                            if e["name"] in TOP_LEVEL))
    xs = sorted(per_thread[key], key=lambda e: (e["ts"], -e["dur"]))
    tops = [e for e in xs if e["name"] in TOP_LEVEL]
    long_tasks = [e for e in tops if e["dur"] >= LONG_TASK_US]
    busy = sum(e["dur"] for e in tops)
    kinds: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    cursor = 0
    for task in long_tasks:
        t0, t1 = task["ts"], task["ts"] + task["dur"]
        while cursor < len(xs) and xs[cursor]["ts"] < t0:
            cursor += 1
        stack: list[float] = []  # ends of the events we are inside (self time only once)
        i = cursor
        while i < len(xs) and xs[i]["ts"] < t1:
            e = xs[i]
            i += 1
            if e is task or e["name"] in TOP_LEVEL:
                continue
            while stack and stack[-1] <= e["ts"]:
                stack.pop()
            kind = KINDS.get(e["name"])
            if kind is None:
                continue
            if kind == "script":
                data = e.get("args", {}).get("data", {})
                kind = _url_kind(data.get("url", ""))
                if not stack:
                    name = data.get("functionName") or e["name"]
                    functions[f"{name} ({data.get('url', '').rsplit('/', 1)[-1][:40]})"] += e["dur"]
            if not stack:
                kinds[kind] += e["dur"]
            stack.append(e["ts"] + e["dur"])
    span = (tops[-1]["ts"] + tops[-1]["dur"] - tops[0]["ts"]) if tops else 0
    return {
        "span_s": span / 1e6, "busy_s": busy / 1e6,
        "long_tasks": len(long_tasks),
        "long_wall_s": sum(e["dur"] for e in long_tasks) / 1e6,
        "long_cpu_s": sum(e.get("tdur", e["dur"]) for e in long_tasks) / 1e6,
        "longest": sorted(((e["dur"] / 1000, e.get("tdur", e["dur"]) / 1000)
                           for e in long_tasks), reverse=True)[:10],
        "kinds_s": {k: v / 1e6 for k, v in kinds.most_common()},
        "functions_s": {k: v / 1e6 for k, v in functions.most_common(12)},
    }


def report(summary: dict[str, Any]) -> str:
    if not summary.get("long_tasks"):
        return "trace: no long task on the renderer's main thread"
    lines = [f"trace: main thread busy {summary['busy_s']:.1f} s of {summary['span_s']:.1f} s; "
             f"{summary['long_tasks']} long tasks (> {LONG_TASK_US // 1000} ms), "
             f"{summary['long_wall_s']:.2f} s wall, {summary['long_cpu_s']:.2f} s on CPU",
             "  longest (wall ms / cpu ms): " + ", ".join(
                 f"{w:.0f}/{c:.0f}" for w, c in summary["longest"]),
             "  inside long tasks: " + ", ".join(
                 f"{k} {v:.2f} s" for k, v in summary["kinds_s"].items())]
    lines += [f"    {v:6.2f} s  {k}" for k, v in summary["functions_s"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(summarise(load(Path(sys.argv[1])))))
