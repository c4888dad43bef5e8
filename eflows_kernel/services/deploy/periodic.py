"""Out-movements with ``every``: synced out of the site while the run goes.

When the job is submitted, each such movement becomes a periodic transfer bound to the
execution (kept in the state database, so a restarted server goes on syncing), which
lands as the final copy does (a DLS WebDAV stage-out's folder contents into its target);
when the job ends they are dropped, a firing still running is waited for, and the final
sync (the movement's step, ``<job>:out:<movement>``) makes the last, complete copy.
A B2SHARE target is not synced (each firing would make a new record), nor a run whose
login asks the user (a transfer in the background cannot ask).
"""

from __future__ import annotations

import posixpath
from datetime import datetime, timedelta, timezone

from eflows_kernel.services.deploy import pipeline
from eflows_kernel.services.transfers import ScheduleSpec, parse_period

SYNC_GRACE = 300.0  # seconds a periodic sync still running at the job's end is waited for


def start_periodic(dep: pipeline.Deployment) -> int:
    """Schedule the run's periodic out-movements (once: a re-attached run has them)."""
    logistics = dep.logistics
    plan = dep.plan
    if logistics is None or logistics.transfers is None or plan is None:
        return 0
    periodic = [item for item in plan.stage_out if item.every and not item.keep_on_cluster]
    transfers = logistics.transfers
    if not periodic or transfers.list(dep.execution_id):
        return 0
    made = 0
    for item in periodic:
        if dep.credential_id is None or (item.location and item.location.protocol == "b2share"):
            why = ("the site's login asks the user" if dep.credential_id is None
                   else "each sync would make a new B2SHARE record")
            dep.log.emit("log", level="WARN", source="deployer",
                         message=f"{item.name!r} is staged out at the end only: {why}")
            continue
        remote = item.source if item.source.startswith("/") else posixpath.join(
            dep.run_dir, item.source)
        target = item.location.url if item.location else str(
            logistics.spool_root / dep.execution_id / "outputs" / item.name)
        spec = ScheduleSpec(
            name=f"{dep.execution_id}:{item.name}", source=f"cluster:{remote}",
            target=target, every=item.every or "", site=dep.site.name,
            credential_id=dep.credential_id,
            kind=item.location.protocol if item.location else "http",
            target_credential=item.location.credential_id if item.location else None,
            contents=item.contents)
        first = datetime.now(timezone.utc) + timedelta(seconds=parse_period(spec.every))
        transfers.add(spec, dep.execution_id, first_run=first)
        made += 1
    if made:
        pipeline.stage(dep.log, "sync", "running", f"{made} output(s) synced periodically")
    return made


def stop_periodic(dep: pipeline.Deployment) -> None:
    """The run is over: no more syncs, and none still running (the final sync follows
    once the job's record ends: a late periodic one must not land older files)."""
    logistics = dep.logistics
    if logistics is None or logistics.transfers is None:
        return
    transfers = logistics.transfers
    ids = [s.id for s in transfers.list(dep.execution_id)]
    if transfers.schedules.delete_for(dep.execution_id):
        if not transfers.wait_idle(ids, SYNC_GRACE):
            dep.log.emit("log", level="WARN", source="deployer",
                         message=f"a periodic sync still runs after {SYNC_GRACE:.0f} s")
        pipeline.stage(dep.log, "sync", "done", "periodic sync ended with the job")
