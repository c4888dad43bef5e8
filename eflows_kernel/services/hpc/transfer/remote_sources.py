"""Stage-in from sources that are not on this machine: an HTTP(S) URL, a path on the cluster.

A URL is fetched by the cluster itself when it has curl or wget (data never crosses the
Jupyter host twice); otherwise this side downloads it and uploads it with :func:`stage_in`.
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Literal

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.transfer._common import (
    PART,
    PRIVATE,
    ChecksumMismatch,
    Progress,
    TransferError,
    TransferResult,
    join,
    q,
    remote,
    remote_sha256,
)
from eflows_kernel.services.hpc.transfer.upload import stage_in
from eflows_kernel.services.hpc.transfer.url_policy import MAX_REDIRECTS, UrlPolicy, UrlRefused


def url_file_name(url: str) -> str:
    """The file name a staged-in URL gets on the site (the application is told the same).

    Also the one check of a URL before it is used: no white space or control character
    (it is handed to curl/wget line by line, where a newline would start a new option).
    """
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise TransferError("a URL to stage in must not contain spaces, newlines or control "
                            "characters (percent-encode them: %20, %0A)")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TransferError(f"only http(s) URLs can be staged in, not {url!r}")
    name = posixpath.basename(urllib.parse.unquote(parsed.path))
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        name = "download"
    return name


def public_url(url: str) -> str:
    """The URL as it may be shown: without a user:password part or a (signed) query."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def stage_in_url(client: paramiko.SSHClient, url: str, remote_dir: str,
                 events: EventStream | None = None, *, sha256: str | None = None,
                 via: Literal["auto", "cluster", "local"] = "auto",
                 policy: UrlPolicy | None = None, name: str | None = None) -> TransferResult:
    """Fetch ``url`` into ``remote_dir/<last path segment>`` (``remote_dir/<name>`` when
    the caller names the file, as a DLS ``HTTP2SSH`` node's ``target_path`` does); check
    ``sha256`` if given.

    ``via="auto"`` uses the cluster's curl/wget (resuming a ``.part``), else the local side.
    With a ``policy`` (``url_policy.py``) the URL and every redirect hop are checked
    against it before anything is fetched from there.
    """
    found = url_file_name(url)  # checks the URL too
    if name is None:
        name = found
    elif name in ("", ".", "..") or "/" in name or "\0" in name:
        raise TransferError(f"cannot name a downloaded file {name!r}")
    if policy is not None:
        policy.check(url)
    tool = ""
    if via != "local":
        tool = remote(client, "command -v curl || command -v wget || true").decode().strip()
        if not tool and via == "cluster":
            raise TransferError("the cluster has neither curl nor wget")
    final = join(remote_dir, name)
    # `mv x.part DIR` would move the file into DIR under the .part name and report
    # success: a target path naming a folder is said now, before any byte is fetched.
    if remote(client, f"test -d {q(final)} && echo folder || true").strip():
        raise TransferError(f"{final} is a folder on the site: the downloaded file cannot "
                            "take its name (a target path ending in '/' puts the file in "
                            "the folder)")
    if not tool:
        return _via_local(client, url, name, remote_dir, events, sha256, policy)
    part = final + PART
    shown = public_url(url)
    progress = Progress(events, shown, "in", None)
    progress.start()
    try:
        # The URL goes on stdin, not the command line: a token in it would show in `ps`
        # on a shared login node.
        if tool.endswith("curl"):
            follow = "-L" if policy is None else "-L --max-redirs 0"  # hops: _final_url
            if policy is not None:
                url = _final_url(client, url, policy)
            fetch = f"curl -fsS {follow} --proto =http,https -C - -o {q(part)} -K -"
            stdin = _curl_config(url)
        else:
            follow = "" if policy is None else " --max-redirect=0"
            fetch = f"wget -q -c{follow} -O {q(part)} -i -"
            stdin = url + "\n"
        remote(client, f"{PRIVATE}mkdir -p -- {q(remote_dir or '.')} && {fetch}",
               stdin=stdin.encode(), timeout=3600)
        got = remote_sha256(client, [part]).get(part, "")
        if sha256 is not None and got != sha256.lower():
            raise ChecksumMismatch(f"{shown}: sha256 {got} is not the expected {sha256}; "
                                   f"kept as {part}")
        size = int(remote(client, f"stat -c %s -- {q(part)}"))
        remote(client, f"mv -f -T -- {q(part)} {q(final)}")
    except BaseException as error:
        progress.fail(error)
        raise
    progress.done, progress.total = size, size
    progress.finish()
    return TransferResult(name, size, got)


def _curl_config(url: str) -> str:
    return 'url = "' + url.replace("\\", "\\\\").replace('"', '\\"') + '"\n'


def _final_url(client: paramiko.SSHClient, url: str, policy: UrlPolicy) -> str:
    """Where ``url`` ends after its redirects, each hop checked by ``policy``, asked of the
    site one hop at a time (one byte requested, so a big file is not fetched to probe)."""
    for hops in range(MAX_REDIRECTS + 1):
        location = remote(client, "curl -sS -o /dev/null -r 0-0 --max-time 60 --proto "
                                  "=http,https -w '%{redirect_url}' -K -",
                          stdin=_curl_config(url).encode()).decode().strip()
        if not location:
            return url
        url = policy.check_redirect(url, location, hops)
    raise UrlRefused(f"more than {MAX_REDIRECTS} redirects")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, policy: UrlPolicy) -> None:
        self.policy, self.hops = policy, 0

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        self.policy.check_redirect(req.full_url, newurl, self.hops)
        self.hops += 1
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _via_local(client: paramiko.SSHClient, url: str, name: str, remote_dir: str,
               events: EventStream | None, sha256: str | None,
               policy: UrlPolicy | None = None) -> TransferResult:
    opener = urllib.request.build_opener(*([_CheckedRedirects(policy)] if policy else []))
    with tempfile.TemporaryDirectory(prefix="eflows-url-") as tmp:
        path = Path(tmp) / name
        with opener.open(url, timeout=60) as response, path.open("wb") as f:
            shutil.copyfileobj(response, f, 1 << 20)
        result = stage_in(client, path, remote_dir, events)[0]
    if sha256 is not None and result.sha256 != sha256.lower():
        remote(client, f"rm -f -- {q(join(remote_dir, name))}")
        raise ChecksumMismatch(f"{public_url(url)}: sha256 {result.sha256} is not the "
                               f"expected {sha256}")
    return result


def stage_in_cluster_path(client: paramiko.SSHClient, remote_src: str, remote_dir: str,
                          events: EventStream | None = None) -> list[TransferResult]:
    """Copy a file or folder already on the cluster into ``remote_dir`` (``cp -r`` over SSH),
    via ``.part`` and with every copied file's sha256 compared to its source's."""
    name = posixpath.basename(remote_src.rstrip("/"))
    if name in ("", ".", ".."):
        raise TransferError(f"cannot tell what to name a copy of {remote_src!r}")
    final = join(remote_dir, name)
    part = final + PART
    progress = Progress(events, remote_src, "in", None)
    progress.start()
    try:
        remote(client, f"{PRIVATE}mkdir -p -- {q(remote_dir or '.')} && rm -rf -- {q(part)} && "
                       f"cp -r -- {q(remote_src)} {q(part)}", timeout=3600)
        listing = remote(client, f"if [ -d {q(part)} ]; then cd -- {q(part)} && "
                                 "find . -type f -print0; fi")
        rels = [r.decode()[2:] for r in listing.split(b"\0") if r]
        if rels:
            src_paths = [join(remote_src, r) for r in rels]
            copy_paths = [join(part, r) for r in rels]
        else:
            src_paths, copy_paths, rels = [remote_src], [part], [""]
        src_sums = remote_sha256(client, src_paths)
        copy_sums = remote_sha256(client, copy_paths)
        for s, c in zip(src_paths, copy_paths, strict=True):
            if src_sums.get(s) is None or src_sums.get(s) != copy_sums.get(c):
                raise ChecksumMismatch(f"copy of {s} differs from its source; kept in {part}")
        sizes = remote(client, "xargs -0 -r stat -c %s --", stdin=b"".join(
            p.encode() + b"\0" for p in copy_paths)).split()
        remote(client, f"rm -rf -- {q(final)} && mv -T -- {q(part)} {q(final)}")
    except BaseException as error:
        progress.fail(error)
        raise
    results = [TransferResult(posixpath.join(name, r) if r else name, int(n), copy_sums[c])
               for r, n, c in zip(rels, sizes, copy_paths, strict=True)]
    progress.done = progress.total = sum(r.bytes for r in results)
    progress.finish()
    return results
