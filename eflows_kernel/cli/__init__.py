"""``eflows``: the command line of the services, modelled on eFlows4HPC's ``waas``.

Talks to a Jupyter server with the extension (``--url``/``--token``, else
``$EFLOWS_URL``/``$EFLOWS_TOKEN``, else ``~/.config/eflows/config.toml``), or,
with ``--local`` or when no server is configured, to the services in-process.
User mistakes print one line on stderr (exit 1, or 2 for bad usage), never a
traceback; private keys are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.client import ClientError, EflowsClient, LocalClient, connect
from eflows_kernel.services.credentials import VaultError
from eflows_kernel.services.errors import ServiceError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A command line that parses but makes no sense (exit 2)."""


# ---- output ------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _emit_json(value: Any) -> None:
    print(json.dumps(_jsonable(value), indent=2, default=str))


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """A plain aligned table (no colour, no wrapping: safe to pipe into grep/awk)."""
    text = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in text:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _parse_pairs(pairs: Sequence[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {pair!r} is not of the form name=value")
        result[key.strip()] = value
    return result


# ---- ssh-keys ----------------------------------------------------------------------------

def cmd_keys_keygen(client: Any, args: argparse.Namespace) -> int:
    info = client.credentials.generate(args.name, args.kind, args.bits, args.comment)
    if args.json:
        _emit_json(info)
    else:
        print(f"id: {info.id}")
        print(f"fingerprint: {info.fingerprint}")
        print(f"public key: {info.public_key}")
    return EXIT_OK


def cmd_keys_list(client: Any, args: argparse.Namespace) -> int:
    keys = client.credentials.list()
    if args.json:
        _emit_json(keys)
    else:
        _table([(k.id, k.name, k.kind, k.fingerprint, k.created_at.isoformat(timespec="seconds"))
                for k in keys], ["id", "name", "kind", "fingerprint", "created"])
    return EXIT_OK


def cmd_keys_delete(client: Any, args: argparse.Namespace) -> int:
    client.credentials.delete(args.id)
    if not args.json:
        print(f"deleted {args.id}")
    return EXIT_OK


def cmd_keys_authorize(client: Any, args: argparse.Namespace) -> int:
    """Install the public key on a site (``--site``, as ``ssh-copy-id``), or print its line.

    The site password is asked without echo (or read from stdin with ``--password-stdin``),
    sent once to log in, and never printed or stored.
    """
    if args.site is None:
        if args.password_stdin or args.otp:
            raise UsageError("--password-stdin and --otp need --site")
        info = client.credentials.get(args.id)
        if args.json:
            _emit_json({"id": info.id, "authorized_keys_line": info.public_key})
        else:
            print("# append this line to ~/.ssh/authorized_keys on the cluster "
                  "(or give --site to install it)", file=sys.stderr)
            print(info.public_key)
        return EXIT_OK
    site = client.sites.get(args.site)
    client.credentials.get(args.id)  # an unknown key fails before the password is asked
    password, otp = _secrets(site, args, required=True)
    result = client.sites.authorize(site.id, args.id, password=password, otp=otp)
    if args.json:
        _emit_json(result)
    elif result.get("added"):
        print(f"authorized {args.id} on {site.name} ({site.config.login}@{site.config.host})")
    else:
        print(f"{args.id} was already authorized on {site.name}")
    return EXIT_OK


def cmd_keys_revoke(client: Any, args: argparse.Namespace) -> int:
    """Remove the key's line from the site's authorized_keys (logs in with the key itself
    unless ``--password``/``--password-stdin``)."""
    site = client.sites.get(args.site)
    client.credentials.get(args.id)
    password, otp = _secrets(site, args, required=False)
    result = client.sites.revoke(site.id, args.id, password=password, otp=otp)
    if args.json:
        _emit_json(result)
    elif result.get("removed"):
        print(f"revoked {args.id} on {site.name}")
    else:
        print(f"{args.id} was not authorized on {site.name}: nothing removed")
    return EXIT_OK


def _secrets(site: Any, args: argparse.Namespace,
             required: bool) -> tuple[str | None, str | None]:
    """The site password (and one-time code) from stdin or a no-echo prompt."""
    cfg = site.config
    password = otp = None
    if args.password_stdin:
        lines = sys.stdin.read().splitlines()
        if not lines or not lines[0]:
            raise UsageError("--password-stdin: no password on stdin")
        password = lines[0]
        if args.otp:
            if len(lines) < 2 or not lines[1].strip():
                raise UsageError("--otp with --password-stdin: give the one-time code on "
                                 "the second line of stdin")
            otp = lines[1].strip()
        return password, otp
    wants_password = required or getattr(args, "password", False)
    if (wants_password or args.otp) and not sys.stdin.isatty():
        raise UsageError("no terminal to ask the password on: pipe it in with "
                         "--password-stdin")
    if wants_password:
        password = getpass.getpass(f"password for {cfg.login}@{cfg.host}: ") or None
    if args.otp:
        otp = getpass.getpass(f"one-time code for {cfg.login}@{cfg.host}: ").strip() or None
    if required and password is None and otp is None:
        raise UsageError("no password given: nothing was done")
    return password, otp


# ---- sites -------------------------------------------------------------------------------

def _show_site(site: Any) -> None:
    cfg = site.config
    print(f"id: {site.id}")
    print(f"name: {cfg.name}")
    print(f"address: {cfg.login}@{cfg.host}:{cfg.port}")
    print(f"scheduler: {cfg.scheduler}")
    for name in ("partition", "qos", "account"):
        if getattr(cfg, name):
            print(f"{name}: {getattr(cfg, name)}")
    print(f"workdir: {cfg.workdir}")
    print(f"host key: {site.host_key.fingerprint if site.host_key else 'not trusted yet'}")


def cmd_sites_add(client: Any, args: argparse.Namespace) -> int:
    config: dict[str, Any] = {"name": args.name, "host": args.host, "port": args.port,
                              "login": args.login, "scheduler": args.scheduler}
    for name in ("partition", "qos", "account", "workdir"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    site = client.sites.add(config)
    if args.json:
        _emit_json(site)
    else:
        print(f"added site {site.name}: {site.id}")
        print(f"next: eflows sites trust {site.name}", file=sys.stderr)
    return EXIT_OK


def cmd_sites_list(client: Any, args: argparse.Namespace) -> int:
    sites = client.sites.list()
    if args.json:
        _emit_json(sites)
    else:
        _table([(s.id, s.name, f"{s.config.login}@{s.config.host}:{s.config.port}",
                 s.config.scheduler, s.host_key.fingerprint if s.host_key else "(not trusted)")
                for s in sites], ["id", "name", "address", "scheduler", "host key"])
    return EXIT_OK


def cmd_sites_show(client: Any, args: argparse.Namespace) -> int:
    site = client.sites.get(args.site)
    if args.json:
        _emit_json(site)
    else:
        _show_site(site)
    return EXIT_OK


def cmd_sites_delete(client: Any, args: argparse.Namespace) -> int:
    site = client.sites.get(args.site)
    client.sites.delete(site.id)
    if not args.json:
        print(f"deleted site {site.name}")
    return EXIT_OK


def cmd_sites_trust(client: Any, args: argparse.Namespace) -> int:
    """Pin the site's host key, after the user confirmed its fingerprint.

    Confirmation is ``--fingerprint FP`` (checked against what the site presents) or a
    "y" at the prompt on a terminal; without either nothing is trusted.
    """
    site = client.sites.get(args.site)
    cfg = site.config
    key = client.sites.scan(site.id)
    out = sys.stderr if args.json else sys.stdout
    print(f"{cfg.host}:{cfg.port} presents the {key.type} host key", file=out)
    print(f"  {key.fingerprint}", file=out)
    if args.fingerprint is not None:
        confirmed = args.fingerprint.strip()
        if confirmed != key.fingerprint:
            print(f"eflows: error: the site presents {key.fingerprint}, not the given "
                  f"{confirmed}: nothing was trusted", file=sys.stderr)
            return EXIT_FAILED
    elif sys.stdin.isatty():
        print("Compare it with the fingerprint the site's administrators publish.",
              file=sys.stderr)
        sys.stderr.write("Trust this host key? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("eflows: not trusted: nothing was stored", file=sys.stderr)
            return EXIT_FAILED
        confirmed = key.fingerprint
    else:
        print("eflows: error: not trusted: stdin is not a terminal to confirm the "
              "fingerprint; after checking it, run again with --fingerprint "
              f"{key.fingerprint}", file=sys.stderr)
        return EXIT_FAILED
    trusted = client.sites.trust(site.id, confirmed)
    if args.json:
        _emit_json(trusted)
    else:
        print(f"trusted the host key of {trusted.name}")
    return EXIT_OK


_CHECK_ITEMS = (("reachable", "reachable"), ("host_key", "host key"),
                ("authenticated", "key accepted"), ("scheduler", "scheduler"),
                ("python", "python"))


def _check_value(name: str, value: Any, report: Any) -> str:
    if value is None:
        return "not tried"
    if name == "host_key":
        fingerprint = f" ({report.presented_fingerprint})" if report.presented_fingerprint else ""
        return f"{value}{fingerprint}"
    if name == "authenticated" and value is False:
        return "no: the key is not authorized on the site"
    return "yes" if value else "no"


def cmd_sites_check(client: Any, args: argparse.Namespace) -> int:
    site = client.sites.get(args.site)
    report = client.sites.check(site.id, args.key)
    if args.json:
        _emit_json(report)
    else:
        print(f"site {site.name} ({site.config.login}@{site.config.host}:{site.config.port}), "
              f"key {args.key}:")
        for name, label in _CHECK_ITEMS:
            if name == "scheduler" and site.config.scheduler == "none":
                continue
            print(f"  {label}: {_check_value(name, getattr(report, name), report)}")
        if report.problems:
            print("problems:")
            for name, problem in report.problems.items():
                print(f"  {name}: {problem}")
        else:
            print("ok: the site is ready for this key")
    if not report.ok:
        print(f"eflows: site {site.name} is not ready for key {args.key}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# ---- workflows ---------------------------------------------------------------------------

def _inputs_text(inputs: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{i['name']}:{i.get('type', 'string')}" for i in inputs)


def cmd_workflows_list(client: Any, args: argparse.Namespace) -> int:
    page = client.workflows.list(name=args.name, limit=args.limit, offset=args.offset)
    if args.json:
        _emit_json({"items": page.items, "total": page.total})
    else:
        _table([(w["id"], w["name"], w["version"], _inputs_text(w["inputs"]))
                for w in page.items], ["id", "name", "version", "inputs"])
    return EXIT_OK


def _show_workflow(registered: Any, as_json: bool) -> None:
    if as_json:
        _emit_json(registered)
        return
    wf = registered.workflow
    print(f"id: {registered.id}")
    print(f"name: {registered.name}")
    print(f"version: {registered.version}")
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


def cmd_workflows_show(client: Any, args: argparse.Namespace) -> int:
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


def cmd_workflows_register(client: Any, args: argparse.Namespace) -> int:
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
        _emit_json(registered)
    else:
        print(f"registered {registered.name} {registered.version}: {registered.id}")
    return EXIT_OK


def cmd_workflows_import(client: Any, args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    # The server reads the folder: send an absolute path when it exists here (same host).
    target = str(path.resolve()) if path.exists() else args.path
    report = client.workflows.import_folder(target)
    if args.json:
        _emit_json(report)
        return EXIT_OK
    for wf in report["registered"]:
        print(f"registered {wf['name']} {wf['version']}: {wf['id']}")
        print(f"  inputs: {_inputs_text(wf['inputs']) or '(none)'}")
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if not report["registered"]:
        print("nothing new registered", file=sys.stderr)
    return EXIT_OK


def cmd_workflows_delete(client: Any, args: argparse.Namespace) -> int:
    client.workflows.delete(args.id)
    if not args.json:
        print(f"deleted {args.id}")
    return EXIT_OK


def _event_line(event: dict[str, Any], names: dict[int, str]) -> str | None:
    kind = event.get("type")
    seq = event.get("seq", "")
    if kind == "task":
        task = event.get("task")
        if event.get("name") and isinstance(task, int):
            names[task] = event["name"]
        name = names.get(task, "?") if isinstance(task, int) else "?"
        return f"{seq} task {task} {name} {event.get('state')}"
    if kind == "run":
        return f"{seq} run {event.get('state')}"
    if kind == "log":
        return f"{seq} log {str(event.get('text', event.get('message', ''))).rstrip()}"
    if kind == "transfer":
        return f"{seq} transfer {event.get('name', '')} {event.get('state', '')}".rstrip()
    return None


def _follow(client: Any, execution_id: str, as_json: bool, events: bool = True) -> int:
    """Stream events (one line each) then the logs; exit 0 done, 1 otherwise."""
    names: dict[int, str] = {}
    if events:
        for event in client.executions.follow(execution_id):
            if as_json:
                print(json.dumps(event), flush=True)
                continue
            line = _event_line(event, names)
            if line:
                print(line, flush=True)
        execution = client.executions.get(execution_id)
        text, _ = client.executions.logs(execution_id)
        if not as_json and text:
            print("--- logs ---")
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:  # logs --follow: the output as it comes
        offset = 0
        while True:
            execution = client.executions.get(execution_id)
            text, offset = client.executions.logs(execution_id, offset=offset)
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()
            if execution.finished and not text:
                break
            if not text:
                import time

                time.sleep(0.5)
    state = execution.state.value
    print(f"execution {execution_id}: {state}"
          + (f" ({execution.error.splitlines()[0]})" if execution.error else ""),
          file=sys.stderr)
    return EXIT_OK if state == "done" else EXIT_FAILED


def cmd_workflows_trigger(client: Any, args: argparse.Namespace) -> int:
    inputs = _parse_pairs(args.input, "input")
    answers: dict[str, str] = {}
    if args.password or args.password_stdin or args.otp:
        if args.site == "local":
            raise UsageError("the local site needs no password or one-time code")
        password, otp = _secrets(client.sites.get(args.site), args, required=False)
        answers = {k: v for k, v in (("password", password), ("one_time_code", otp)) if v}
    execution = client.executions.trigger(args.id, inputs, site=args.site,
                                          credential_id=args.credential, **answers)
    if args.json and not args.follow:
        _emit_json(execution)
    else:
        print(execution.id, flush=True)
    if not args.follow:
        return EXIT_OK
    return _follow(client, execution.id, args.json)


# ---- executions --------------------------------------------------------------------------

def cmd_executions_list(client: Any, args: argparse.Namespace) -> int:
    page = client.executions.list(state=args.state or None, workflow_id=args.workflow,
                                  limit=args.limit, offset=args.offset)
    if args.json:
        _emit_json({"items": page.items, "total": page.total})
    else:
        _table([(e.id, e.workflow_id, e.site, e.state.value,
                 e.created_at.isoformat(timespec="seconds")) for e in page.items],
               ["id", "workflow", "site", "state", "created"])
    return EXIT_OK


def cmd_executions_status(client: Any, args: argparse.Namespace) -> int:
    execution = client.executions.get(args.id)
    if args.json:
        _emit_json(execution)
    else:
        print(f"id: {execution.id}")
        print(f"workflow: {execution.workflow_id}")
        print(f"site: {execution.site}")
        print(f"state: {execution.state.value} ({execution.hpcwaas_status.value})")
        print(f"inputs: {json.dumps(execution.inputs)}")
        if execution.outputs:
            print(f"outputs: {json.dumps(execution.outputs)}")
        if execution.error:
            print(f"error: {execution.error}")
    return EXIT_OK


def cmd_executions_logs(client: Any, args: argparse.Namespace) -> int:
    if args.follow:
        return _follow(client, args.id, args.json, events=False)
    text, next_offset = client.executions.logs(args.id)
    if args.json:
        _emit_json({"id": args.id, "text": text, "next_offset": next_offset})
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_executions_cancel(client: Any, args: argparse.Namespace) -> int:
    execution = client.executions.cancel(args.id)
    if args.json:
        _emit_json(execution)
    else:
        print(f"{execution.id}: {execution.state.value}")
    return EXIT_OK


# ---- parser ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help="the Jupyter server (with base URL), e.g. http://localhost:8888/")
    common.add_argument("--token", default=argparse.SUPPRESS,
                        help="the server's token (else $EFLOWS_TOKEN, else the config file)")
    common.add_argument("--local", action="store_true", default=argparse.SUPPRESS,
                        help="use the services in this process instead of a server")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable JSON output")
    common.add_argument("--insecure", action="store_true", default=argparse.SUPPRESS,
                        help="accept a self-signed HTTPS certificate")

    parser = argparse.ArgumentParser(prog="eflows", parents=[common],
                     description="eFlows4HPC workflows as a service, from the command line.")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)

    def command(sub: Any, name: str, handler: Callable[..., int], help_text: str) -> Any:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    keys = groups.add_parser("ssh-keys", help="SSH credentials in the vault").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(keys, "keygen", cmd_keys_keygen, "generate a key pair; prints id + public key")
    p.add_argument("name")
    p.add_argument("--kind", choices=["ed25519", "rsa"], default="ed25519")
    p.add_argument("--bits", type=int, default=None, help="RSA size (default 4096)")
    p.add_argument("--comment", default=None)
    command(keys, "list", cmd_keys_list, "list the credentials (public parts only)")
    command(keys, "delete", cmd_keys_delete, "delete a credential").add_argument("id")
    p = command(keys, "authorize", cmd_keys_authorize,
                "install the public key on a site (--site; asks the site password), "
                "or print its authorized_keys line")
    p.add_argument("id")
    p.add_argument("--site", default=None, help="site id or name to install the key on")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the site password from stdin (for scripts)")
    p.add_argument("--otp", action="store_true",
                   help="also ask a one-time code (with --password-stdin: stdin's 2nd line)")
    p = command(keys, "revoke", cmd_keys_revoke,
                "remove the public key from a site's authorized_keys")
    p.add_argument("id")
    p.add_argument("--site", required=True, help="site id or name")
    p.add_argument("--password", action="store_true",
                   help="log in with the site password (asked) instead of the key")
    p.add_argument("--password-stdin", action="store_true",
                   help="log in with the site password read from stdin")
    p.add_argument("--otp", action="store_true", help="also ask a one-time code")

    sites = groups.add_parser("sites", help="HPC sites").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(sites, "add", cmd_sites_add, "add an HPC site (then: sites trust NAME)")
    p.add_argument("name")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--login", required=True, help="the user name on the site")
    p.add_argument("--scheduler", choices=["slurm", "none"], default="slurm")
    p.add_argument("--partition", default=None)
    p.add_argument("--qos", default=None)
    p.add_argument("--account", default=None)
    p.add_argument("--workdir", default=None, help="where runs go on the site (~/eflows)")
    command(sites, "list", cmd_sites_list, "list the sites")
    command(sites, "show", cmd_sites_show, "a site's settings").add_argument("site")
    command(sites, "delete", cmd_sites_delete, "forget a site").add_argument("site")
    p = command(sites, "trust", cmd_sites_trust,
                "show the site's host key fingerprint and trust it once confirmed")
    p.add_argument("site", help="site id or name")
    p.add_argument("--fingerprint", default=None,
                   help="the SHA256:... fingerprint you confirmed (non-interactive)")
    p = command(sites, "check", cmd_sites_check,
                "try everything a run needs; exit 1 with the problems if anything fails")
    p.add_argument("site", help="site id or name")
    p.add_argument("--key", required=True, metavar="KEY_ID", help="credential id")

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
    p.add_argument("--site", default="local")
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

    exs = groups.add_parser("executions", help="executions").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(exs, "list", cmd_executions_list, "list executions, newest first")
    p.add_argument("--state", action="append", default=None)
    p.add_argument("--workflow", default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    command(exs, "status", cmd_executions_status, "an execution's state").add_argument("id")
    p = command(exs, "logs", cmd_executions_logs, "an execution's output")
    p.add_argument("id")
    p.add_argument("-f", "--follow", action="store_true", help="until the run ends")
    command(exs, "cancel", cmd_executions_cancel, "cancel a running execution").add_argument("id")
    return parser


def make_client(args: argparse.Namespace) -> EflowsClient | LocalClient:
    return connect(getattr(args, "url", None), getattr(args, "token", None),
                   local=True if getattr(args, "local", False) else None,
                   verify=not getattr(args, "insecure", False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status (0 ok, 1 failure, 2 bad usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage line on bad usage
    args.json = getattr(args, "json", False)
    client = None
    try:
        client = make_client(args)
        return args.handler(client, args)
    except KeyboardInterrupt:
        print("eflows: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        print(f"eflows: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ServiceError as exc:
        print(f"eflows: error: {_service_message(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except ClientError as exc:
        print(f"eflows: error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `eflows ... | head`
        return EXIT_OK
    except (VaultError, OSError) as exc:  # e.g. an unreadable vault key file (local mode)
        print(f"eflows: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if client is not None:
            client.close()


def _service_message(exc: ServiceError) -> str:
    errors = exc.details.get("errors")
    message = exc.message
    if isinstance(errors, dict) and errors and not all(str(k) in message for k in errors):
        message += " (" + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ")"
    return message


__all__ = ["build_parser", "main"]
