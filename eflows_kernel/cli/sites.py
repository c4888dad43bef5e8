"""``eflows sites``: HPC sites, their host keys, and checks that a run can go there."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from eflows_kernel.cli.output import EXIT_FAILED, EXIT_OK, Command, emit_json, table
from eflows_kernel.client.protocol import Client
from eflows_kernel.services.sites import CheckReport, Site


def _address(site: Site) -> str:
    cfg = site.config
    if cfg.is_local:
        return f"{cfg.login}@this host (local)"
    return f"{cfg.login}@{cfg.host}:{cfg.port}"


def _whose(site: Site) -> str:
    """Who set the site up: the centre's operator (read-only) or the user."""
    return "centre (read-only)" if site.operator else "you"


def _show_site(site: Site) -> None:
    cfg = site.config
    print(f"id: {site.id}")
    print(f"name: {cfg.name}")
    print(f"set by: {_whose(site)}")
    print(f"address: {_address(site)}")
    print(f"scheduler: {cfg.scheduler}")
    for name in ("partition", "qos", "account"):
        if getattr(cfg, name):
            print(f"{name}: {getattr(cfg, name)}")
    print(f"workdir: {cfg.workdir}")
    print(f"host key: {site.host_key.fingerprint if site.host_key else 'not trusted yet'}")


def cmd_sites_add(client: Client, args: argparse.Namespace) -> int:
    config: dict[str, Any] = {"name": args.name, "host": args.host, "port": args.port,
                              "login": args.login, "scheduler": args.scheduler}
    for name in ("partition", "qos", "account", "workdir"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    site = client.sites.add(config)
    if args.json:
        emit_json(site)
    else:
        print(f"added site {site.name}: {site.id}")
        print(f"next: eflows sites trust {site.name}", file=sys.stderr)
    return EXIT_OK


def cmd_sites_list(client: Client, args: argparse.Namespace) -> int:
    sites = client.sites.list()
    if args.json:
        emit_json(sites)
    else:
        table([(s.id, s.name, _address(s), s.config.scheduler,
                 "-" if s.config.is_local else
                 s.host_key.fingerprint if s.host_key else "(not trusted)", _whose(s))
                for s in sites], ["id", "name", "address", "scheduler", "host key", "set by"])
    return EXIT_OK


def cmd_sites_show(client: Client, args: argparse.Namespace) -> int:
    site = client.sites.get(args.site)
    if args.json:
        emit_json(site)
    else:
        _show_site(site)
    return EXIT_OK


def cmd_sites_delete(client: Client, args: argparse.Namespace) -> int:
    site = client.sites.get(args.site)
    client.sites.delete(site.id)
    if not args.json:
        print(f"deleted site {site.name}")
    return EXIT_OK


def cmd_sites_trust(client: Client, args: argparse.Namespace) -> int:
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
        emit_json(trusted)
    else:
        print(f"trusted the host key of {trusted.name}")
    return EXIT_OK


_CHECK_ITEMS = (("reachable", "reachable"), ("host_key", "host key"),
                ("authenticated", "key accepted"), ("scheduler", "scheduler"),
                ("python", "python"))


def _check_value(name: str, value: Any, report: CheckReport) -> str:
    if value is None:
        return "not tried"
    if name == "host_key":
        fingerprint = f" ({report.presented_fingerprint})" if report.presented_fingerprint else ""
        return f"{value}{fingerprint}"
    if name == "authenticated" and value is False:
        return "no: the key is not authorized on the site"
    return "yes" if value else "no"


def cmd_sites_check(client: Client, args: argparse.Namespace) -> int:
    site = client.sites.get(args.site)
    report = client.sites.check(site.id, args.key)
    if args.json:
        emit_json(report)
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


def register(groups: Any, command: Command) -> None:
    """Add this group's commands to the ``eflows`` parser."""
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

