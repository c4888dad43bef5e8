"""A remote run's folder on its site (``<workdir>/runs/<id>``): listed and downloaded.

What was staged out is copied home, but a run leaves more on the site (its job
script, the COMPSs logs, outputs kept on the cluster). A user browses that folder
over SFTP with the run's own credential. Paths are relative to the run folder and
confined to it (no ``..``, no absolute path, symbolic links neither listed nor
followed), so this reads nothing else of the account.

A step graph runs each step as an execution of its own, on its own site, in its own
folder there: ``step`` names the one to read, and :meth:`SiteRunFiles.steps` lists the
folder of every step, each on its site with that step's credential; a step that never
started, whose site is gone or cannot be reached says so in its entry, and the other
steps are still listed.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import paramiko

from eflows_kernel.services.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
    ValidationError,
)
from eflows_kernel.services.executions.run_files import (
    RunFile,
    RunFiles,
    check_relative,
    file_kind,
)
from eflows_kernel.services.executions.step_records import record_for, step_records
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


# What a step's entry of :meth:`SiteRunFiles.steps` says of its folder.
LISTED = "listed"  # its files (maybe none) are in ``files``
NO_FOLDER = "no_folder"  # the step has no run folder on its site (not made, cleaned up)
NOT_STARTED = "not_started"  # no record yet: the step never started
SITE_GONE = "site_gone"  # the site the step ran on is no longer configured
UNREACHABLE = "unreachable"  # the site could not be reached or read (``message``: why)


@dataclass(frozen=True)
class StepFolder:
    """The run folder of one step on its site: its files, or why there are none.

    ``where`` is ``site`` (the files are read with ``site-files``) or ``local`` (a step
    run on this host: its folder is the local one, read with ``files``)."""

    step: str | None  # None: an execution that runs no graph (its own folder)
    site: str
    execution_id: str | None  # the step's record (None: it never started)
    state: str | None
    status: str
    where: str = "site"
    message: str | None = None
    files: list[RunFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["files"] = [f.to_dict() for f in self.files]
        return found


class SiteRunFiles:
    """The run folder of an execution (or of each of its steps) on its site, over SFTP."""

    def __init__(self, store: ExecutionStore, sites: SiteService,
                 local: RunFiles | None = None) -> None:
        self.store = store
        self.sites = sites
        self.local = local  # the folders of steps run on this host, for :meth:`steps`

    def _execution(self, execution_id: str, step: str | None = None) -> Execution:
        execution = record_for(self.store, execution_id, step)
        if execution.is_graph:  # its record runs nothing: each step has its own folder
            names = ", ".join(execution.step_sites or {})
            raise ValidationError(f"execution {execution.id} runs a step graph: each step has "
                                  f"its run folder on its own site; name the step (one of "
                                  f"{names}), or list every step's folder (step-files)",
                                  fields={"step": "required for a step graph"})
        if execution.site == LOCAL_SITE:
            where = "executions/<id>/files?step=<step>" if step else "executions/<id>/files"
            raise ValidationError(f"{_named(execution, step)} ran on this host: its files are "
                                  f"in its local folder ({where})", fields={"site": "local"})
        return execution

    @contextmanager
    def _runs(self, site_name: str, credential_id: str | None,
              execution_id: str) -> Iterator[tuple[Any, str]]:
        """An SFTP session on the site and its runs folder (``<workdir>/runs``)."""
        from eflows_kernel.services.deploy.pipeline import resolve_workdir

        try:
            site = self.sites.get_by_name(site_name)
        except NotFoundError:
            raise ConflictError(f"site {site_name!r} of execution {execution_id} is no "
                                "longer configured", site=site_name) from None
        client = self.sites.connect(site.id, credential_id)
        try:
            runs = posixpath.join(resolve_workdir(client, site.config.workdir), "runs")
            with client.open_sftp() as sftp:
                yield sftp, runs
        finally:
            client.close()

    @contextmanager
    def _sftp(self, execution: Execution) -> Iterator[tuple[Any, str]]:
        with self._runs(execution.site, execution.credential_id, execution.id) as (sftp, runs):
            yield sftp, posixpath.join(runs, execution.id)

    def list(self, execution_id: str, step: str | None = None) -> list[RunFile]:
        """The regular files under the run folder on the site, by path (bounded);
        ``step``: that step's folder, on its own site."""
        execution = self._execution(execution_id, step)
        with self._sftp(execution) as (sftp, root):
            return _walk(sftp, root) or []

    def steps(self, execution_id: str) -> list[StepFolder]:
        """The run folder of every step of the execution, in plan order, each read on its
        own site with its own credential (one connection per site and credential); an
        execution that runs no graph has one entry, its own folder. A step that cannot
        be read says why in its entry: the others are listed all the same."""
        execution = self.store.get(execution_id)
        if not execution.is_graph:  # (one run on this host has no site folder: refused)
            planned: list[tuple[str | None, str, Execution | None]] = [
                (None, execution.site, self._execution(execution_id))]
        else:
            records = step_records(self.store, execution)
            planned = [(name, site, records.get(name))
                       for name, site in (execution.step_sites or {}).items()]
        found: dict[str | None, StepFolder] = {}
        by_site: dict[tuple[str, str | None], list[tuple[str | None, Execution]]] = {}
        for name, site, record in planned:
            if record is None:
                found[name] = StepFolder(name, site, None, None, NOT_STARTED, message=(
                    f"step {name!r} has not started: it has no run folder yet"))
            elif record.site == LOCAL_SITE:
                found[name] = self._local(name, record)
            else:
                by_site.setdefault((record.site, record.credential_id), []).append(
                    (name, record))
        for (site, credential), group in by_site.items():
            found.update(self._read_site(site, credential, group, execution.id))
        return [found[name] for name, _site, _record in planned]

    def _local(self, name: str | None, record: Execution) -> StepFolder:
        files = self.local.list(record.id) if self.local is not None else []
        return StepFolder(name, record.site, record.id, record.state.value, LISTED,
                          where="local", files=files)

    def _read_site(self, site: str, credential: str | None,
                   group: list[tuple[str | None, Execution]],
                   execution_id: str) -> dict[str | None, StepFolder]:
        """The folders of the steps of ``group`` (all on ``site`` with ``credential``)."""
        found: dict[str | None, StepFolder] = {}

        def failed(status: str, message: str) -> dict[str | None, StepFolder]:
            return {name: StepFolder(name, site, record.id, record.state.value, status,
                                     message=message)
                    for name, record in group if name not in found}

        try:
            with self._runs(site, credential, execution_id) as (sftp, runs):
                for name, record in group:
                    try:
                        files = _walk(sftp, posixpath.join(runs, record.id))
                    except (OSError, EOFError, paramiko.SSHException) as error:
                        found[name] = StepFolder(
                            name, site, record.id, record.state.value, UNREACHABLE,
                            message=f"its run folder on {site!r} cannot be read: {error}")
                        continue
                    found[name] = StepFolder(
                        name, site, record.id, record.state.value,
                        LISTED if files is not None else NO_FOLDER, files=files or [],
                        message=None if files is not None else (
                            f"no run folder on {site!r} (not made yet, or cleaned up)"))
        except ConflictError as error:  # the site is no longer configured
            return {**found, **failed(SITE_GONE, error.message)}
        except ServiceError as error:  # unreachable, host key, login refused...
            return {**found, **failed(UNREACHABLE, f"{site!r}: {error.message}")}
        except (OSError, EOFError, paramiko.SSHException) as error:  # the session broke
            return {**found, **failed(UNREACHABLE, f"{site!r}: {error}")}
        return found

    @contextmanager
    def open(self, execution_id: str, path: str, step: str | None = None) -> Iterator[SiteFile]:
        """The file ``path`` of the run folder (``step``: of that step's), read in chunks
        inside the ``with``."""
        relative = check_relative(path)
        execution = self._execution(execution_id, step)
        with self._sftp(execution) as (sftp, root):
            current = root
            for part in relative.parts:  # no link on the way may lead out of the folder
                current = posixpath.join(current, part)
                try:
                    mode = sftp.lstat(current).st_mode or 0
                except OSError:
                    raise NotFoundError(f"{_named(execution, step)} has no file {path!r} on "
                                        f"{execution.site}", id=execution_id, path=path) \
                        from None
                if stat.S_ISLNK(mode):
                    raise ValidationError(f"path {path!r} goes through a link",
                                          fields={"path": "outside the run"})
            if not stat.S_ISREG(mode):
                raise NotFoundError(f"{path!r} is not a file of {_named(execution, step)}",
                                    id=execution_id, path=path)
            with sftp.open(current, "rb") as handle:
                size = handle.stat().st_size or 0

                def chunks() -> Iterator[bytes]:
                    while data := handle.read(CHUNK):
                        yield data

                yield SiteFile(posixpath.basename(current), size, chunks())


def _named(execution: Execution, step: str | None) -> str:
    """``execution <id>``, or ``step 'x' of execution <parent>`` for a step's record."""
    if step is not None:
        return f"step {step!r} of execution {execution.parent_id}"
    return f"execution {execution.id}"


def _walk(sftp: Any, root: str) -> list[RunFile] | None:
    """The regular files under ``root`` by path (bounded), None if there is no ``root``;
    links are neither listed nor followed."""
    try:
        sftp.stat(root)
    except OSError:
        return None  # not made yet, or cleaned up on the site
    found: list[RunFile] = []
    pending = [("", 0)]
    while pending and len(found) < MAX_LISTED:
        folder, depth = pending.pop()
        for entry in sftp.listdir_attr(posixpath.join(root, folder) if folder else root):
            relative = posixpath.join(folder, entry.filename) if folder else entry.filename
            mode = entry.st_mode or 0
            if stat.S_ISDIR(mode) and depth < MAX_DEPTH:
                pending.append((relative, depth + 1))
            elif stat.S_ISREG(mode):  # links are neither listed nor followed
                found.append(RunFile(relative, entry.st_size or 0, file_kind(entry.filename)))
    return sorted(found[:MAX_LISTED], key=lambda f: f.path)


__all__ = ["LISTED", "NOT_STARTED", "NO_FOLDER", "SITE_GONE", "UNREACHABLE", "SiteFile",
           "SiteRunFiles", "StepFolder"]
