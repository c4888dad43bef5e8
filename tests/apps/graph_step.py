"""One step of a step graph: read an earlier step's file, sleep, write a file, or fail.

Usage (every part optional, in this order):
    eflows-run tests/apps/graph_step.py [--env NAME] [--read PATH] [--sleep SECONDS]
                                        [--wait-for PATH] [--write PATH TEXT] [--exit CODE]

``--env`` prints an environment variable (what a module or the step's env set);
``--read`` prints the file's text (the step's output shows what it got); ``--wait-for``
waits until PATH exists (a test holds the step running for as long as it needs, then
lets it go; it gives up with status 4 after 10 minutes, or at once when PATH's folder
is gone: a job submitted after its test ended holds no CPU); ``--write``
writes TEXT, plus what was read, to PATH (relative: in the step's run directory).
Prints a final ``RESULT {"env": {...}, "read": ..., "wrote": [...]}`` unless it exits.
"""

import json
import os
import sys
import time

args = sys.argv[1:]
got = ""
seen = {"env": {}, "read": None, "wrote": []}
while args:
    flag = args.pop(0)
    if flag == "--env":
        name = args.pop(0)
        print(f"env {name}={os.environ.get(name)!r}")
        seen["env"][name] = os.environ.get(name)
    elif flag == "--read":
        with open(args.pop(0)) as handle:
            got = handle.read()
        print(f"read: {got!r}")
        seen["read"] = got
    elif flag == "--sleep":
        time.sleep(float(args.pop(0)))
    elif flag == "--wait-for":
        gate = args.pop(0)
        deadline = time.monotonic() + 600
        while not os.path.exists(gate):
            if time.monotonic() > deadline or not os.path.isdir(os.path.dirname(gate)):
                print(f"{gate} never appeared")
                sys.exit(4)
            time.sleep(0.2)
        print(f"went on: {gate} is there")
    elif flag == "--write":
        path, text = args.pop(0), args.pop(0)
        with open(path, "w") as handle:
            handle.write(text + got)
        print(f"wrote {path}")
        seen["wrote"].append(path)
    elif flag == "--exit":
        code = int(args.pop(0))
        print(f"exiting with status {code}")
        sys.exit(code)
print("RESULT " + json.dumps(seen))
