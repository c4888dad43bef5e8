"""A failed run's error as a person reads it: the exception, the user's own frames, once.

A run's error text is the tail of its output: the application's traceback, often
followed or interleaved with Dask's worker warnings ("Compute Failed", "Key:",
"State:"...), sometimes twice (the worker's and the runner's copy). Shown raw, the
user's own mistake is buried; :func:`clean_error` drops the Dask noise and repeated
blocks, and :func:`error_html` shows the exception line and the user's frames first,
with the rest one click away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eflows_kernel.ui.common import esc

# "2026-01-01 10:00:00,123 - distributed.worker - WARNING - Compute Failed"
_NOISE_HEAD = re.compile(
    r"^\s*(\d{4}-\d\d-\d\d[ T][\d:,.]+\s+-\s+)?(distributed|dask|tornado|asyncio)"
    r"(\.[\w.]+)?\s+-\s+(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
# the fields of Dask's "Compute Failed" report, one per line
_NOISE_FIELD = re.compile(r"^(Key|State|Task|Function|args|kwargs|Exception|Traceback):")
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line \d+, in ')
_LIBRARY = re.compile(r"(site-packages|dist-packages|/lib/python\d|[/\\]eflows_kernel[/\\]|"
                      r"[/\\](distributed|dask|tornado)[/\\]|^<frozen )")


@dataclass
class ErrorView:
    """What a failed run says: its headline, the user's frames, and everything else."""

    headline: str
    user_frames: list[str]
    rest: str


def clean_error(text: str) -> str:
    """``text`` without Dask's worker reports and without a block repeated verbatim."""
    kept: list[str] = []
    in_noise = False
    for line in text.splitlines():
        if _NOISE_HEAD.match(line):
            in_noise = True
            continue
        if in_noise and (_NOISE_FIELD.match(line) or line.startswith((" ", "\t")) or
                         not line.strip()):
            continue
        in_noise = False
        kept.append(line.rstrip())
    blocks, seen = [], set()
    for block in "\n".join(kept).split("\nTraceback (most recent call last):"):
        key = block.strip()
        if key and key in seen:
            continue
        seen.add(key)
        blocks.append(block)
    return "\nTraceback (most recent call last):".join(blocks).strip()


def error_view(text: str) -> ErrorView:
    """Split a cleaned error into its last exception line and the user's own frames."""
    cleaned = clean_error(text)
    lines = cleaned.splitlines()
    headline = next((ln.strip() for ln in reversed(lines)
                     if ln.strip() and not ln.startswith((" ", "\t", "^"))), "")
    frames: list[str] = []
    for index, line in enumerate(lines):
        match = _FRAME.match(line)
        if match and not _LIBRARY.search(match.group("path")):
            code = lines[index + 1] if index + 1 < len(lines) and \
                not _FRAME.match(lines[index + 1]) else ""
            frame = line.strip() + (f"\n    {code.strip()}" if code.strip() else "")
            if frame not in frames:
                frames.append(frame)
    return ErrorView(headline, frames, cleaned)


def error_html(text: str | None) -> str:
    """The error as preformatted HTML (nothing for no error)."""
    if not text:
        return ""
    view = error_view(text)
    pre = ("<pre style='white-space:pre-wrap;overflow-wrap:anywhere;margin:0'>"
           "{}</pre>")
    parts = [f"<div class='eflows-error' style='color:#b00020;max-width:100%'>"
             f"<b>{esc(view.headline)}</b>"]
    if view.user_frames:
        parts.append(pre.format(esc("\n".join(view.user_frames))))
    if view.rest.strip() != view.headline:
        parts.append("<details><summary>Full error</summary>"
                     f"{pre.format(esc(view.rest))}</details>")
    parts.append("</div>")
    return "".join(parts)
