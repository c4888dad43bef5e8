"""Which bound site a movement step goes to when the movement names a host itself.

A stage-in runs on its job's site. The eFlows4HPC image transfer
(``dls.ansible.nodes.DLSDAGImageTransfer``) names the cluster its image goes to in
``target_host``: with several sites bound at trigger, the image goes to the bound site
that host is (its address, or its name), as a DLS ``SSH2SSH`` copy's hosts pick their
sites (``plan_copies.py:_copy_site``). Apart from ``plan_movements.py`` because it only
reads hosts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.workflows import ArgumentRenderError, render_arguments
from eflows_kernel.services.workflows.model import DataMovement


def place_host(place: str | None) -> str | None:
    """The host of a place (``login@host:port``)."""
    return place.rpartition("@")[2].rpartition(":")[0] or None if place else None


def image_site(movement: DataMovement, job_site: str, job_role: str | None,
               bound: Sequence[str], values: Mapping[str, Any] | None,
               places: Mapping[str, str | None] | None) -> str:
    """The site a stage-in of the job on ``job_site`` goes to: that site, but for an
    image transfer whose ``target_host`` names another of the ``bound`` sites (by host
    or name; the job's own site when it is one of those named). A host of no bound site
    is a ``ValidationError`` naming ``data_movements.<name>.target_host``.

    Not judged as registered (no ``values``). A site whose place is not known is named by
    its name only, as a copy's end is: a re-plan after a restart is given the places
    again (``planning.replan``).
    """
    host = str(movement.options.get("target_host") or "")
    if movement.kind != "image" or not host or values is None:
        return job_site
    places = places or {}
    field = f"data_movements.{movement.name}.target_host"
    try:
        host = render_arguments(host, values).strip()
    except ArgumentRenderError as exc:
        message = (f"{movement.name}: its target_host needs the input {exc.name!r}, which "
                   "has no value (declared without a default): give it at trigger")
        raise ValidationError(message, fields={exc.name: message, field: message}) from None
    named = [name for name in bound if host in (name, place_host(places.get(name)))]
    if not host or job_site in named:
        return job_site
    if named:
        return named[0]
    message = (f"{movement.name}: target_host {host!r} is not the host of a site bound to "
               f"this execution (bound: {', '.join(bound)}); bind the site on {host} to "
               f"{movement.environment or job_role or 'the job'}")
    raise ValidationError(message, fields={field: message})


__all__ = ["image_site", "place_host"]
