"""``eflows ssh-keys``: credentials in the vault, and their public keys on sites."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from eflows_kernel.cli.output import EXIT_OK, Command, UsageError, emit_json, table
from eflows_kernel.cli.prompts import site_secrets
from eflows_kernel.client.protocol import Client


def cmd_keys_keygen(client: Client, args: argparse.Namespace) -> int:
    info = client.credentials.generate(args.name, args.kind, args.bits, args.comment)
    if args.json:
        emit_json(info)
    else:
        print(f"id: {info.id}")
        print(f"fingerprint: {info.fingerprint}")
        print(f"public key: {info.public_key}")
    return EXIT_OK


def cmd_keys_list(client: Client, args: argparse.Namespace) -> int:
    keys = client.credentials.list()
    if args.json:
        emit_json(keys)
    else:
        table([(k.id, k.name, k.kind, k.fingerprint, k.created_at.isoformat(timespec="seconds"))
                for k in keys], ["id", "name", "kind", "fingerprint", "created"])
    return EXIT_OK


def cmd_keys_delete(client: Client, args: argparse.Namespace) -> int:
    client.credentials.delete(args.id)
    if not args.json:
        print(f"deleted {args.id}")
    return EXIT_OK


def cmd_keys_authorize(client: Client, args: argparse.Namespace) -> int:
    """Install the public key on a site (``--site``, as ``ssh-copy-id``), or print its line.

    The site password is asked without echo (or read from stdin with ``--password-stdin``),
    sent once to log in, and never printed or stored.
    """
    if args.site is None:
        if args.password_stdin or args.otp:
            raise UsageError("--password-stdin and --otp need --site")
        info = client.credentials.get(args.id)
        if args.json:
            emit_json({"id": info.id, "authorized_keys_line": info.public_key})
        else:
            print("# append this line to ~/.ssh/authorized_keys on the cluster "
                  "(or give --site to install it)", file=sys.stderr)
            print(info.public_key)
        return EXIT_OK
    site = client.sites.get(args.site)
    client.credentials.get(args.id)  # an unknown key fails before the password is asked
    password, otp = site_secrets(site, args, required=True)
    result = client.sites.authorize(site.id, args.id, password=password, otp=otp)
    if args.json:
        emit_json(result)
    elif result.get("added"):
        print(f"authorized {args.id} on {site.name} ({site.config.login}@{site.config.host})")
    else:
        print(f"{args.id} was already authorized on {site.name}")
    return EXIT_OK


def cmd_keys_revoke(client: Client, args: argparse.Namespace) -> int:
    """Remove the key's line from the site's authorized_keys (logs in with the key itself
    unless ``--password``/``--password-stdin``)."""
    site = client.sites.get(args.site)
    client.credentials.get(args.id)
    password, otp = site_secrets(site, args, required=False)
    result = client.sites.revoke(site.id, args.id, password=password, otp=otp)
    if args.json:
        emit_json(result)
    elif result.get("removed"):
        print(f"revoked {args.id} on {site.name}")
    else:
        print(f"{args.id} was not authorized on {site.name}: nothing removed")
    return EXIT_OK


def cmd_keys_rotate_master_key(client: Client, args: argparse.Namespace) -> int:
    """Re-encrypt the vault under a new master key: on the server's host, not over REST
    (the key file is the host's; sending a master key over HTTP would defeat it)."""
    services = getattr(client, "services", None)
    if services is None:
        raise UsageError("rotate-master-key works on the vault of this host: run it without "
                         "--url, as the account the Jupyter server runs as, with the server "
                         "stopped")
    count, message = services.rotate_master_key()
    if args.json:
        emit_json({"reencrypted": count})
    else:
        print(message)
    return EXIT_OK


def register(groups: Any, command: Command) -> None:
    """Add this group's commands to the ``eflows`` parser."""
    keys = groups.add_parser("ssh-keys", help="SSH credentials in the vault").add_subparsers(
        dest="command", metavar="ACTION", required=True)
    p = command(keys, "keygen", cmd_keys_keygen, "generate a key pair; prints id + public key")
    p.add_argument("name")
    p.add_argument("--kind", choices=["ed25519", "rsa"], default="ed25519")
    p.add_argument("--bits", type=int, default=None, help="RSA size (default 4096)")
    p.add_argument("--comment", default=None)
    command(keys, "list", cmd_keys_list, "list the credentials (public parts only)")
    command(keys, "delete", cmd_keys_delete, "delete a credential").add_argument("id")
    command(keys, "rotate-master-key", cmd_keys_rotate_master_key,
            "re-encrypt every credential under a new vault master key (this host only)")
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

