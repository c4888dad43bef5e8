"""Garbage-collector pauses during a large run, and how late the engine learns of ends.

A 20,201-task fan-out/fan-in (as bench_graph_browser.py's ``fanout`` scenario) runs in a
fresh process with the engine's own LocalCluster (its scheduler in the same process, as in
a kernel), once with the run's GC policy (``engine/gc_policy.py``: survivors of a full
collection are frozen) and once without it (``EFLOWS_GC_FREEZE=0``), alternating, side by
side. Per variant: the collector's pauses over 20 ms (count, longest, total), its own CPU
time and the number of full collections, and the
*report lag* of each finished task: when the engine's event stream had it minus when its
worker says it ended. Target (issue #16): counts within 1 s of the engine, so the report
lag must stay well under that; the ratio column compares with the run without the policy.

    .venv/bin/python benchmarks/bench_gc_pauses.py [--tasks 20000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import gc, json, sys, time
from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
from eflows_kernel.model import compss_wait_on, task

@task(returns=1)
def leaf(i):
    return i

@task(returns=1)
def part(*values):
    return sum(values)

def main(n):
    # Wall time of a pause (what the scheduler waits) and the collector's own CPU time
    # (what the pause costs without the machine's load in it: GC runs in the thread
    # that triggered it, so thread_time() around it is its CPU).
    lags, pauses, cpu, full, gc_start = [], [], [0.0], [0], [0.0, 0.0]
    def on_gc(phase, info):
        if phase == "start":
            gc_start[0], gc_start[1] = time.perf_counter(), time.thread_time()
        else:
            took = time.perf_counter() - gc_start[0]
            cpu[0] += time.thread_time() - gc_start[1]
            full[0] += info["generation"] == 2
            if took > 0.02:
                pauses.append(took)
    def on_event(event):
        if event.get("type") == "task" and event.get("state") == "done" and "ended" in event:
            lags.append(time.time() - event["ended"])
    engine = Engine(EngineConfig(cluster=ClusterConfig(n_workers=2), history=None)).start()
    gc.callbacks.append(on_gc)
    sub = engine.events.subscribe(on_event, from_seq=None)
    try:
        t0 = time.perf_counter()
        leaves = [leaf(i) for i in range(n)]
        parts = [part(*leaves[i:i + 100]) for i in range(0, n, 100)]
        total = compss_wait_on(part(*parts))
        run = time.perf_counter() - t0
    finally:
        sub.close()
        gc.callbacks.remove(on_gc)
        engine.stop()
    assert total == n * (n - 1) // 2, total
    print("RESULT " + json.dumps({"run": run, "lags": lags, "pauses": pauses,
                                  "gc_cpu": cpu[0], "full": full[0]}))

if __name__ == "__main__":
    main(int(sys.argv[1]))
"""


def run_variant(tasks: int, freeze: bool) -> dict:
    env = {**os.environ, "EFLOWS_GC_FREEZE": "1" if freeze else "0"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tasks)], env=env, check=True,
                         capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f}, {args.tasks} leaves, {args.rounds} rounds",
          flush=True)
    results: dict[bool, list[dict]] = {True: [], False: []}
    for _ in range(args.rounds):
        for freeze in (False, True):
            started = time.time()
            results[freeze].append(run_variant(args.tasks, freeze))
            print(f"  {'policy' if freeze else 'no policy'}: {time.time() - started:.0f} s",
                  flush=True)
    rows = {}
    for freeze, runs in results.items():
        lags = [lag for r in runs for lag in r["lags"]]
        pauses = [p for r in runs for p in r["pauses"]]
        rows[freeze] = {
            "run s": statistics.median(r["run"] for r in runs),
            "gc pauses": len(pauses) / len(runs),
            "gc max s": max(pauses, default=0.0),
            "gc total s": sum(pauses) / len(runs),
            "gc cpu s": statistics.median(r["gc_cpu"] for r in runs),
            "full gcs": statistics.median(r["full"] for r in runs),
            "lag p50 s": quantile(lags, 0.5), "lag p99 s": quantile(lags, 0.99),
            "lag max s": max(lags, default=0.0)}
    names = list(rows[True])
    print("| variant | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for freeze, label in ((False, "without GC policy (baseline)"), (True, "with GC policy")):
        print(f"| {label} | " + " | ".join(f"{rows[freeze][k]:.3g}" for k in names) + " |")
    ratio = {k: rows[True][k] / rows[False][k] if rows[False][k] else float("nan")
             for k in names}
    print("| ratio policy/baseline | " + " | ".join(f"{ratio[k]:.2f}" for k in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
