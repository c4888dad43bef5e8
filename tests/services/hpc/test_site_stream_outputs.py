"""Streaming only some paths of a run directory (a step's declared outputs a copy carries):
each lands at its path below the directory's name, the rest stays behind, one progress
for them all, and a path that is not there fails naming it. Both ends this host's shell
(``LocalShell``), which streams as a site does."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.local_shell import LocalShell
from eflows_kernel.services.hpc.transfer import TransferError
from eflows_kernel.services.hpc.transfer.site_stream import stream_between


def test_only_the_named_paths_are_streamed_each_to_its_place(tmp_path: Path) -> None:
    run = tmp_path / "site" / "run-1"
    (run / "results" / "deep").mkdir(parents=True)
    (run / "results" / "squares.txt").write_text("1\n4\n")
    (run / "results" / "deep" / "a.bin").write_bytes(b"\0" * 1000)
    (run / "results" / "other.txt").write_text("not asked for")
    (run / "scratch.txt").write_text("not asked for")
    events = EventStream("copy-1")
    target = tmp_path / "there"
    results = stream_between(LocalShell(), str(run), LocalShell(), str(target), events,
                             only=("results/squares.txt", "results/deep",
                                   "results/deep/a.bin"))
    assert sorted(r.name for r in results) == ["run-1/results/deep/a.bin",
                                               "run-1/results/squares.txt"]
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "run-1/results/deep/a.bin", "run-1/results/squares.txt"]
    assert (target / "run-1" / "results" / "squares.txt").read_text() == "1\n4\n"
    moved = [e for e in events.events() if e["type"] == "transfer"]
    assert moved[-1]["state"] == "done" and moved[-1]["done_bytes"] == 1004
    assert {e["name"] for e in moved} == {"run-1"}  # one progress for them all


def test_a_named_path_that_is_not_there_fails_naming_it(tmp_path: Path) -> None:
    run = tmp_path / "run-2"
    run.mkdir()
    (run / "a.txt").write_text("a")
    with pytest.raises(TransferError, match=f"{run}/results/never.txt cannot be read"):
        stream_between(LocalShell(), str(run), LocalShell(), str(tmp_path / "there"),
                       only=("a.txt", "results/never.txt"))
    assert not (tmp_path / "there" / "run-2" / "a.txt").exists()  # nothing half-done
