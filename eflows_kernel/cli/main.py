"""``eflows``: the command line of the services, modelled on eFlows4HPC's ``waas``.

Talks to a Jupyter server with the extension (``--url``/``--token``, else
``$EFLOWS_URL``/``$EFLOWS_TOKEN``, else ``~/.config/eflows/config.toml``), or,
with ``--local`` or when no server is configured, to the services in-process.
User mistakes print one line on stderr (exit 1, or 2 for bad usage), never a
traceback; private keys are never printed. One module per command group
(``keys``, ``sites``, ``workflows``, ``executions``) adds its commands here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from eflows_kernel.cli import data, executions, keys, sites, workflows
from eflows_kernel.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from eflows_kernel.client import ClientError, connect
from eflows_kernel.client.protocol import Client
from eflows_kernel.services.errors import ServiceError


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

    for group in (keys, sites, workflows, executions, data):
        group.register(groups, command)
    return parser


def make_client(args: argparse.Namespace) -> Client:
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
    except OSError as exc:  # e.g. an unreadable vault key file (local mode)
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
