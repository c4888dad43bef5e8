"""``eflows data-logins`` and ``eflows transfers``: data service logins, periodic transfers.

A login's secret (password, S3 secret key, B2SHARE token) is never a command-line
argument (it would show in ``ps`` and the shell history): it is asked without echo, or
read from stdin with ``--secret-stdin``, and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from eflows_kernel.cli.output import EXIT_OK, Command, UsageError, emit_json, parse_pairs, table
from eflows_kernel.client.local import LocalClient
from eflows_kernel.client.protocol import Client

# In-process (``--local``, or no server configured) nothing fires a schedule once this
# command exits: the scheduler runs in the Jupyter server only (services/app.py).
LOCAL_NOTE = ("eflows: note: schedules fire only while a Jupyter server with the eFlows "
              "extension runs (not from this --local command)")


def _note_local(client: Client) -> None:
    """Say on stderr (``--json`` output stays clean) that a local schedule waits for a
    server: it was made, and would otherwise look as if it ran."""
    if isinstance(client, LocalClient):
        print(LOCAL_NOTE, file=sys.stderr)


def _secret(args: argparse.Namespace) -> str:
    what = "token" if args.kind == "b2share" else "secret (password / S3 secret key)"
    if args.secret_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise UsageError("--secret-stdin: nothing on stdin")
        return line
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal to ask the {what} on: pipe it in with --secret-stdin")
    return getpass.getpass(f"{what} for {args.service}: ")


def cmd_logins_add(client: Client, args: argparse.Namespace) -> int:
    secret = _secret(args)
    info = client.data.add_login(
        args.name, args.kind, args.service, username=args.username or "",
        secret="" if args.kind == "b2share" else secret,
        token=secret if args.kind == "b2share" else "",
        options=parse_pairs(args.option, "--option"))
    if args.json:
        emit_json(info)
    else:
        print(f"id: {info['id']}")
    return EXIT_OK


def cmd_logins_list(client: Client, args: argparse.Namespace) -> int:
    logins = client.data.logins()
    if args.json:
        emit_json(logins)
    else:
        table([(c["id"], c["name"], c["kind"], c["url"], c["username"]) for c in logins],
              ["id", "name", "kind", "url", "user"])
    return EXIT_OK


def cmd_logins_delete(client: Client, args: argparse.Namespace) -> int:
    client.data.delete_login(args.id)
    if not args.json:
        print(f"deleted {args.id}")
    return EXIT_OK


def _synced(last: dict[str, Any] | None) -> str:
    """What the last firing of a folder sync did: ``2 sent, 10 up to date``."""
    if not last:
        return "-"
    return f"{last.get('sent', 0)} sent, {last.get('up_to_date', 0)} up to date"


def _show(schedules: list[dict[str, Any]]) -> None:
    table([(s["id"], s["name"], s["every"], "paused" if s["paused"] else "active",
            s["last_run"] or "-", s["last_state"] or "-", _synced(s.get("last_sync")),
            s["next_run"], s["runs"])
           for s in schedules],
          ["id", "name", "every", "state", "last run", "last", "files", "next run", "runs"])


def cmd_transfers_add(client: Client, args: argparse.Namespace) -> int:
    spec = {"name": args.name, "source": args.source, "target": args.target,
            "every": args.every, "kind": args.kind, "site": args.site,
            "credential_id": args.credential, "paused": args.paused,
            "contents": args.contents}
    schedule = client.data.schedule({k: v for k, v in spec.items() if v is not None})
    if args.json:
        emit_json(schedule)
    else:
        print(f"id: {schedule['id']} (next run {schedule['next_run']})")
    _note_local(client)
    return EXIT_OK


def cmd_transfers_list(client: Client, args: argparse.Namespace) -> int:
    schedules = client.data.schedules(args.execution)
    if args.json:
        emit_json(schedules)
    else:
        _show(schedules)
    _note_local(client)
    return EXIT_OK


def _one(action: str) -> Any:
    def run(client: Client, args: argparse.Namespace) -> int:
        schedule = getattr(client.data, action)(args.id)
        if args.json:
            emit_json(schedule)
        elif schedule is None:
            print(f"deleted {args.id}")
        else:
            _show([schedule])
            if schedule.get("last_error"):
                print(f"last error: {schedule['last_error']}")
        return EXIT_OK
    return run


def register(groups: Any, command: Command) -> None:
    """Add this group's commands to the ``eflows`` parser."""
    logins = groups.add_parser("data-logins", help="logins to data services (WebDAV, S3, "
                               "B2SHARE) in the vault").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(logins, "add", cmd_logins_add,
                "add a login; its secret is asked without echo (or --secret-stdin)")
    p.add_argument("name")
    p.add_argument("kind", choices=["webdav", "s3", "b2share", "http", "mlflow"])
    p.add_argument("service", metavar="URL",
                   help="the service: https://host/dav, s3://bucket, https://b2share...")
    p.add_argument("--username", default=None, help="WebDAV user / S3 access key id")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="endpoint_url=, region= (S3), community= (B2SHARE)")
    p.add_argument("--secret-stdin", action="store_true",
                   help="read the secret (or token) from stdin's first line")
    command(logins, "list", cmd_logins_list, "list the logins (never their secrets)")
    command(logins, "delete", cmd_logins_delete, "forget a login").add_argument("id")

    transfers = groups.add_parser("transfers", help="periodic transfers").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(transfers, "schedule", cmd_transfers_add,
                "move SOURCE to TARGET every period (data URL, cluster:PATH, local path)")
    p.add_argument("name")
    p.add_argument("source")
    p.add_argument("target")
    p.add_argument("--every", required=True, help="e.g. 10m, 1h30m, 30s")
    p.add_argument("--kind", default=None, help="how a bare location reads (webdav, dls...)")
    p.add_argument("--site", default=None, help="the site of cluster: paths")
    p.add_argument("--credential", default=None, help="the SSH credential for the site")
    p.add_argument("--paused", action="store_true", default=None, help="make it paused")
    p.add_argument("--contents", action="store_true", default=None,
                   help="a cluster folder's files go into TARGET, not the folder itself "
                        "(as the DLS's WebDAV stage-out)")
    p = command(transfers, "list", cmd_transfers_list, "list schedules, last and next run")
    p.add_argument("--execution", default=None, help="only those of one execution")
    for action, method, text in (("show", "get_schedule", "one schedule"),
                                 ("pause", "pause", "pause a schedule"),
                                 ("resume", "resume", "resume a paused schedule"),
                                 ("delete", "delete_schedule", "stop and forget a schedule")):
        command(transfers, action, _one(method), text).add_argument("id")
