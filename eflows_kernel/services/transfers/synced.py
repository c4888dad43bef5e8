"""What a periodic sync of a site folder sent, so the next firing sends only what changed.

"Unchanged" is decided from the site's own listing (``find``: size and mtime, no byte
read): a file is sent again unless this schedule sent it with that very size and mtime
*and* the target still holds a file of that size (a file removed or cut short there is
sent again). A file rewritten in place with the same size gets a new mtime, so it is
sent. A file whose mtime is within :data:`RACY_S` of the site's clock at the listing is
sent but not remembered: a file system with a coarse clock could write it again without
moving its mtime, so the next firing sends it once more rather than miss that.

Only a firing that ended is remembered (each file it sent, as it was listed); a firing
that failed remembers nothing, so its files all go again. A file gone from the source is
forgotten here and left on the target (a sync copies, as the final copy does: neither
deletes on the target). The rows live in the state database (``transfer_synced_files``),
so a restarted server goes on from the last firing that ended, and they go with their
schedule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from eflows_kernel.services.hpc.transfer.listing import FolderListing
from eflows_kernel.services.state.store import StateStore
from eflows_kernel.services.state.tables import SyncedFileRow, TransferScheduleRow, utcnow

RACY_S = 3.0  # seconds: an mtime this close to the listing is not trusted to move again


@dataclass(frozen=True)
class Synced:
    """One file as it was sent: the source's listing of it then, and its checked sha256."""

    size: int
    mtime: str
    sha256: str


@dataclass(frozen=True)
class SyncPlan:
    send: dict[str, int]  # path below the folder -> size listed: to send now
    up_to_date: tuple[str, ...]  # sent before, unchanged since, still on the target
    gone: tuple[str, ...]  # sent before, no longer on the source: forgotten


def plan(listing: FolderListing, sent: dict[str, Synced],
         target: dict[str, int] | None) -> SyncPlan:
    """Which files of ``listing`` to send, given what was ``sent`` and what the ``target``
    holds ({path: size}; None when it cannot say, then ``sent`` alone decides)."""
    send: dict[str, int] = {}
    fresh: list[str] = []
    for rel, stat in sorted(listing.files.items()):
        before = sent.get(rel)
        there = target is None or target.get(rel) == stat.size
        if before is not None and before.size == stat.size and before.mtime == stat.mtime \
                and there:
            fresh.append(rel)
        else:
            send[rel] = stat.size
    gone = tuple(sorted(set(sent) - set(listing.files)))
    return SyncPlan(send, tuple(fresh), gone)


def to_remember(listing: FolderListing, arrived: dict[str, str]) -> dict[str, Synced]:
    """The files that ``arrived`` ({path: sha256}), as listed, but for the racy ones."""
    return {rel: Synced(listing.files[rel].size, listing.files[rel].mtime, digest)
            for rel, digest in arrived.items()
            if rel in listing.files
            and float(listing.files[rel].mtime) < listing.clock - RACY_S}


def _key(path: str) -> str:
    return hashlib.sha256(path.encode(errors="surrogateescape")).hexdigest()


class SyncedFiles:
    """The files each schedule sent, in the state database."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def get(self, schedule_id: str) -> dict[str, Synced]:
        with self.store.session(write=False) as session:
            rows = session.scalars(select(SyncedFileRow).where(
                SyncedFileRow.schedule_id == schedule_id))
            return {r.path: Synced(r.size, r.mtime, r.sha256) for r in rows}

    def update(self, schedule_id: str, remember: dict[str, Synced],
               forget: set[str] | frozenset[str], summary: dict[str, Any]) -> bool:
        """After a firing that ended: ``remember`` these files, ``forget`` those, keep the
        ``summary`` on the schedule; all in one transaction (False: the schedule is gone,
        deleted while it fired, and nothing is written)."""
        with self.store.session() as session:
            schedule = session.get(TransferScheduleRow, schedule_id)
            if schedule is None:
                return False
            stale = {_key(p) for p in set(forget) | set(remember)}
            if stale:
                keys = sorted(stale)
                for start in range(0, len(keys), 500):  # bound the statement's parameters
                    session.execute(delete(SyncedFileRow).where(
                        SyncedFileRow.schedule_id == schedule_id,
                        SyncedFileRow.key.in_(keys[start:start + 500])))
            now = utcnow()
            session.add_all(SyncedFileRow(schedule_id=schedule_id, key=_key(path), path=path,
                                          size=f.size, mtime=f.mtime, sha256=f.sha256,
                                          synced_at=now)
                            for path, f in remember.items())
            schedule.last_sync = summary
            return True
