"""Data movements on the local site, through the composition root, against real servers.

A workflow triggered on the default ``local`` site (a laptop, the Jupyter server on a
login node) gets its data-service stage-ins into its run directory before it runs and
its stage-outs done after it, as on a cluster: each a step of its own, with sha256,
``.part`` names, progress events and cancel. The data services are real ones on
loopback (wsgidav, moto's S3, a B2SHARE-shaped server, an HTTP file server), the
application a real ``eflows-run`` subprocess on this host; the model upload goes to a
real ``mlflow server``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest

from eflows_kernel.events import validate_event
from eflows_kernel.services.app import Services, ServicesConfig
from eflows_kernel.services.lifecycle import ExecutionState
from tests.plugins.data_services import (
    B2ShareServer,
    HttpFiles,
    MlflowServer,
    S3Endpoint,
    WebDavShare,
)

TIMEOUT = 120.0
TRAIN_APP = Path(__file__).resolve().parents[1] / "apps" / "model_repository" / "train.py"

READER_APP = '''"""Reads every file its stage-ins brought (relative to its run directory, its cwd)
and writes them, with their contents, to <results>/report.json."""
import json
import os
import sys

if __name__ == "__main__":
    *folders, results = sys.argv[1:]
    seen = {}
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            for name in names:
                path = os.path.join(root, name)
                with open(path) as f:
                    seen[path] = f.read()
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, "report.json"), "w") as f:
        json.dump(seen, f, sort_keys=True)
    print("READ", len(seen), "file(s)")
'''


def spec(app: Path) -> dict[str, Any]:
    return {
        "name": "local-moves",
        "inputs": [{"name": "regions"}, {"name": "record"}, {"name": "page"},
                   {"name": "share_out"}, {"name": "mine", "type": "path"}],
        "steps": [{"name": "count", "application": str(app),
                   "arguments": ["inputs/regions", "inputs/record", "inputs/page",
                                 "${mine}", "results"]}],
        "data_movements": [
            {"name": "regions_in", "direction": "in", "kind": "webdav",
             "source": "${regions}", "target": "inputs/regions"},
            {"name": "record_in", "direction": "in", "kind": "dls", "source": "${record}",
             "target": "inputs/record"},
            {"name": "page_in", "direction": "in", "kind": "http", "source": "${page}",
             "target": "inputs/page"},
            {"name": "to_s3", "direction": "out", "kind": "s3", "source": "results",
             "target": "s3://local-moves/run"},
            # Periodic on a site; a local job syncs nothing while it runs, so here it is
            # a step after the job all the same (its last, complete copy).
            {"name": "to_share", "direction": "out", "kind": "webdav", "source": "results",
             "target": "${share_out}", "every": "1s"},
        ]}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """The services of a Jupyter server, with the loopback data servers allowed (they
    stand for data servers on the centre's own network)."""
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                            local_workers=1, allow_private_urls=True)
    services = Services(config)
    yield services
    services.close()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "apps" / "reader.py"
    path.parent.mkdir()
    path.write_text(READER_APP)
    return path


def add_logins(services: Services, webdav_share: WebDavShare,
               b2share_server: B2ShareServer, s3_endpoint: S3Endpoint) -> None:
    logins = services.service_credentials
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password)
    logins.add("b2share", "b2share", b2share_server.url, token=b2share_server.token)
    logins.add("bucket", "s3", "s3://local-moves", username=s3_endpoint.access_key,
               secret=s3_endpoint.secret_key,
               options={"endpoint_url": s3_endpoint.endpoint_url})


def test_a_local_run_gets_its_data_in_and_its_results_out(
        services: Services, app: Path, tmp_path: Path, webdav_share: WebDavShare,
        b2share_server: B2ShareServer, s3_endpoint: S3Endpoint,
        http_files: HttpFiles) -> None:
    add_logins(services, webdav_share, b2share_server, s3_endpoint)
    s3_endpoint.client().create_bucket(Bucket="local-moves")
    regions = webdav_share.root / "local-regions"
    (regions / "med").mkdir(parents=True, exist_ok=True)
    (regions / "med" / "a.txt").write_text("one two three\n")
    (regions / "b.txt").write_text("four five\n")
    b2share_server.add_record("localrec1", {"data.txt": b"six seven eight nine\n"})
    (http_files.root / "page.txt").write_text("ten eleven\n")
    mine = tmp_path / "mine"  # a path input: read where it is on this machine, as before
    mine.mkdir()
    (mine / "notes.txt").write_text("twelve\n")

    workflow = services.registry.register_spec(spec(app))
    started = services.executions.submit(workflow.id, {
        "regions": f"{webdav_share.url}/local-regions", "record": "localrec1",
        "page": f"{http_files.url}/page.txt", "share_out": f"{webdav_share.url}/local-out",
        "mine": str(mine)})
    assert started.site == "local"
    done = services.executions.wait(started.id, TIMEOUT)
    assert done.state == ExecutionState.DONE, (done.error, services.executions.logs(done.id))

    # The application read what the stage-ins brought, at the paths it was given...
    expected = {"inputs/page/page.txt": "ten eleven\n",
                "inputs/record/data.txt": "six seven eight nine\n",
                "inputs/regions/b.txt": "four five\n",
                "inputs/regions/med/a.txt": "one two three\n",
                str(mine / "notes.txt"): "twelve\n"}
    report = json.dumps(expected, sort_keys=True).encode()
    # ...and its results went out after it, the very bytes it wrote.
    assert (webdav_share.root / "local-out" / "results" / "report.json").read_bytes() == \
        report
    body = s3_endpoint.client().get_object(Bucket="local-moves", Key="run/results/report.json")
    assert body["Body"].read() == report
    digest = hashlib.sha256(report).hexdigest()
    assert {"name": "results/report.json", "bytes": len(report), "sha256": digest} in \
        done.outputs["to_s3"]["files"]
    assert done.outputs["to_share"]["location"] == f"{webdav_share.url}/local-out"

    # Each movement is a step of its own on the local site, before or after the job.
    steps = {s.name: s for s in services.executions.steps(started.id)}
    assert list(steps) == ["count:in:regions_in", "count:in:record_in", "count:in:page_in",
                           "count", "count:out:to_s3", "count:out:to_share"]
    assert all(s.state == "done" and s.site == "local" for s in steps.values())
    assert steps["count"].depends_on == ("count:in:regions_in", "count:in:record_in",
                                         "count:in:page_in")
    job = services.executions.get(steps["count"].execution_id or "")
    run_dir = services.runs_dir / job.id
    # The job's run directory holds the data (hard links to the movement's, no copy),
    # not the movements' own event logs, outputs or spool.
    staged = run_dir / "inputs" / "regions" / "med" / "a.txt"
    assert staged.read_text() == "one two three\n" and staged.stat().st_nlink == 2
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "events.jsonl", "inputs", "output.log", "results"]
    assert not list(run_dir.rglob("*.part"))
    text, _ = services.executions.logs(started.id, step="count:in:record_in")
    assert "into" in text and "localrec1" in text
    events = services.executions.events(started.id)
    for event in events:
        validate_event(event)
    moved = {e["step"] for e in events if e["type"] == "transfer" and "step" in e}
    assert set(steps) - {"count"} <= moved
    said = [(e["step"], e["state"]) for e in events if e["type"] == "step"]
    first = {}
    for index, (name, _state) in reversed(list(enumerate(said))):
        first[name] = index
    for name in ("count:in:regions_in", "count:in:record_in", "count:in:page_in"):
        assert said.index((name, "done")) < first["count"]  # in, then the job...
    for name in ("count:out:to_s3", "count:out:to_share"):
        assert said.index(("count", "done")) < first[name]  # ...then out
    everything = json.dumps(events) + json.dumps(done.outputs)
    for secret in (webdav_share.password, s3_endpoint.secret_key, b2share_server.token):
        assert secret not in everything


def test_a_stage_in_that_does_not_check_out_fails_and_the_job_never_runs(
        services: Services, app: Path, webdav_share: WebDavShare,
        b2share_server: B2ShareServer, s3_endpoint: S3Endpoint,
        http_files: HttpFiles) -> None:
    add_logins(services, webdav_share, b2share_server, s3_endpoint)
    (webdav_share.root / "local-regions2").mkdir(exist_ok=True)
    (webdav_share.root / "local-regions2" / "a.txt").write_text("a\n")
    # The service's md5 is not the file's: the bytes are not what was published.
    b2share_server.add_record("localbad", {"data.txt": b"corrupted\n"},
                              checksum={"data.txt": "md5:" + "0" * 32})
    (http_files.root / "page2.txt").write_text("p\n")
    workflow = services.registry.register_spec(spec(app))
    started = services.executions.submit(workflow.id, {
        "regions": f"{webdav_share.url}/local-regions2", "record": "localbad",
        "page": f"{http_files.url}/page2.txt", "share_out": f"{webdav_share.url}/bad-out",
        "mine": str(app.parent)})
    done = services.executions.wait(started.id, TIMEOUT)
    assert done.state == ExecutionState.FAILED
    assert "record_in" in (done.error or "") and "md5" in (done.error or "")
    states = {s.name: s.state for s in services.executions.steps(started.id)}
    assert states["count:in:record_in"] == "failed"
    assert states["count"] == states["count:out:to_s3"] == states["count:out:to_share"] == \
        "cancelled"
    assert not (webdav_share.root / "bad-out").exists()
    assert not list(services.runs_dir.rglob("data.txt"))  # no final name for bad bytes


_PATTERN = bytes(i % 251 for i in range(251 * 20))


def _content(offset: int, length: int) -> bytes:
    """Bytes ``offset`` to ``offset + length`` of every file the slow server sends."""
    start = offset % 251
    return _PATTERN[start:start + length]


class _SlowFile(BaseHTTPRequestHandler):
    """A file sent slowly (``/big.bin``: 50 MiB, ``/small-<n>.bin``: n bytes), so a cancel
    or a stop finds its transfer mid-file; ``Range: bytes=N-`` resumes it."""

    requests: list[tuple[str, str]] = []  # noqa: RUF012 - the tests read who asked

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        wanted = self.headers.get("Range", "")
        self.requests.append((self.path, wanted))
        size = 50 * 1024 * 1024 if self.path == "/big.bin" else int(
            self.path.removeprefix("/small-").removesuffix(".bin"))
        if wanted == "bytes=0-0":  # the site's probe for redirects
            self.send_response(206)
            self.send_header("Content-Range", f"bytes 0-0/{size}")
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(_content(0, 1))
            return
        start = int(wanted.removeprefix("bytes=").removesuffix("-")) if wanted else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        try:
            for offset in range(start, size, 4096):
                self.wfile.write(_content(offset, min(4096, size - offset)))
                time.sleep(0.01)
        except OSError:
            pass  # the reader went away: the cancel


@pytest.fixture
def slow_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def slow_spec(app: Path) -> dict[str, Any]:
    return {"name": "slow-in", "inputs": [{"name": "page"}],
            "steps": [{"name": "count", "application": str(app),
                       "arguments": ["results"]}],
            "data_movements": [{"name": "page_in", "direction": "in", "kind": "http",
                                "source": "${page}", "target": "inputs/page"}]}


def _writing(runs_dir: Path, name: str, at_least: int) -> Path:
    """The ``.part`` a movement writes, once it holds ``at_least`` bytes."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        assert time.monotonic() < deadline, "the movement never started writing"
        found = [p for p in runs_dir.rglob(f"{name}.part") if p.stat().st_size >= at_least]
        if found:
            return found[0]
        time.sleep(0.05)


def _fetchers(part: Path) -> list[psutil.Process]:
    """This host's processes writing ``part`` (the local site's curl, its shell)."""
    return [p for p in psutil.process_iter(["cmdline"])
            if str(part) in " ".join(p.info["cmdline"] or [])]


def test_cancelling_stops_a_local_movement_mid_file(services: Services, app: Path,
                                                   slow_server: str) -> None:
    workflow = services.registry.register_spec(slow_spec(app))
    started = services.executions.submit(workflow.id, {"page": f"{slow_server}/big.bin"})
    part = _writing(services.runs_dir, "big.bin", 1)
    fetchers = _fetchers(part)
    assert any("curl" in " ".join(p.cmdline()) for p in fetchers), "this host's curl fetches"
    services.executions.cancel(started.id)
    done = services.executions.wait(started.id, 30)
    assert done.state == ExecutionState.CANCELLED
    states = {s.name: s.state for s in services.executions.steps(started.id)}
    assert states == {"count:in:page_in": "cancelled", "count": "cancelled"}
    size = part.stat().st_size if part.exists() else 0
    assert size < 50 * 1024 * 1024  # stopped mid-file...
    assert not list(services.runs_dir.rglob("big.bin"))  # ...and never got its name
    psutil.wait_procs(fetchers, timeout=5)
    assert not any(p.is_running() for p in fetchers)  # nothing left fetching


def test_a_local_movement_cut_by_a_stop_resumes_in_the_next_process(
        tmp_path: Path, app: Path, slow_server: str) -> None:
    """The server stops mid-file: the movement's commands end with it (nothing writes
    the ``.part`` behind the next process's back), its step stays unfinished, and the
    next server does it again from where the ``.part`` ends; then the job runs."""
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                            local_workers=1, allow_private_urls=True)
    size = 2 * 1024 * 1024
    first = Services(config)
    try:
        workflow = first.registry.register_spec(slow_spec(app))
        started = first.executions.submit(workflow.id,
                                          {"page": f"{slow_server}/small-{size}.bin"})
        part = _writing(first.runs_dir, f"small-{size}.bin", 200_000)
        fetchers = _fetchers(part)
        assert fetchers
    finally:
        first.close()
    psutil.wait_procs(fetchers, timeout=5)
    assert not any(p.is_running() for p in fetchers)  # they ended with the server
    had = part.stat().st_size
    assert 200_000 <= had < size
    second = Services(config)
    try:
        (moving,) = [c for c in second.execution_store.steps(started.id)]
        assert moving.step == "count:in:page_in" and not moving.finished  # left to redo
        second.start()  # a server starting: it drives the graph again
        done = second.executions.wait(started.id, TIMEOUT)
        assert done.state == ExecutionState.DONE, done.error
        steps = {s.name: s for s in second.executions.steps(started.id)}
        job_dir = second.runs_dir / (steps["count"].execution_id or "")
        landed = (job_dir / "inputs" / "page" / f"small-{size}.bin").read_bytes()
        assert hashlib.sha256(landed).digest() == hashlib.sha256(_content_of(size)).digest()
        assert (f"/small-{size}.bin", f"bytes={had}-") in _SlowFile.requests  # resumed
    finally:
        second.close()


def _content_of(size: int) -> bytes:
    return b"".join(_content(o, min(4096, size - o)) for o in range(0, size, 4096))


@pytest.mark.timeout(600)
def test_a_local_run_uploads_its_model_to_mlflow(services: Services, tmp_path: Path,
                                                 mlflow_server: MlflowServer) -> None:
    """The DLS's model upload after a local job: ``attrs.json`` in the job's run
    directory names the experiment, metrics, params and the artifact (relative to it)."""
    services.service_credentials.add("models", "mlflow", mlflow_server.url,
                                     username=mlflow_server.username,
                                     secret=mlflow_server.password)
    case = f"local{uuid.uuid4().hex[:6]}"
    workflow = services.registry.register_spec({
        "name": "local-model", "inputs": [{"name": "case"}],
        "steps": [{"name": "train", "application": str(TRAIN_APP),
                   "arguments": ["roms", "search", "${case}"]}],
        "data_movements": [{"name": "rom_center", "direction": "out", "kind": "mlflow",
                            "source": "roms/center"}]})
    started = services.executions.submit(workflow.id, {"case": case})
    done = services.executions.wait(started.id, TIMEOUT)
    assert done.state == ExecutionState.DONE, (done.error, services.executions.logs(done.id))
    client = mlflow_server.client()
    experiment = client.get_experiment_by_name(f"rom-center-{case}")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.metrics == {"score": 0.8333}
    assert run.data.params == {"case": case, "depth": "2"}
    local = client.download_artifacts(run.info.run_id, "model/rom.bin", str(tmp_path))
    assert Path(local).read_bytes() == f"{case}:center:2".encode() * 100
    assert done.outputs["rom_center"]["location"] == (
        f"{mlflow_server.url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}")
    text = json.dumps(services.executions.events(started.id)) + json.dumps(done.outputs)
    assert mlflow_server.password not in text


def test_a_movement_on_a_site_reached_through_this_host_stops_with_the_server(
        tmp_path: Path, app: Path, slow_server: str) -> None:
    """A ``connection: local`` site (the server on the login node) runs a movement's
    commands in this host's shell, as the local site does: the remote executor's stop
    ends them too, and leaves the step unfinished for the next server."""
    config = ServicesConfig(state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
                            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs",
                            local_workers=1, allow_private_urls=True)
    first = Services(config)
    try:
        first.site_service.add({"name": "centre", "connection": "local", "scheduler": "slurm",
                         "workdir": str(tmp_path / "centre"),
                         "python": {"mode": "existing", "path": sys.executable}})
        workflow = first.registry.register_spec(slow_spec(app))
        started = first.executions.submit(workflow.id, {"page": f"{slow_server}/big.bin"},
                                          "centre")
        part = _writing(tmp_path / "centre", "big.bin", 1)
        fetchers = _fetchers(part)
        assert any("curl" in " ".join(p.cmdline()) for p in fetchers)
    finally:
        first.close()
    psutil.wait_procs(fetchers, timeout=5)
    assert not any(p.is_running() for p in fetchers)  # they ended with the server
    (moving,) = Services(config).execution_store.steps(started.id)
    assert moving.step == "count:in:page_in" and not moving.finished  # left to redo
