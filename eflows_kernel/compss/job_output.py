"""Each task's stdout and stderr, from the job files the real COMPSs runtime writes.

The runtime runs a task as a *job* and keeps, in the application's log directory (the
``<app>_NN`` folder that holds ``monitor/``), a ``jobs/`` folder with one
``job<J>_<HISTORY>.out`` and ``.err`` pair per attempt: ``NEW`` for the first,
``RESUBMITTED`` for a retry on the same worker (same job number), ``RESCHEDULED`` for a
retry elsewhere (a new job number), and in some versions ``RESUBMITTED_FILES`` or
``FAILED``. Which pairs exist depends on ``--log_level``: with ``debug`` every job's,
otherwise only the failed jobs' (the ones a user opens first).

Job numbers are not task numbers: ``runtime.log`` maps them. At ``info`` and ``debug``
its job lines say ``New Job J (Task: T)`` (or ``Rescheduled Job J (Task: T)``); at every
level a failure says ``Job J, running Task T on worker W, has failed.``. The reader
follows ``runtime.log`` by byte offset, so asking again costs only what was appended.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["HISTORY_ORDER", "OUTPUT_LIMIT", "JobOutputs"]

RUNTIME_LOG = "runtime.log"
JOBS_DIR = "jobs"
#: Attempts of one job, in the order the runtime makes them.
HISTORY_ORDER = ("NEW", "RESUBMITTED_FILES", "RESUBMITTED", "RESCHEDULED", "FAILED")
#: Characters of each stream kept (the end of it: where a traceback is).
OUTPUT_LIMIT = 64_000
_JOB_OF_TASK = re.compile(
    r"(?:New|Rescheduled) Job (\d+) \(Task: (\d+)\)|Job (\d+), running Task (\d+) on worker")
_JOB_FILE = re.compile(r"job(\d+)_([A-Z_]+)\.(out|err)$")


def _tail(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - OUTPUT_LIMIT * 4))  # (UTF-8: up to 4 bytes a character)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    if len(text) > OUTPUT_LIMIT or size > OUTPUT_LIMIT * 4:
        text = "[...]\n" + text[-OUTPUT_LIMIT:]
    return text if text.strip() else None


class JobOutputs:
    """The job files of one COMPSs application log directory, by task."""

    def __init__(self, app_dir: str | Path) -> None:
        self.app_dir = Path(app_dir)
        self._offset = 0
        self._partial = b""
        self._jobs: dict[int, list[int]] = {}  # task -> its jobs, in the order logged
        self._listed_at: int | None = None
        self._index: dict[int, dict[int, dict[str, Path]]] = {}

    def jobs_of(self, task: int) -> list[int]:
        self._read_log()
        return list(self._jobs.get(task, ()))

    def output(self, task: int) -> dict[str, str]:
        """``stdout``/``stderr`` of the task's last attempt that left files (empty
        streams and missing files are left out)."""
        jobs = self.jobs_of(task)
        if not jobs:
            return {}
        index = self._files()
        attempts = [(k, history, index[job][history]) for k, job in enumerate(jobs)
                    if job in index for history in index[job]]
        if not attempts:
            return {}
        files = max(attempts, key=lambda a: (a[0], a[1]))[2]
        found = {}
        for stream, suffix in (("stdout", "out"), ("stderr", "err")):
            text = _tail(files[suffix]) if suffix in files else None
            if text is not None:
                found[stream] = text
        return found

    def _files(self) -> dict[int, dict[int, dict[str, Path]]]:
        """job -> attempt (HISTORY_ORDER rank) -> {"out"|"err": path}; listed again
        only when the folder changed (a run at debug level has thousands)."""
        folder = self.app_dir / JOBS_DIR
        try:
            stamp = folder.stat().st_mtime_ns
            if stamp == self._listed_at:
                return self._index
            names = [p.name for p in folder.iterdir()]
        except OSError:
            return {}
        index: dict[int, dict[int, dict[str, Path]]] = {}
        for name in names:
            match = _JOB_FILE.match(name)
            if match:
                rank = HISTORY_ORDER.index(match[2]) if match[2] in HISTORY_ORDER else -1
                index.setdefault(int(match[1]), {}).setdefault(rank, {})[match[3]] = \
                    folder / name
        self._listed_at, self._index = stamp, index
        return index

    def _read_log(self) -> None:
        try:
            with (self.app_dir / RUNTIME_LOG).open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return
        self._offset += len(chunk)
        data = self._partial + chunk
        complete, _, self._partial = data.rpartition(b"\n")
        for match in _JOB_OF_TASK.finditer(complete.decode("utf-8", errors="replace")):
            job, task = (int(match[1]), int(match[2])) if match[1] else (
                int(match[3]), int(match[4]))
            jobs = self._jobs.setdefault(task, [])
            if job not in jobs:
                jobs.append(job)
