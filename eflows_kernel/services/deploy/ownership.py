"""Which process follows a remote run: the one holding its owner lock.

A Jupyter server and a script with its own client may share one state database and
runs folder (that is how a script's runs show in the server). Only one of them may
follow a given run, or its events would be copied twice and its job submitted twice:
the follower holds an ``flock`` on ``<runs_dir>/<id>/.owner``, which the system
releases by itself when that process dies, so a restarted server can take over.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

OWNER_LOCK = ".owner"


class FollowedElsewhere(Exception):
    """Another live process holds the execution's owner lock."""


def own(run_folder: Path) -> Any:
    """The run's owner lock, or None if another process has it (released at its exit)."""
    run_folder.mkdir(parents=True, exist_ok=True)
    handle = open(run_folder / OWNER_LOCK, "a")  # noqa: SIM115 - held while following
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def disown(handle: Any) -> None:
    if handle is not None and not handle.closed:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
