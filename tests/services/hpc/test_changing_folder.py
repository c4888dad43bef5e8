"""A folder staged out while its job still writes it (a periodic sync of results).

Between the cluster's listing (sizes and sha256) and the tar that sends the folder, the
job goes on: a log grows, a file is rewritten in place, a new file appears. A final
stage-out refuses such a folder whole (what arrived is not what the cluster hashed); a
sync keeps every file that arrived as hashed and leaves the changed ones to the next
sync, instead of sending nothing at every period. This host stands for the site
(``LocalShell``: the very commands and channels of an SSH site).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from eflows_kernel.services.hpc.local_shell import LocalShell
from eflows_kernel.services.hpc.transfer import TransferError, download, stage_out
from eflows_kernel.services.hpc.transfer.untar import UnsafeArchive

# What the job does between the listing and the tar.
MEANWHILE = ("printf 'tick 2\\n' >> log.txt && printf 'B' | dd of=same.txt bs=1 seek=0 "
             "conv=notrunc status=none && echo new > new.txt && rm gone.txt")


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site" / "results"
    (folder / "sub").mkdir(parents=True)
    (folder / "summary.txt").write_text("stable\n")
    (folder / "sub" / "part-1.txt").write_text("also stable\n")
    (folder / "log.txt").write_text("tick 1\n")
    (folder / "same.txt").write_text("A same size\n")
    (folder / "gone.txt").write_text("removed before it is read\n")
    for name in ("folder_command", "live_folder_command"):
        original = getattr(download, name)
        monkeypatch.setattr(download, name, lambda path, original=original: (
            f"cd {shlex.quote(path)} && {MEANWHILE} && {original(path)}"))
    return folder


def test_a_final_stage_out_refuses_a_folder_that_changed_while_sent(
        results: Path, tmp_path: Path) -> None:
    here = tmp_path / "here"
    with pytest.raises((TransferError, UnsafeArchive)):
        stage_out(LocalShell(), str(results), here)
    assert list(here.iterdir()) == []  # nothing kept, not even a .part


def test_a_sync_keeps_what_arrived_as_hashed_and_leaves_the_rest_to_the_next(
        results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "here"
    monkeypatch.setattr(download, "RETRIES", 0)  # the changed files are not asked again
    result = stage_out(LocalShell(), str(results), here, changing=True)
    assert result.name == "results"
    got = {p.relative_to(here / "results").as_posix(): p.read_text()
           for p in (here / "results").rglob("*") if p.is_file()}
    assert got == {"summary.txt": "stable\n", "sub/part-1.txt": "also stable\n"}
    assert sorted(p.name for p in here.iterdir()) == ["results"]  # no .part left

    # The next sync, the folder at rest: every file, as it is now.
    monkeypatch.undo()
    again = stage_out(LocalShell(), str(results), tmp_path / "next", changing=True)
    assert again.name == "results"
    got = {p.relative_to(tmp_path / "next" / "results").as_posix(): p.read_text()
           for p in (tmp_path / "next" / "results").rglob("*") if p.is_file()}
    assert got["log.txt"].startswith("tick 1\ntick 2\n") and "new.txt" in got
    assert got["same.txt"].startswith("B same size") and "gone.txt" not in got


def test_a_file_that_changed_while_its_folder_was_sent_is_asked_again_alone(
        results: Path, tmp_path: Path) -> None:
    """The listed files that changed are fetched again one by one (hash, then send), so
    a file the job keeps rewriting still comes with the sync; a file made meanwhile
    (not listed) waits for the next."""
    here = tmp_path / "here"
    stage_out(LocalShell(), str(results), here, changing=True)
    got = {p.relative_to(here / "results").as_posix(): p.read_text()
           for p in (here / "results").rglob("*") if p.is_file()}
    assert got == {"summary.txt": "stable\n", "sub/part-1.txt": "also stable\n",
                   "log.txt": "tick 1\ntick 2\n", "same.txt": "B same size\n"}
    assert sorted(p.name for p in (here / "results").iterdir()) == [
        "log.txt", "same.txt", "sub", "summary.txt"]  # no .part left


def test_a_file_asked_again_leaves_its_folders_own_part_file_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that writes ``model`` through ``model.part`` (the usual write-then-rename):
    ``model`` changes while the folder is sent and is asked again alone; that download's
    own ``.part`` must not be the folder's ``model.part``, which arrived as hashed."""
    folder = tmp_path / "site" / "results"
    folder.mkdir(parents=True)
    (folder / "model").write_text("version 1\n")
    (folder / "model.part").write_text("version 2, being written\n")
    original = download.live_folder_command
    monkeypatch.setattr(download, "live_folder_command", lambda path: (
        f"cd {shlex.quote(path)} && printf 'version 1, rewritten\\n' > model && "
        f"{original(path)}"))
    here = tmp_path / "here"
    stage_out(LocalShell(), str(folder), here, changing=True)
    got = {p.name: p.read_text() for p in (here / "results").iterdir()}
    assert got == {"model": "version 1, rewritten\n",
                   "model.part": "version 2, being written\n"}
