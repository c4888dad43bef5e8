"""A remote run's folder on its site (``<workdir>/runs/<id>``): listed and downloaded.

What was staged out is copied home, but a run leaves more on the site (its job
script, the COMPSs logs, outputs kept on the cluster). A user browses that folder
over SFTP with the run's own credential. Paths are relative to the run folder and
confined to it (no ``..``, no absolute path, symbolic links neither listed nor
followed), so this reads nothing else of the account.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions.run_files import RunFile, check_relative, file_kind
from eflows_kernel.services.executions.store import LOCAL_SITE, Execution, ExecutionStore
from eflows_kernel.services.sites import SiteService

MAX_LISTED = 2000
MAX_DEPTH = 8
CHUNK = 256 * 1024


@dataclass(frozen=True)
class SiteFile:
    """An open remote file: its size and its chunks (read while the connection is open)."""

    name: str
    bytes: int
    chunks: Iterator[bytes]


class SiteRunFiles:
    """The run folder of an execution on its site, through the site's SFTP."""

    def __init__(self, store: ExecutionStore, sites: SiteService) -> None:
        self.store = store
        self.sites = sites

    def _execution(self, execution_id: str) -> Execution:
        execution = self.store.get(execution_id)
        if execution.site == LOCAL_SITE:
            raise ValidationError(f"execution {execution.id} ran on this host: its files are "
                                  "in its local folder (executions/<id>/files)",
                                  fields={"site": "local"})
        return execution

    @contextmanager
    def _sftp(self, execution: Execution) -> Iterator[tuple[Any, str]]:
        from eflows_kernel.services.deploy.pipeline import resolve_workdir

        try:
            site = self.sites.get_by_name(execution.site)
        except NotFoundError:
            raise ConflictError(f"site {execution.site!r} of execution {execution.id} is no "
                                "longer configured", site=execution.site) from None
        client = self.sites.connect(site.id, execution.credential_id)
        try:
            root = posixpath.join(resolve_workdir(client, site.config.workdir), "runs",
                                  execution.id)
            with client.open_sftp() as sftp:
                yield sftp, root
        finally:
            client.close()

    def list(self, execution_id: str) -> list[RunFile]:
        """The regular files under the run folder on the site, by path (bounded)."""
        execution = self._execution(execution_id)
        found: list[RunFile] = []
        with self._sftp(execution) as (sftp, root):
            try:
                sftp.stat(root)
            except OSError:
                return []  # not made yet, or cleaned up on the site
            pending = [("", 0)]
            while pending and len(found) < MAX_LISTED:
                folder, depth = pending.pop()
                for entry in sftp.listdir_attr(posixpath.join(root, folder) if folder else root):
                    relative = posixpath.join(folder, entry.filename) if folder \
                        else entry.filename
                    mode = entry.st_mode or 0
                    if stat.S_ISDIR(mode) and depth < MAX_DEPTH:
                        pending.append((relative, depth + 1))
                    elif stat.S_ISREG(mode):  # links are neither listed nor followed
                        found.append(RunFile(relative, entry.st_size or 0,
                                             file_kind(entry.filename)))
        return sorted(found[:MAX_LISTED], key=lambda f: f.path)

    @contextmanager
    def open(self, execution_id: str, path: str) -> Iterator[SiteFile]:
        """The file ``path`` of the run folder, read in chunks inside the ``with``."""
        relative = check_relative(path)
        execution = self._execution(execution_id)
        with self._sftp(execution) as (sftp, root):
            current = root
            for part in relative.parts:  # no link on the way may lead out of the folder
                current = posixpath.join(current, part)
                try:
                    mode = sftp.lstat(current).st_mode or 0
                except OSError:
                    raise NotFoundError(f"execution {execution.id} has no file {path!r} on "
                                        f"{execution.site}", id=execution.id, path=path) from None
                if stat.S_ISLNK(mode):
                    raise ValidationError(f"path {path!r} goes through a link",
                                          fields={"path": "outside the run"})
            if not stat.S_ISREG(mode):
                raise NotFoundError(f"{path!r} is not a file of execution {execution.id}",
                                    id=execution.id, path=path)
            with sftp.open(current, "rb") as handle:
                size = handle.stat().st_size or 0

                def chunks() -> Iterator[bytes]:
                    while data := handle.read(CHUNK):
                        yield data

                yield SiteFile(posixpath.basename(current), size, chunks())


__all__ = ["SiteFile", "SiteRunFiles"]
