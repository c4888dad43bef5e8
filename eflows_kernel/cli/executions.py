"""``eflows executions``: list, status, logs, cancel, files; re-run (or resume), delete or
archive finished runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from eflows_kernel.cli.output import EXIT_FAILED, EXIT_OK, Command, emit_json, table
from eflows_kernel.client.protocol import Client
from eflows_kernel.services.log_query import LEVELS, line_level, parse_levels


class LevelFilter:
    """The output lines of the levels asked for, as ``waas executions logs`` shows them.

    Fed the output as it comes (a line may arrive in two reads): a line is judged once
    it is whole, or when the run is over (``flush``).
    """

    def __init__(self, levels: frozenset[str] | None) -> None:
        self.levels = levels
        self._partial = ""

    def feed(self, text: str) -> str:
        if self.levels is None:
            return text
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        return "".join(f"{line}\n" for line in lines if line_level(line) in self.levels)

    def flush(self) -> str:
        rest, self._partial = self._partial, ""
        return self.feed(rest + "\n") if rest else ""


def event_line(event: dict[str, Any], names: dict[Any, str]) -> str | None:
    """One event as a line; in a step graph's log each names its step (``seq step: ...``),
    whose tasks are numbered from 1 like any run's."""
    kind = event.get("type")
    seq = event.get("seq", "")
    step = event.get("step") if isinstance(event.get("step"), str) else None
    if kind == "step":
        return f"{seq} step {step} {event.get('state')}"
    seq = f"{seq} {step}:" if step else seq
    if kind == "task":
        task = event.get("task")
        if event.get("name") and isinstance(task, int):
            names[(step, task)] = event["name"]
        name = names.get((step, task), "?") if isinstance(task, int) else "?"
        return f"{seq} task {task} {name} {event.get('state')}"
    if kind == "run":
        return f"{seq} run {event.get('state')}"
    if kind == "log":
        return f"{seq} log {str(event.get('text', event.get('message', ''))).rstrip()}"
    if kind == "transfer":
        return f"{seq} transfer {event.get('name', '')} {event.get('state', '')}".rstrip()
    return None


def follow_run(client: Client, execution_id: str, as_json: bool, events: bool = True,
               levels: frozenset[str] | None = None) -> int:
    """Stream events (one line each) then the logs; exit 0 done, 1 otherwise."""
    names: dict[Any, str] = {}
    if events:
        for event in client.executions.follow(execution_id):
            if as_json:
                print(json.dumps(event), flush=True)
                continue
            line = event_line(event, names)
            if line:
                print(line, flush=True)
        execution = client.executions.get(execution_id)
        text, _ = client.executions.logs(execution_id)
        if not as_json and text:
            print("--- logs ---")
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:  # logs --follow: the output as it comes
        offset = 0
        shown = LevelFilter(levels)
        while True:
            execution = client.executions.get(execution_id)
            text, offset = client.executions.logs(execution_id, offset=offset)
            if text:
                sys.stdout.write(shown.feed(text))
                sys.stdout.flush()
            if execution.finished and not text:
                sys.stdout.write(shown.flush())
                break
            if not text:
                time.sleep(0.5)
    state = execution.state.value
    print(f"execution {execution_id}: {state}"
          + (f" ({execution.error.splitlines()[0]})" if execution.error else ""),
          file=sys.stderr)
    return EXIT_OK if state == "done" else EXIT_FAILED


def cmd_executions_list(client: Client, args: argparse.Namespace) -> int:
    page = client.executions.list(state=args.state or None, workflow_id=args.workflow,
                                  site=args.site, limit=args.limit, offset=args.offset)
    if args.json:
        emit_json({"items": page.items, "total": page.total})
    else:  # a step graph: every site it runs on (its ``site`` is its first step's)
        table([(e.id, e.workflow_id, e.sites_text, e.state.value,
                 e.created_at.isoformat(timespec="seconds")) for e in page.items],
               ["id", "workflow", "site", "state", "created"])
    return EXIT_OK


def cmd_executions_status(client: Client, args: argparse.Namespace) -> int:
    execution = client.executions.get(args.id)
    if args.json:
        emit_json(execution)
    else:
        print(f"id: {execution.id}")
        print(f"workflow: {execution.workflow_id}")
        by_site = execution.steps_by_site
        if len(by_site) > 1:  # a graph on several sites: each with the steps it runs
            print("sites: " + ", ".join(f"{site} ({', '.join(steps)})"
                                        for site, steps in by_site.items()))
        else:
            print(f"site: {execution.site}")
        print(f"state: {execution.state.value} ({execution.hpcwaas_status.value})")
        if execution.remote_job_id and execution.site != "local":
            print(f"job: {execution.remote_job_id}{queue_note(execution)}")
        if execution.resumed_from:
            print(f"resumed from: {execution.resumed_from}")
        print(f"inputs: {json.dumps(execution.inputs)}")
        if execution.outputs:
            print(f"outputs: {json.dumps(execution.outputs)}")
        if execution.error:
            print(f"error: {execution.error}")
        if execution.is_graph:  # each step: its own site, state and Slurm job
            steps = client.executions.steps(execution.id)
            print("steps:")
            table([(s["name"], s["site"], s["state"], s["job_id"] or "-",
                    ", ".join(s["depends_on"]) or "-") for s in steps],
                  ["step", "site", "state", "job", "after"])
            declared = [(s["name"], name, path) for s in steps
                        for name, path in (s.get("outputs") or {}).items()]
            if declared:  # where each declared output is (on its step's site)
                print("declared outputs:")
                table(declared, ["step", "output", "path"])
    return EXIT_OK


def cmd_executions_logs(client: Client, args: argparse.Namespace) -> int:
    levels = None if args.levels is None else parse_levels(args.levels, "--levels")
    if args.follow:
        return follow_run(client, args.id, args.json, events=False, levels=levels)
    text, next_offset = client.executions.logs(args.id)
    shown = LevelFilter(levels)
    text = shown.feed(text) + shown.flush()
    if args.json:
        emit_json({"id": args.id, "text": text, "next_offset": next_offset})
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_executions_cancel(client: Client, args: argparse.Namespace) -> int:
    execution = client.executions.cancel(args.id)
    if args.json:
        emit_json(execution)
    else:
        print(f"{execution.id}: {execution.state.value}")
    return EXIT_OK


def cmd_executions_delete(client: Client, args: argparse.Namespace) -> int:
    client.runs.delete(args.id)
    if args.json:
        emit_json({"id": args.id, "deleted": True})
    else:
        print(f"{args.id}: deleted")
    return EXIT_OK


def cmd_executions_archive(client: Client, args: argparse.Namespace) -> int:
    archive = client.runs.archive(args.id)
    if args.json:
        emit_json({"id": args.id, "archive": archive})
    else:
        print(f"{args.id}: archived to {archive}")
    return EXIT_OK


def queue_note(execution: Any) -> str:
    """`` (PENDING: Resources, limit 10:00)``: Slurm's word on the job, where it said one."""
    queue = execution.queue or {}
    parts = []
    if queue.get("state") and not execution.finished:
        parts.append(f"{queue['state']}: {queue['reason']}" if queue.get("reason")
                     else queue["state"])
    if queue.get("time_limit"):
        parts.append(f"limit {queue['time_limit']}")
    return f" ({', '.join(parts)})" if parts else ""


def cmd_executions_rerun(client: Client, args: argparse.Namespace) -> int:
    """The same workflow, inputs, site and credential again; ``--resume``: from the run's
    checkpoint (refused when it left none, never a silent fresh start)."""
    if args.resume:
        execution = client.executions.resume(args.id)
    else:
        old = client.executions.get(args.id)
        execution = client.executions.trigger(old.workflow_id, old.inputs, old.site_binding,
                                              old.credential_id)
    if args.follow:
        return follow_run(client, execution.id, args.json)
    if args.json:
        emit_json(execution)
    else:
        how = f" from the checkpoint of {args.id}" if args.resume else ""
        print(f"{execution.id}: {execution.state.value}{how}")
    return EXIT_OK


def cmd_executions_files(client: Client, args: argparse.Namespace) -> int:
    """A run's folder, here or (``--site``) on its site; ``--step``: that step's folder (a
    step graph's); a graph's site files without ``--step``: every step's, by step."""
    step = args.step
    if args.get:
        if args.site:
            print(client.runs.site_download(args.id, args.get, args.to, step=step))
        else:
            print(client.runs.download(args.id, args.get, args.to, step=step))
        return EXIT_OK
    if args.site and step is None and client.executions.get(args.id).is_graph:
        return _every_steps_files(client, args)
    listing = {"items": client.runs.site_files(args.id, step=step)} if args.site \
        else client.runs.files(args.id, step=step)
    if args.json:
        emit_json(listing)
    else:
        table([(f["path"], f["bytes"], f["kind"]) for f in listing["items"]],
              ["path", "bytes", "kind"])
    return EXIT_OK


def _every_steps_files(client: Client, args: argparse.Namespace) -> int:
    """Each step's folder on its own site; a step without files says why."""
    steps = client.runs.step_files(args.id)
    if args.json:
        emit_json({"id": args.id, "steps": steps})
        return EXIT_OK
    rows = []
    for folder in steps:
        where = folder["site"] + (" (here)" if folder["where"] == "local" else "")
        if folder["status"] != "listed":
            why = f"({folder['status']}: {folder.get('message') or ''})"
            rows.append((folder["step"], where, why, "", ""))
        elif not folder["items"]:
            rows.append((folder["step"], where, "(no files)", "", ""))
        rows += [(folder["step"], where, f["path"], f["bytes"], f["kind"])
                 for f in folder["items"]]
    table(rows, ["step", "site", "path", "bytes", "kind"])
    return EXIT_OK


def register(groups: Any, command: Command) -> None:
    """Add this group's commands to the ``eflows`` parser."""
    exs = groups.add_parser("executions", help="executions").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(exs, "list", cmd_executions_list, "list executions, newest first")
    p.add_argument("--state", action="append", default=None)
    p.add_argument("--workflow", default=None)
    p.add_argument("--site", default=None,
                   help="only the runs on this site (a step graph: any of its steps)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    command(exs, "status", cmd_executions_status, "an execution's state").add_argument("id")
    p = command(exs, "logs", cmd_executions_logs, "an execution's output")
    p.add_argument("id")
    p.add_argument("-f", "--follow", action="store_true", help="until the run ends")
    p.add_argument("-l", "--levels", default=None, metavar="LEVELS",
                   help=f"only lines of these levels: names ({','.join(LEVELS)}) or the "
                        "HPCWaaS bitmask (DEBUG=1 INFO=2 WARN=4 ERROR=8; 0 = INFO,WARN,ERROR)")
    command(exs, "cancel", cmd_executions_cancel, "cancel a running execution").add_argument("id")
    command(exs, "delete", cmd_executions_delete,
            "forget a finished execution (record and run folder)").add_argument("id")
    command(exs, "archive", cmd_executions_archive,
            "keep a finished execution as a .tar.gz, then forget it").add_argument("id")
    p = command(exs, "rerun", cmd_executions_rerun,
                "run a finished execution again (same workflow, inputs, site, credential)")
    p.add_argument("id")
    p.add_argument("--resume", action="store_true",
                   help="start from its checkpoint: the tasks it saved are not run again")
    p.add_argument("-f", "--follow", action="store_true", help="until the new run ends")
    p = command(exs, "files", cmd_executions_files, "the files of an execution's folder")
    p.add_argument("id")
    p.add_argument("--get", metavar="PATH", default=None, help="download this file")
    p.add_argument("--to", default=".", help="where --get writes (a file or folder)")
    p.add_argument("--site", action="store_true",
                   help="the run's folder on its site (a remote run), not the local copy")
    p.add_argument("--step", default=None, metavar="STEP",
                   help="that step's folder (a step graph: each step has its own, on its own "
                        "site); with --site and no --step, a graph lists every step's")
