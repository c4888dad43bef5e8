"""Run folders: files listed and previewed inside the folder only; finished runs deleted
or archived (record + folder in one tar.gz), unfinished ones refused."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import ExecutionState, ExecutionStore
from eflows_kernel.services.executions.housekeeping import RunHousekeeping, read_archived_record
from eflows_kernel.services.executions.run_files import RunFiles
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry


@pytest.fixture
def executions(tmp_path: Path) -> Iterator[ExecutionStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield ExecutionStore(store)


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def _run(executions: ExecutionStore, runs: Path, finished: bool = True) -> str:
    wf = WorkflowRegistry(executions.store).register(Workflow(name=f"w{os.urandom(3).hex()}"))
    execution = executions.create(wf.id, {"n": 3}, "local")
    folder = runs / execution.id
    (folder / "outputs" / "table").mkdir(parents=True)
    (folder / "output.log").write_text("hello\n")
    (folder / "outputs" / "table" / "t.csv").write_text("a,b\n1,2\n3,4\n")
    (folder / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 10)
    (folder / ".owner").write_text("")
    if finished:
        executions.set_state(execution.id, ExecutionState.DONE)
    return execution.id


def test_files_are_listed_with_kinds_and_hidden_ones_left_out(
        executions: ExecutionStore, runs: Path, tmp_path: Path) -> None:
    run_id = _run(executions, runs)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (runs / run_id / "escape.txt").symlink_to(secret)
    files = RunFiles(executions, runs).list(run_id)
    assert [(f.path, f.kind) for f in files] == [
        ("output.log", "text"), ("outputs/table/t.csv", "csv"), ("plot.png", "image")]
    assert files[0].bytes == 6


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "outputs/../../x", "", "a\\b",
                                  "escape.txt"])
def test_a_path_out_of_the_folder_is_refused(executions: ExecutionStore, runs: Path,
                                             tmp_path: Path, path: str) -> None:
    run_id = _run(executions, runs)
    (tmp_path / "secret.txt").write_text("not yours")
    (runs / run_id / "escape.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ValidationError) as err:
        RunFiles(executions, runs).resolve(run_id, path)
    assert err.value.details["fields"] == {"path": err.value.details["fields"]["path"]}


def test_missing_file_and_unknown_run_are_404(executions: ExecutionStore, runs: Path) -> None:
    run_id = _run(executions, runs)
    files = RunFiles(executions, runs)
    with pytest.raises(NotFoundError):
        files.resolve(run_id, "nope.txt")
    with pytest.raises(NotFoundError):
        files.list("nope")


def test_previews_text_csv_and_image(executions: ExecutionStore, runs: Path) -> None:
    run_id = _run(executions, runs)
    files = RunFiles(executions, runs)
    assert files.preview(run_id, "output.log").text == "hello\n"
    table = files.preview(run_id, "outputs/table/t.csv")
    assert table.rows == [["a", "b"], ["1", "2"], ["3", "4"]] and not table.truncated
    image = files.preview(run_id, "plot.png")
    assert image.kind == "image" and image.media_type == "image/png" and image.text is None
    (runs / run_id / "big.txt").write_text("x" * 100)
    cut = files.preview(run_id, "big.txt", limit=10)
    assert cut.text == "x" * 10 and cut.truncated
    assert files.relative(run_id, runs / run_id / "plot.png") == "plot.png"
    assert files.relative(run_id, "/etc/passwd") is None


def test_delete_removes_record_and_folder(executions: ExecutionStore, runs: Path,
                                          tmp_path: Path) -> None:
    run_id = _run(executions, runs)
    removed = RunHousekeeping(executions, runs, tmp_path / "archive").delete(run_id)
    assert removed.id == run_id and not (runs / run_id).exists()
    with pytest.raises(NotFoundError):
        executions.get(run_id)
    assert executions.list().total == 0


def test_archive_keeps_record_and_files_then_removes_the_run(
        executions: ExecutionStore, runs: Path, tmp_path: Path) -> None:
    run_id = _run(executions, runs)
    archive = RunHousekeeping(executions, runs, tmp_path / "archive").archive(run_id)
    assert archive == tmp_path / "archive" / f"{run_id}.tar.gz"
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
    assert names == sorted(f"{run_id}/{n}" for n in (
        "execution.json", "output.log", "outputs/table/t.csv", "plot.png"))
    record = read_archived_record(archive)
    assert record.id == run_id and record.inputs == {"n": 3} and record.state.value == "done"
    assert not (runs / run_id).exists() and executions.list().total == 0


def test_unfinished_run_is_neither_deleted_nor_archived(executions: ExecutionStore,
                                                         runs: Path, tmp_path: Path) -> None:
    run_id = _run(executions, runs, finished=False)
    keeper = RunHousekeeping(executions, runs, tmp_path / "archive")
    for remove in (keeper.delete, keeper.archive):
        with pytest.raises(ConflictError, match="cancel it first"):
            remove(run_id)
    assert executions.get(run_id).state == ExecutionState.QUEUED and (runs / run_id).is_dir()
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").iterdir())
    with pytest.raises(NotFoundError):
        keeper.delete("nope")
