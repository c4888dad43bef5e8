"""One movement of data between any two of: a data service, a site, this machine.

The ends are written as the rest of the deployer writes them: a data location
(``webdav(s)://``, ``s3://``, ``b2share://``, ``http(s)://``), ``cluster:<path>`` for a
path on the movement's site (relative paths are relative to the login's home), or a
path on this machine. Each pair goes through the transfer layer's guarantees (sha256,
``.part``, resume, progress events); a periodic transfer is this, run again.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eflows_kernel.events import EventStream
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.hpc.transfer import TransferResult, stage_in, stage_out
from eflows_kernel.services.hpc.transfer.download import stage_out_files
from eflows_kernel.services.hpc.transfer.relay import fetch, push, relay_from_site, relay_to_site
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.transfers.locations import Location, open_location, resolve

CLUSTER = "cluster:"
Connect = Callable[[], Any]  # a logged-in paramiko.SSHClient to the movement's site


@dataclass(frozen=True)
class End:
    """One end of a movement: ``data`` (a service), ``cluster`` (the site) or ``local``."""

    kind: str
    path: str
    location: Location | None = None


def end(value: str, credentials: ServiceCredentials | None, kind: str = "http",
        credential_id: str | None = None) -> End:
    """Classify one end; a data location is resolved to its protocol and login now."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("a movement needs a source and a target")
    if value.startswith(CLUSTER):
        path = value[len(CLUSTER):]
        if not path:
            raise ValidationError("'cluster:' must be followed by a path on the site")
        return End("cluster", path)
    if "://" in value or (kind in ("dls", "b2share") and not value.startswith(("/", "~", "."))):
        return End("data", value, resolve(value, kind, credentials, credential_id))
    return End("local", str(Path(value).expanduser()))


def _url(e: End) -> str:
    assert e.location is not None
    return e.location.url


def _below_folder(results: list[TransferResult]) -> list[TransferResult]:
    """Results named ``<folder>/<path>`` (as a folder lands) by their path below it."""
    return [TransferResult(r.name.split("/", 1)[-1], r.bytes, r.sha256) for r in results]


def move(source: End, target: End, credentials: ServiceCredentials | None,
         connect: Connect | None = None, events: EventStream | None = None,
         spool: Path | None = None, policy: UrlPolicy | None = None,
         contents: bool = False, changing: bool = False,
         only: dict[str, int] | None = None) -> list[TransferResult]:
    """Copy ``source`` to (into) ``target``; the site is reached through ``connect``;
    ``policy``: the hosts a data service's requests may reach. ``contents``: a site
    folder's files go into the data service's location, not the folder itself (as a
    run's own stage-out sends them, ``deploy/movements.py:send_out``). ``changing``: a
    site folder may be written meanwhile (a sync): its changed files wait for the next.
    ``only``: of a site folder, just these files ({path below it: size listed}; an
    incremental sync, ``synced.py``), each result named by its path below the folder."""
    if only is not None and (source.kind, target.kind) not in (("cluster", "data"),
                                                               ("cluster", "local")):
        raise ValidationError("only the files of a site folder can be sent one by one")
    if "cluster" in (source.kind, target.kind) and connect is None:
        raise ValidationError("a movement to or from 'cluster:' needs a site")
    own_spool = spool is None
    spool = spool or Path(tempfile.mkdtemp(prefix="eflows-move-"))
    client = connect() if connect is not None and "cluster" in (source.kind,
                                                                target.kind) else None
    stores: list[Any] = []

    def store(e: End) -> Any:
        assert e.location is not None
        opened = open_location(e.location, credentials, policy)
        stores.append(opened)
        return opened

    try:
        pair = (source.kind, target.kind)
        if pair == ("data", "cluster"):
            return relay_to_site(client, store(source), _url(source), target.path,
                                 spool / "in", events)
        if pair == ("cluster", "data"):
            sent = relay_from_site(client, source.path, store(target), _url(target),
                                   spool / "out", events, contents, changing, only)
            return sent if only is None or contents else _below_folder(sent)
        if pair == ("data", "local"):
            return fetch(store(source), _url(source), Path(target.path), events)
        if pair == ("local", "data"):
            return push(store(target), Path(source.path), _url(target), events)
        if pair == ("cluster", "local") and only is not None:
            arrived = stage_out_files(client, source.path, only, target.path, events)
            return [TransferResult(rel, only[rel], digest) for rel, digest in arrived.items()]
        if pair == ("cluster", "local"):
            return [stage_out(client, source.path, target.path, events, changing=changing)]
        if pair == ("local", "cluster"):
            return stage_in(client, source.path, target.path, events)
        if pair == ("data", "data"):
            fetched = fetch(store(source), _url(source), spool / "relay", events)
            out = store(target)
            results = []
            for top in sorted({r.name.split("/", 1)[0] for r in fetched}):
                results += push(out, spool / "relay" / top, _url(target), events)
            return results
        raise ValidationError(f"nothing to move from {source.kind} to {target.kind}: one end "
                              "must be a data service or a site")
    finally:
        for opened in stores:
            opened.close()
        if client is not None:
            client.close()
        if own_spool:
            shutil.rmtree(spool, ignore_errors=True)
