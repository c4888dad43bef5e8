"""One firing of a periodic sync of a site folder: only what changed since the last one.

The site lists the folder (sizes and mtimes, one ``find``), the target says what it
holds (a data service's listing, or this machine's folder), :func:`synced.plan` picks
the files to send, and they go with every transfer's guarantees (the site's sha256
checked on arrival, ``.part`` then rename, progress events). Only a firing that ended
is remembered; its counts (sent, up to date, left for the next, gone) are kept on the
schedule (``last_sync``) and logged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from eflows_kernel.events import EventStream
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.hpc.transfer.download import staged_name
from eflows_kernel.services.hpc.transfer.listing import list_folder
from eflows_kernel.services.hpc.transfer.stores import StoreError
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.transfers.locations import open_location
from eflows_kernel.services.transfers.movements import Connect, End, move
from eflows_kernel.services.transfers.synced import SyncedFiles, plan, to_remember

log = logging.getLogger(__name__)


# Services whose files are written one by one, each on its own (a B2SHARE record or an
# MLflow model is made of all its files at once: those are sent whole, as before).
FILE_STORES = ("webdav", "s3", "http")


def applies(source: End, target: End) -> bool:
    """A site's folder synced to this machine or to a service that stores files."""
    if source.kind != "cluster":
        return False
    return target.kind == "local" or (target.kind == "data" and target.location is not None
                                      and target.location.protocol in FILE_STORES)


def held_by_target(target: End, name: str, contents: bool,
                   credentials: ServiceCredentials | None,
                   policy: UrlPolicy | None) -> dict[str, int]:
    """{path below the synced folder: size} of what the target holds of it; nothing
    when it cannot say (not there yet, or a service that cannot list: all is sent)."""
    if target.kind == "local":
        root = Path(target.path) / name
        return {p.relative_to(root).as_posix(): p.stat().st_size
                for p in root.rglob("*") if p.is_file() and not p.is_symlink()} \
            if root.is_dir() else {}
    assert target.location is not None
    base = target.location.url.rstrip("/")
    store = open_location(target.location, credentials, policy)
    try:
        listed = store.files(base if contents else f"{base}/{name}")
    except StoreError:
        return {}
    finally:
        store.close()
    return {f.name: f.size for f in listed if f.size is not None}


def sync(schedule_id: str, source: End, target: End, contents: bool,
         credentials: ServiceCredentials | None, connect: Connect, synced: SyncedFiles,
         policy: UrlPolicy | None = None,
         events: EventStream | None = None) -> dict[str, Any] | None:
    """Send what changed in the site folder ``source`` since this schedule's last firing
    that ended; its counts (None: the source is a file, sent whole as before)."""
    client = connect()
    try:
        listing = list_folder(client, source.path)
        name = staged_name(source.path)  # as the folder lands on the target
        if listing is not None:
            held = held_by_target(target, name, contents, credentials, policy)
            chosen = plan(listing, synced.get(schedule_id), held)
    except BaseException:
        client.close()
        raise
    if listing is None:
        move(source, target, credentials, lambda: client, events, policy=policy,
             contents=contents, changing=True)
        return None
    if chosen.send:
        results = move(source, target, credentials, lambda: client, events, policy=policy,
                       contents=contents, changing=True, only=chosen.send)
    else:
        client.close()
        results = []
    arrived = {r.name: r.sha256 for r in results}
    summary = {"sent": len(arrived), "up_to_date": len(chosen.up_to_date),
               "left": len(chosen.send) - len(arrived), "gone": len(chosen.gone),
               "bytes": sum(r.bytes for r in results)}
    synced.update(schedule_id, to_remember(listing, arrived),
                  set(chosen.gone) | set(chosen.send), summary)
    message = (f"sync of {source.path}: {summary['sent']} file(s) sent, "
               f"{summary['up_to_date']} already up to date"
               + (f", {summary['left']} changed while sent (next sync)" if summary["left"]
                  else "")
               + (f", {summary['gone']} gone from the source (kept on the target)"
                  if summary["gone"] else ""))
    log.info("eflows: %s", message)
    if events is not None:
        events.emit("log", level="INFO", source="transfers", message=message)
    return summary
