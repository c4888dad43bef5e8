"""``eflows workflows``: register, import, show and delete workflows; trigger a run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.cli.executions import follow_run
from eflows_kernel.cli.output import EXIT_OK, Command, UsageError, emit_json, parse_pairs, table
from eflows_kernel.cli.prompts import site_secrets
from eflows_kernel.client.protocol import LOCAL_SITE, Client
from eflows_kernel.services.workflows import RegisteredWorkflow


def _inputs_text(inputs: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{i['name']}:{i.get('type', 'string')}" for i in inputs)


def cmd_workflows_list(client: Client, args: argparse.Namespace) -> int:
    page = client.workflows.list(name=args.name, limit=args.limit, offset=args.offset)
    if args.json:
        emit_json({"items": page.items, "total": page.total})
    else:
        table([(w["id"], w["name"], w["version"], _set_by(w.get("published", False)),
                _inputs_text(w["inputs"])) for w in page.items],
              ["id", "name", "version", "set by", "inputs"])
    return EXIT_OK


def _set_by(published: bool) -> str:
    """Who publishes the workflow: the centre's catalogue (read-only) or the user."""
    return "centre (published, read-only)" if published else "you"


def _show_workflow(registered: RegisteredWorkflow, as_json: bool) -> None:
    if as_json:
        emit_json(registered)
        return
    wf = registered.workflow
    print(f"id: {registered.id}")
    print(f"name: {registered.name}")
    print(f"version: {registered.version}")
    print(f"set by: {_set_by(registered.published)}")
    if registered.description:
        print(f"description: {registered.description.splitlines()[0]}")
    print("inputs:")
    if not wf.inputs:
        print("  (none)")
    for item in wf.inputs:
        flags = "required" if item.required and item.default is None else "optional"
        default = f", default {item.default!r}" if item.default is not None else ""
        description = f"  {item.description}" if getattr(item, "description", "") else ""
        print(f"  {item.name} ({item.type}, {flags}{default}){description}")
    print("steps:")
    for step in wf.steps:
        print(f"  {step.name}: {step.application} {' '.join(step.arguments)}".rstrip())


def cmd_workflows_show(client: Client, args: argparse.Namespace) -> int:
    _show_workflow(client.workflows.get(args.id), args.json)
    return EXIT_OK


def _input_declarations(values: Sequence[str] | None) -> list[dict[str, Any]]:
    declared = []
    for text in values or []:
        name, _, kind = text.partition(":")
        if not name:
            raise UsageError(f"input {text!r} is not of the form name[:type]")
        declared.append({"name": name, "type": kind or "string"})
    return declared


def cmd_workflows_register(client: Client, args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    if path.suffix == ".py":
        options: dict[str, Any] = {"inputs": _input_declarations(args.input)}
        if args.name:
            options["name"] = args.name
        if args.version:
            options["version"] = args.version
        registered = client.workflows.register_python_file(str(path.resolve()), **options)
    elif path.suffix in (".json", ".yaml", ".yml"):
        import yaml

        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read the spec {path}: {exc}") from None
        registered = client.workflows.register_spec(spec)
    else:
        raise UsageError(f"{path}: give a PyCOMPSs .py file or a workflow spec "
                         "(.json/.yaml); for an eFlows4HPC registry folder use "
                         "'workflows import'")
    if args.json:
        emit_json(registered)
    else:
        print(f"registered {registered.name} {registered.version}: {registered.id}")
    return EXIT_OK


def cmd_workflows_import(client: Client, args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    # The server reads the folder: send an absolute path when it exists here (same host).
    target = str(path.resolve()) if path.exists() else args.path
    report = client.workflows.import_folder(target)
    if args.json:
        emit_json(report)
        return EXIT_OK
    for wf in report["registered"]:
        print(f"registered {wf['name']} {wf['version']}: {wf['id']}")
        print(f"  inputs: {_inputs_text(wf['inputs']) or '(none)'}")
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    for refusal in report.get("refused", []):  # a server from before refusals omits it
        print(f"refused: {refusal}", file=sys.stderr)
    if not report["registered"]:
        print("nothing new registered", file=sys.stderr)
    return EXIT_OK


def cmd_workflows_delete(client: Client, args: argparse.Namespace) -> int:
    client.workflows.delete(args.id)
    if not args.json:
        print(f"deleted {args.id}")
    return EXIT_OK


def site_binding(values: list[str] | None) -> str | dict[str, str]:
    """``--site NAME`` binds every environment; ``--site ENV=SITE`` (repeatable) each one."""
    values = values or [LOCAL_SITE]
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    if any("=" not in v for v in values):
        raise UsageError("give one --site NAME, or --site ENVIRONMENT=SITE for each "
                         "environment of the workflow")
    return parse_pairs(values, "site")


def cmd_workflows_trigger(client: Client, args: argparse.Namespace) -> int:
    inputs = parse_pairs(args.input, "input")
    site = site_binding(args.site)
    answers: dict[str, str] = {}
    if args.password or args.password_stdin or args.otp:
        sites = set(site.values()) if isinstance(site, dict) else {site}
        if LOCAL_SITE in sites or len(sites) != 1:
            raise UsageError("a password or one-time code is for one site (not the local "
                             "one): trigger with that --site")
        password, otp = site_secrets(client.sites.get(sites.pop()), args, required=False)
        answers = {k: v for k, v in (("password", password), ("one_time_code", otp)) if v}
    execution = client.executions.trigger(args.id, inputs, site=site,
                                          credential_id=args.credential, **answers)
    if args.json and not args.follow:
        emit_json(execution)
    else:
        print(execution.id, flush=True)
    if not args.follow:
        return EXIT_OK
    return follow_run(client, execution.id, args.json)


def register(groups: Any, command: Command) -> None:
    """Add this group's commands to the ``eflows`` parser."""
    wfs = groups.add_parser("workflows", help="registered workflows").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(wfs, "list", cmd_workflows_list, "list the registered workflows")
    p.add_argument("--name", default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p = command(wfs, "register", cmd_workflows_register,
                "register a PyCOMPSs .py file or a workflow spec (.json/.yaml)")
    p.add_argument("path")
    p.add_argument("-i", "--input", action="append", metavar="NAME[:TYPE]",
                   help="declare an input of a .py file (passed as its arguments, in order)")
    p.add_argument("--name", default=None)
    p.add_argument("--version", default=None)
    command(wfs, "import", cmd_workflows_import,
            "import an eFlows4HPC registry folder (TOSCA)").add_argument("path")
    command(wfs, "show", cmd_workflows_show, "a workflow, its inputs and steps").add_argument("id")
    command(wfs, "delete", cmd_workflows_delete, "forget a workflow").add_argument("id")
    p = command(wfs, "trigger", cmd_workflows_trigger, "start an execution; prints its id")
    p.add_argument("id")
    p.add_argument("-i", "--input", action="append", metavar="NAME=VALUE")
    p.add_argument("--site", action="append", metavar="SITE|ENV=SITE",
                   help="the site of every step (default: local), or ENV=SITE for each "
                        "environment role of the workflow's steps (repeat it)")
    p.add_argument("--credential", default=None, help="credential id (vault_id)")
    p.add_argument("--password", action="store_true",
                   help="the site's login asks a password: ask it (once for the server's "
                        "connection to the site; never stored)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read that password from stdin (for scripts)")
    p.add_argument("--otp", action="store_true",
                   help="the login asks a one-time code (with --password-stdin: 2nd line)")
    p.add_argument("-f", "--follow", action="store_true",
                   help="stream task events and logs; exit 0 when done, 1 otherwise")

