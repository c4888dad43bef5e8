"""``eflows``: the command line of the services (see ``main.py``)."""

from eflows_kernel.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
