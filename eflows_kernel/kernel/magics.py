"""``%eflows``: the registered workflows and their executions, from a notebook cell.

One line magic with subcommands, so the whole eFlows surface stays under one name
(``%eflows?`` documents it) and more subcommands need no new magic::

    %eflows workflows [--name NAME] [--limit N]
    %eflows executions [--state S] [--workflow ID] [--site SITE] [--limit N]
    %eflows portal

The listings come from :func:`eflows_kernel.client.connect`: the Jupyter server's
REST API when ``EFLOWS_URL``/``EFLOWS_TOKEN`` are set (the server extension sets them
for the kernels it starts, so a notebook lists what the server runs), the state in
this process otherwise. Each listing is a :class:`Table`, shown as compact HTML in a
notebook and as aligned text in a terminal, and kept as the cell's value
(``rows`` holds the plain data).

The eFlows kernel registers the magic when it starts; in any other IPython,
``%load_ext eflows_kernel.kernel.magics`` (or :func:`register`) does.
"""

from __future__ import annotations

import argparse
import html
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The most rows a listing shows when no ``--limit`` is given.
DEFAULT_LIMIT = 20


@dataclass
class Table:
    """A listing: HTML in a notebook, aligned text elsewhere, the data in ``rows``."""

    title: str
    columns: Sequence[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    total: int | None = None  # rows the server has (more than shown when limited)
    empty: str = "nothing yet"

    @property
    def footer(self) -> str:
        if self.total is not None and self.total > len(self.rows):
            return f"{len(self.rows)} of {self.total} shown (use --limit to see more)"
        return ""

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{esc(row.get(c, ''))}</td>"
                             for c in self.columns) + "</tr>"
            for row in self.rows)
        if not self.rows:
            body = (f"<tr><td colspan='{len(self.columns)}'><i>{esc(self.empty)}</i>"
                    "</td></tr>")
        footer = f"<div><small>{esc(self.footer)}</small></div>" if self.footer else ""
        return (f"<div class='eflows-table'><b>{esc(self.title)}</b>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"{footer}</div>")

    def __repr__(self) -> str:
        lines = [self.title]
        if not self.rows:
            lines.append(f"({self.empty})")
        else:
            widths = [max([len(c)] + [len(row.get(c, "")) for row in self.rows])
                      for c in self.columns]
            lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths,
                                                               strict=True)).rstrip())
            for row in self.rows:
                lines.append("  ".join(row.get(c, "").ljust(w)
                                       for c, w in zip(self.columns, widths,
                                                       strict=True)).rstrip())
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)


def _when(value: Any) -> str:
    """A timestamp to the second, local-time free: the services store UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def _inputs(inputs: Iterable[Mapping[str, Any]] | None) -> str:
    """``name: type`` for each declared input, in order."""
    parts = []
    for item in inputs or ():
        name, kind = item.get("name", "?"), item.get("type")
        parts.append(f"{name}: {kind}" if kind else str(name))
    return ", ".join(parts)


def workflows_table(client: Any, name: str | None = None,
                    limit: int = DEFAULT_LIMIT) -> Table:
    """The registered workflows (newest registrations as the services order them)."""
    page = client.workflows.list(name=name, limit=limit)
    rows = [{"name": str(w.get("name", "")), "id": str(w.get("id", "")),
             "version": str(w.get("version") or ""),
             "set by": "centre (read-only)" if w.get("published") else "you",
             "inputs": _inputs(w.get("inputs"))}
            for w in page.items]
    return Table("eFlows workflows", ("name", "id", "version", "set by", "inputs"), rows,
                 total=page.total, empty="no workflow registered")


def executions_table(client: Any, state: list[str] | None = None,
                     workflow_id: str | None = None, site: str | None = None,
                     limit: int = DEFAULT_LIMIT) -> Table:
    """Executions with their workflow's name (looked up once per workflow)."""
    page = client.executions.list(state=state or None, workflow_id=workflow_id, site=site,
                                  limit=limit)
    names: dict[str, str] = {}
    rows = []
    for execution in page.items:
        wid = execution.workflow_id
        if wid not in names:
            try:
                workflow = client.workflows.get(wid)
                names[wid] = f"{workflow.name} ({wid})"
            except Exception:  # deleted since: the id still says which it was
                names[wid] = wid
        rows.append({"id": execution.id, "workflow": names[wid], "site": execution.site,
                     "state": getattr(execution.state, "value", str(execution.state)),
                     "created": _when(execution.created_at),
                     "updated": _when(execution.updated_at)})
    filters = ", ".join(f"{k} {v}" for k, v in (("state", ",".join(state or [])),
                                                 ("workflow", workflow_id), ("site", site))
                        if v)
    return Table("eFlows executions" + (f" ({filters})" if filters else ""),
                 ("id", "workflow", "site", "state", "created", "updated"), rows,
                 total=page.total, empty="no execution")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting: a bad option must not end the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        raise UsageError(message or self.format_help())


class UsageError(Exception):
    """A wrong ``%eflows`` line: shown as a one-line error, without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%eflows", description="eFlows4HPC workflows and executions.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    workflows = commands.add_parser("workflows", help="list the registered workflows")
    workflows.add_argument("--name", help="only the workflows with this name")
    workflows.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    executions = commands.add_parser("executions", help="list the executions")
    executions.add_argument("--state", action="append",
                            help="only executions in this state (repeatable, or a,b)")
    executions.add_argument("--workflow", help="only the executions of this workflow id")
    executions.add_argument("--site", help="only the executions on this site")
    executions.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    commands.add_parser("portal", help="show the eFlows portal (eflows_kernel.portal())")
    return parser


class EflowsMagic:
    """The ``%eflows`` line magic; ``connect`` makes the client (tests give their own)."""

    def __init__(self, connect: Callable[[], Any] | None = None) -> None:
        self._connect = connect

    def _client(self) -> Any:
        if self._connect is not None:
            return self._connect()
        from eflows_kernel.client import connect

        return connect()

    def __call__(self, line: str) -> Any:
        try:
            args = _parser().parse_args(shlex.split(line))
            if args.command == "portal":
                return _portal()
            if args.limit < 1:
                raise UsageError("%eflows: --limit must be at least 1")
        except UsageError as exc:
            _print_error(str(exc))
            return None
        client = self._client()
        try:
            if args.command == "workflows":
                return workflows_table(client, name=args.name, limit=args.limit)
            states = [s.strip() for value in args.state or () for s in value.split(",")
                      if s.strip()]
            return executions_table(client, state=states, workflow_id=args.workflow,
                                    site=args.site, limit=args.limit)
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()


def _portal() -> Any:
    """``eflows_kernel.portal()``, imported only when asked (it may not exist yet)."""
    import eflows_kernel

    portal = getattr(eflows_kernel, "portal", None)
    if not callable(portal):
        _print_error("%eflows portal: this eflows_kernel has no portal() "
                     f"(version {getattr(eflows_kernel, '__version__', '?')}); "
                     "use %eflows workflows and %eflows executions")
        return None
    return portal()


def _print_error(message: str) -> None:
    import sys

    print(message.rstrip(), file=sys.stderr)


def register(shell: Any, connect: Callable[[], Any] | None = None) -> EflowsMagic:
    """Register ``%eflows`` in ``shell`` (again replaces it); returns the magic."""
    magic = EflowsMagic(connect)

    def eflows(line: str = "") -> Any:
        return magic(line)

    eflows.__doc__ = __doc__.split("\n\n", 1)[0] + "\n\n" + _parser().format_help()
    shell.register_magic_function(eflows, magic_kind="line", magic_name="eflows")
    return magic


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext eflows_kernel.kernel.magics`` in any IPython."""
    register(shell)


__all__ = ["DEFAULT_LIMIT", "EflowsMagic", "Table", "UsageError", "executions_table",
           "load_ipython_extension", "register", "workflows_table"]
