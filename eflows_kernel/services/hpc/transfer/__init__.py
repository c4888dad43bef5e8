"""Stage-in and stage-out of a deployment's data: local/URL/cluster path <-> cluster work dir.

Guarantees, for every entry point: byte-progress ``transfer`` events, sha256 verification of
what arrived against what was sent, resume of an interrupted transfer, and never a partial
file under its final name (everything lands as ``<name>.part`` and is renamed after the check).
"""

from eflows_kernel.services.hpc.transfer._common import (
    ChecksumMismatch,
    TransferError,
    TransferResult,
    prefer_fast_cipher,
)
from eflows_kernel.services.hpc.transfer.download import stage_out
from eflows_kernel.services.hpc.transfer.remote_sources import (
    stage_in_cluster_path,
    stage_in_url,
    url_file_name,
)
from eflows_kernel.services.hpc.transfer.upload import stage_in
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy, UrlRefused

__all__ = [
    "ChecksumMismatch",
    "TransferError",
    "TransferResult",
    "UrlPolicy",
    "UrlRefused",
    "prefer_fast_cipher",
    "stage_in",
    "stage_in_cluster_path",
    "stage_in_url",
    "stage_out",
    "url_file_name",
]
