"""What a deployment needs of data logistics: logins, where built images are, a spool.

The remote executor gets one :class:`DataLogistics` from the composition root and hands
it to the data plan (locations resolved at trigger time, so a bad one is a 400) and to
the deployment (the spool for relayed data, periodic transfers bound to the run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.transfers.service import TransfersService


@dataclass(frozen=True)
class DataLogistics:
    """Logins (made on first use), the image store, the spool root, periodic transfers."""

    credentials: Callable[[], ServiceCredentials]
    spool_root: Path  # <runs dir>: relayed data waits in <runs dir>/<id>/spool
    image_store: str | None = None  # where built container images are: <store>/<wf>/<step>.sif
    transfers: TransfersService | None = None
    # What hosts this server may fetch from / send to for a run (None: any; the
    # composition root gives the operator's UrlPolicy, so private hosts are refused).
    url_policy: UrlPolicy | None = None

    def image_location(self, image: str) -> str:
        """The location of a container image: a URL as given, else in the image store.

        The eFlows4HPC image creation service builds ``<workflow>/<step_id>``; this
        deployer does not call it, it fetches the built image from the operator's store.
        """
        if "://" in image:
            return image
        if not self.image_store:
            raise ValidationError(
                f"the container image {image!r} comes from the eFlows4HPC image creation "
                "service, which this server does not call: set the image_store setting "
                "(EflowsExtension.image_store: where built images are kept, as "
                "<store>/<workflow>/<step_id>.sif) or give the image's URL")
        return f"{self.image_store.rstrip('/')}/{image.strip('/')}.sif"

    def spool(self, execution_id: str, name: str) -> Path:
        return self.spool_root / execution_id / "spool" / name
