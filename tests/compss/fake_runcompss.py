#!/usr/bin/env python3
"""A stand-in for ``runcompss`` in tests: no JVM, just the monitor files a real run writes.

It reads the options the way runcompss does (``--name=value`` until the application),
dumps its argv to ``runcompss_argv.json`` in the working directory (so a test can check
that every argument arrived literally), then writes ``complete_graph.dot`` (a real COMPSs
graph: ``complete_graph.dot`` next to this script) and a shrinking ``current_graph.dot``
in ``<log_dir>/monitor`` (or ``<base_log_dir>/<app>_01/monitor``) over a few seconds, as
the runtime does at every monitor tick. It exits 0, or 3 when its name ends in ``-fail``;
``-slow`` makes each tick 20 s (for cancel tests). With ``FAKE_COMPSS_HOLD=<file>`` it stays
at its first tick (a task running) until that file exists, so a test can wait for the moment
it checks instead of guessing how long it lasts on a loaded machine.
Standard library only: it runs with the site's bare ``python3``.
"""

import json
import os
import re
import sys
import time

STEPS = int(os.environ.get("FAKE_COMPSS_STEPS", "4"))
NAME = os.path.basename(sys.argv[0])
HOLD = os.environ.get("FAKE_COMPSS_HOLD")
TICK = float(os.environ.get("FAKE_COMPSS_TICK", "20" if NAME.endswith("-slow") else "0.6"))
BLUE = 'shape=circle, style=filled fillcolor="#0000ff" fontcolor="#ffffff"'


def main() -> int:
    argv = sys.argv[1:]
    options = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        name, _, value = argv[i][2:].partition("=")
        options[name] = value
        i += 1
    app, args = (argv[i], argv[i + 1:]) if i < len(argv) else (None, [])
    with open("runcompss_argv.json", "w") as handle:
        json.dump({"argv": argv, "options": options, "app": app, "args": args}, handle)
    if "log_dir" in options:
        monitor = os.path.join(options["log_dir"], "monitor")
    else:
        stem = os.path.splitext(os.path.basename(app or "app"))[0]
        monitor = os.path.join(options.get("base_log_dir", "."), f"{stem}_01", "monitor")
    os.makedirs(monitor, exist_ok=True)
    here = os.path.dirname(os.path.realpath(__file__))
    with open(os.path.join(here, "complete_graph.dot")) as handle:
        graph = handle.read()
    tasks = [int(t) for t in re.findall(r"^(\d+)\[", graph, re.MULTILINE)]
    print(f"[fake runcompss] {app} {len(tasks)} tasks, monitor in {monitor}", flush=True)
    write(os.path.join(monitor, "complete_graph.dot"), graph)
    for step in range(STEPS + 1):
        left = tasks[len(tasks) * step // STEPS:]
        lines = ["digraph {", "  subgraph dependence_graph {"]
        if left:
            lines += ["subgraph cluster0 {", 'label="COMPSsWorker01";', f"{left[0]}[{BLUE}];",
                      "}"]
            lines += [f"{t}[{BLUE}];" for t in left[1:]]
        lines += ["  }", "}"]
        write(os.path.join(monitor, "current_graph.dot"), "\n".join(lines) + "\n")
        print(f"[fake runcompss] tick {step}: {len(left)} tasks left", flush=True)
        if step == 0 and HOLD:
            hold(HOLD)
        time.sleep(TICK)
    return 3 if NAME.endswith("-fail") else 0


def hold(path: str, timeout: float = 120.0) -> None:
    """Wait until ``path`` exists (the test saw the first tick) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)


def write(path: str, text: str) -> None:
    """Whole files only, like the runtime's monitor (write aside, then rename)."""
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
