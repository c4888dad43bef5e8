"""Following a growing execution log: the one follower against re-reading the log each poll.

Before the one follower, ``LocalClient.executions.follow`` read the whole event log at
every poll (``read_events(path, from_seq=last)``) and kept what was new; the follower
(``ExecutionFollower``) keeps its byte offset and reads only what was appended. Both
follow the same execution, side by side, while a writer appends ``--batch`` events per
poll to a log that already holds ``--events``; the table shows the CPU time per poll of
each and the ratio to re-reading. Target (issue #10): the follower's cost does not grow
with the log (ratio well under 1 for long runs).

    .venv/bin/python benchmarks/bench_follow.py [--events 10000,100000] [--polls 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eflows_kernel.events import EventStream, read_events  # noqa: E402
from eflows_kernel.services.executions import ExecutionStore  # noqa: E402
from eflows_kernel.services.executions.follow import ExecutionFollower  # noqa: E402
from eflows_kernel.services.state import StateStore  # noqa: E402
from eflows_kernel.services.workflows import WorkflowRegistry  # noqa: E402


def measure(events: int, polls: int, batch: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        store = StateStore(f"sqlite:///{tmp / 'state.sqlite'}")
        executions = ExecutionStore(store)
        workflow = WorkflowRegistry(store).register_spec({"name": "w"})
        execution = executions.create(workflow.id, {}, "local")
        log = tmp / "events.jsonl"
        executions.set_event_log(execution.id, str(log))
        writer = EventStream(execution.id, log, history=0)
        for n in range(events):
            writer.emit("task", task=n, state="done", attempt=1)
        writer.flush()
        follower = ExecutionFollower(executions, execution.id, from_seq=writer.last_seq)
        last = writer.last_seq
        reread = follow = 0.0
        for _ in range(polls):
            for n in range(batch):
                writer.emit("task", task=n, state="running", attempt=1)
            writer.flush()
            start = time.process_time()
            executions.get(execution.id)  # what both read besides the events
            fresh = read_events(log, from_seq=last)
            reread += time.process_time() - start
            last = fresh[-1]["seq"]
            start = time.process_time()
            got = follower.poll()
            follow += time.process_time() - start
            assert [e["seq"] for e in got] == [e["seq"] for e in fresh]
        writer.close()
        store.close()
        return reread / polls, follow / polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1000,10000,100000",
                        help="comma-separated sizes of the log when following starts")
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5, help="events appended per poll")
    args = parser.parse_args()
    print(f"CPU per poll, {args.polls} polls, {args.batch} new events each")
    print(f"{'events in log':>14}  {'re-read (ms)':>12}  {'follower (ms)':>13}  {'ratio':>6}")
    for size in (int(s) for s in args.events.split(",")):
        reread, follow = measure(size, args.polls, args.batch)
        print(f"{size:>14}  {1000 * reread:>12.3f}  {1000 * follow:>13.3f}  "
              f"{follow / reread:>6.3f}")


if __name__ == "__main__":
    main()
