"""Asking a site's password or one-time code: from stdin for scripts, else without echo.

What is typed is sent once to log in and never printed or stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from eflows_kernel.cli.output import UsageError
from eflows_kernel.services.sites import Site


def site_secrets(site: Site, args: argparse.Namespace,
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
