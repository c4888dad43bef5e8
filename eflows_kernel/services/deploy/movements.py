"""One data movement between a data service and a site: what it needs is what it moves.

Why apart from the pipeline: a movement is done either inside a job's deployment (its
``cluster:`` checks, its uploads, a periodic sync) or as a step of its own
(``movement_steps.py``), and both need the same thing: a session on the site, the data
logistics (logins, spool), the location and the path on the site. None of it needs a
whole :class:`~eflows_kernel.services.deploy.pipeline.Deployment`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.deploy.staging import folder_name
from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.hpc.transfer import TransferError
from eflows_kernel.services.hpc.transfer.image_archive import image_name
from eflows_kernel.services.hpc.transfer.model_upload import (
    upload_model_from_site,
    upload_search_from_site,
)
from eflows_kernel.services.hpc.transfer.relay import (
    publish_from_site,
    relay_from_site,
    relay_image_to_site,
    relay_to_site,
)
from eflows_kernel.services.hpc.transfer.stores.b2share import B2ShareStore
from eflows_kernel.services.hpc.transfer.stores.http import public
from eflows_kernel.services.hpc.transfer.stores.mlflow import MlflowStore
from eflows_kernel.services.transfers import DataLogistics, Location, open_location
from eflows_kernel.services.workflows import DataMovement

STAGE_OUT_ATTEMPTS = 3


class MovementFailed(ServiceError):
    """A movement failed; the message is what the user reads."""


def _logistics(logistics: DataLogistics | None, name: str, way: str) -> DataLogistics:
    if logistics is None:
        raise MovementFailed(f"{name!r} {way} a data service and this server has no data "
                             "logistics configured")
    return logistics


def bring_in(client: paramiko.SSHClient, logistics: DataLogistics | None, spool_key: str,
             name: str, location: Location | None, target: str,
             movement: DataMovement | None, events: EventStream) -> None:
    """A data service's file or folder, through this server, into ``target`` on the site.
    The workflow's ``movement`` says how it lands: an image transfer as the one
    ``<target>/<step_id>.sif``; a DLS WebDAV stage-in's folder under its own name."""
    found = _logistics(logistics, name, "comes from")
    if location is None:
        raise MovementFailed(f"{name!r} names no data service location")
    spool = found.spool(spool_key, name)
    store = open_location(location, found.credentials(), found.url_policy)
    try:
        if movement is not None and movement.kind == "image":
            # One thing lands, <target>/<step_id>.sif: a file, or a directory image
            # the store keeps as one tar (unpacked on the site with its modes and links).
            relay_image_to_site(client, store, location.url, target, spool,
                                image_name(location.url), events)
        else:
            relay_to_site(client, store, location.url, target, spool, events,
                          folder_name=folder_name(movement, location.url))
    finally:
        store.close()


def _upload_model(client: paramiko.SSHClient, remote: str, store: MlflowStore,
                  location: Location, spool: Path, run_dir: str,
                  events: EventStream) -> dict[str, Any]:
    """The MLflow pipeline the movement's kind names (``location.mode``); the output: the
    run's page (``<server>/#/experiments/<id>/runs/<id>``, which holds no secret), the
    site path and the files uploaded."""
    if location.mode == "mlflow_search":
        where, results = upload_search_from_site(client, remote, store, location.url,
                                                 location.title or "", spool, events)
    else:
        where, results = upload_model_from_site(client, remote, store, location.url, spool,
                                                run_dir, events)
    return {"location": where, "cluster_path": remote,
            "files": [{"name": r.name, "bytes": r.bytes, "sha256": r.sha256} for r in results]}


def send_out(client: Callable[[], paramiko.SSHClient], drop: Callable[[], None],
             logistics: DataLogistics | None, spool_key: str, name: str, remote: str,
             location: Location, title: str, events: EventStream, contents: bool = False,
             run_dir: str = "") -> dict[str, Any]:
    """A site path to a data service, through this server; a dropped connection is
    retried (``drop`` forgets it, ``client`` reconnects), a refused transfer is not.
    ``contents``: a folder's files go into the location, not the folder itself (the
    DLS's WebDAV stage-out); ``run_dir``: the job's run directory, which an MLflow
    model's ``attrs.json`` names its artifacts from. Returns the output's record (where
    it went, its files)."""
    found = _logistics(logistics, name, "goes to")
    for attempt in range(1, STAGE_OUT_ATTEMPTS + 1):
        store = open_location(location, found.credentials(), found.url_policy)
        spool = found.spool(spool_key, name)
        try:
            if isinstance(store, MlflowStore):  # a model: runs of an experiment
                return _upload_model(client(), remote, store, location, spool, run_dir,
                                     events)
            if isinstance(store, B2ShareStore):  # results become a new record
                where, pushed = publish_from_site(client(), remote, store, location.url,
                                                  location.title or title, spool,
                                                  events=events)
            else:
                where = location.url
                pushed = relay_from_site(client(), remote, store, where, spool, events,
                                         contents)
            return {"location": public(where), "cluster_path": remote,
                    "files": [{"name": r.name, "bytes": r.bytes, "sha256": r.sha256}
                              for r in pushed]}
        except TransferError as error:
            raise MovementFailed(f"staging out {name!r} ({remote}) to "
                                 f"{public(location.url)} failed: {error.message}") from None
        except (OSError, EOFError, paramiko.SSHException, ServiceError) as error:
            if attempt == STAGE_OUT_ATTEMPTS:
                raise MovementFailed(f"staging out {name!r} ({remote}) failed "
                                     f"{attempt} times: {error}") from None
            drop()
            time.sleep(attempt)
        finally:
            store.close()
    raise AssertionError("unreachable")


__all__ = ["STAGE_OUT_ATTEMPTS", "MovementFailed", "bring_in", "send_out"]
