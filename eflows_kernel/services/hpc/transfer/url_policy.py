"""Which URLs may be staged in: no secrets in them, and no host of a private network.

Why: the site fetches a stage-in URL from inside its own network, and the URL comes from
a workflow or a form. Pointed at a link-local metadata service (169.254.169.254), a
loopback port or a private address, the download would read what only the login node
can reach and hand it to the workflow. So the host is resolved here and every address
it names must be a public one, unless the operator allows private ranges (a site whose
data server is on its own network): ``EflowsExtensionApp.allow_private_urls``.
Redirects are followed one hop at a time and each hop is checked again.

A URL carrying a password or a token is refused too: the URL is stored with the
execution and shown by the API, so a secret in it would be kept in clear.

Limits: the site resolves the name again when it fetches (a DNS answer that changes in
between is not caught here); what is checked is what this host resolves.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from eflows_kernel.services.bounds import secret_in_url
from eflows_kernel.services.errors import ValidationError

MAX_REDIRECTS = 5

Resolve = Callable[[str, int], list[str]]


class UrlRefused(ValidationError):
    """The URL is not allowed for stage-in (400): the message says why and what to do."""


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"the host {host!r} cannot be resolved ({exc})") from None
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class UrlPolicy:
    """The stage-in URL rules; ``allow_private`` lets loopback/link-local/private hosts in."""

    allow_private: bool = False
    resolve: Resolve = _resolve

    def check(self, url: str) -> str:
        """``url`` if it may be staged in (UrlRefused otherwise)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UrlRefused(f"only http(s) URLs with a host can be staged in, not "
                             f"{parts.scheme or 'no scheme'}://")
        secret = secret_in_url(url)
        if secret is not None:
            raise UrlRefused(f"the URL carries {secret}; it would be stored with the "
                             "execution in clear. Use a public link, stage the data with the "
                             "Data Logistics Service, or copy it to the site first and give "
                             "cluster:/path")
        if not self.allow_private:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            for address in self.resolve(parts.hostname, port):
                ip = ipaddress.ip_address(address.split("%", 1)[0])
                mapped = getattr(ip, "ipv4_mapped", None)
                if not (mapped or ip).is_global:
                    raise UrlRefused(
                        f"the host {parts.hostname!r} is {address}, a loopback, link-local "
                        "or private address; stage-in URLs must be public unless the "
                        "operator allows private ones (EflowsExtensionApp.allow_private_urls)")
        return url

    def check_redirect(self, url: str, location: str, hops: int) -> str:
        """The next URL of a redirect from ``url`` to ``location``, checked like the first."""
        if hops >= MAX_REDIRECTS:
            raise UrlRefused(f"more than {MAX_REDIRECTS} redirects")
        return self.check(urllib.parse.urljoin(url, location))
