"""What every portal widget shares: a visible message area and guarded client calls.

A notebook user who clicks a button must see what went wrong in the widget itself,
not a traceback in the kernel log, and never a secret they typed: every client call
made on a user's behalf goes through :func:`guarded`, which shows the error's own
message (services and client errors are written for people) with any secret given
to the call blanked out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import ipywidgets as widgets

from eflows_kernel.client.errors import ClientError
from eflows_kernel.client.protocol import LOCAL_SITE as LOCAL_SITE  # the widgets' own name
from eflows_kernel.services.errors import ServiceError

T = TypeVar("T")
_COLOURS = {"error": "#b00020", "info": "#1b5e20", "": "inherit"}


def error_message(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """One line for a person: the error's message, with any of ``secrets`` blanked out."""
    if isinstance(exc, ServiceError | ClientError):
        text = exc.message or str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return scrub(text, secrets)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced, longest first (overlaps)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def field_errors(exc: BaseException) -> dict[str, str]:
    """Per-field messages an error carries, keyed by input name.

    In-process services put them in ``details["fields"]``; the REST API answers
    ``errors`` keyed ``inputs.<name>``; ``InputValidationError`` has ``.errors``.
    """
    found: dict[str, str] = {}
    details: Mapping[str, Any] = getattr(exc, "details", None) or {}
    sources = [details.get("errors"), details.get("fields"), getattr(exc, "errors", None)]
    for value in sources:
        if isinstance(value, Mapping):
            for key, message in value.items():
                name = str(key).removeprefix("inputs.")
                found[name] = str(message)
    return found


class MessageArea(widgets.HTML):
    """A line under a widget's controls saying what just happened, or what went wrong.

    ``text`` and ``kind`` hold the plain message so tests (and other widgets) can read
    it without parsing HTML.
    """

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.kind = ""

    def show(self, text: str, kind: str = "info") -> None:
        """Show ``text``; ``kind`` is ``"error"`` or ``"info"``."""
        self.text, self.kind = text, kind
        colour = _COLOURS.get(kind, "inherit")
        prefix = "⚠ " if kind == "error" else ""
        self.value = (f'<div style="color:{colour};white-space:pre-wrap">'
                      f"{prefix}{html.escape(text)}</div>") if text else ""

    def error(self, text: str) -> None:
        self.show(text, "error")

    def info(self, text: str) -> None:
        self.show(text, "info")

    def clear(self) -> None:
        self.show("", "")


def guarded(area: MessageArea, call: Callable[..., T], *args: Any,
            secrets: Iterable[str | None] = (), **kwargs: Any) -> tuple[bool, T | None]:
    """``(True, result)`` of ``call``, or ``(False, None)`` with the error shown in ``area``.

    Any exception is caught: a button handler that raises only reaches the kernel
    log, where the user would not see it.
    """
    secrets = list(secrets)
    try:
        return True, call(*args, **kwargs)
    except Exception as exc:  # shown to the user, whatever it is
        area.error(error_message(exc, secrets))
        return False, None


def human_bytes(count: float) -> str:
    """``1.5 MB``: sizes as people read them in progress labels."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (everything shown comes from users or servers)."""
    return html.escape("" if value is None else str(value))


def prose(value: Any) -> str:
    """A description (often a module's docstring) as HTML: escaped, with reStructuredText's
    ````literal```` marks shown as code instead of as raw backquotes."""
    return re.sub(r"``(.+?)``", r"<code>\1</code>", esc(value))


def row(label: str, value: Any) -> str:
    """One ``<tr>`` of a details table."""
    return f"<tr><th style='text-align:left;padding-right:1em'>{esc(label)}</th>" \
           f"<td>{esc(value)}</td></tr>"
