"""Pytest plugin: real data services on loopback, one of each per session.

What the eFlows4HPC Data Logistics Service talks to, run here for real: a WebDAV share
(wsgidav on cheroot, with a login), an S3 endpoint (moto's server mode), a B2SHARE
server (the public record API's shape: ``GET /api/records/<id>`` with ``files[]``
{key, size, checksum "md5:...", links.self}, files with HTTP ranges, an
``access_token`` for restricted records) and a plain HTTP file server with ranges. Each
starts on 127.0.0.1 with a free port when a test first asks for it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@dataclass
class WebDavShare:
    url: str  # webdav://127.0.0.1:<port>
    root: Path  # the share's folder on disk
    username: str
    password: str


@pytest.fixture(scope="session")
def webdav_share(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDavShare]:
    from cheroot import wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp

    root = tmp_path_factory.mktemp("webdav-share")
    user, password = "b2drop-user", "app-password-1"
    app = WsgiDAVApp({
        "host": "127.0.0.1", "port": 0, "provider_mapping": {"/": str(root)},
        "http_authenticator": {"domain_controller": None, "accept_basic": True,
                               "accept_digest": False, "default_to_digest": False},
        "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
        "verbose": 1, "logging": {"enable_loggers": []}, "property_manager": True,
        "lock_storage": True})
    server = wsgi.Server(("127.0.0.1", 0), app)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    host, port = server.bind_addr[:2]
    yield WebDavShare(f"webdav://{host}:{port}", root, user, password)
    server.stop()
    thread.join(timeout=10)


@dataclass
class S3Endpoint:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Endpoint(f"http://{host}:{port}", "AKIATESTEFLOWS", "test-secret-key")
    server.stop()


def _serve_file(handler: BaseHTTPRequestHandler, data: bytes, etag: str) -> None:
    """Answer a GET with ``data``, honouring ``Range: bytes=N-`` (and If-Range)."""
    start = 0
    wanted = handler.headers.get("Range", "")
    match = re.fullmatch(r"bytes=(\d+)-", wanted)
    if_range = handler.headers.get("If-Range")
    if match and (if_range is None or if_range == etag):
        start = int(match.group(1))
        if start >= len(data):
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{len(data)}")
            handler.end_headers()
            return
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
    else:
        handler.send_response(200)
    handler.send_header("Content-Length", str(len(data) - start))
    handler.send_header("ETag", etag)
    handler.send_header("Accept-Ranges", "bytes")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data[start:])


@dataclass
class B2ShareServer:
    """Records served as B2SHARE does; :meth:`add_record` publishes one."""

    url: str  # http://127.0.0.1:<port>
    token: str = "b2share-token-1"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)  # path -> content
    private: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)  # "GET /path" of every request
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)  # deposited records

    def add_record(self, record_id: str, files: dict[str, bytes], private: bool = False,
                   checksum: dict[str, str] | None = None) -> str:
        """Publish ``files`` as record ``record_id``; its location for a movement."""
        bucket = f"/api/files/bucket-{record_id}"
        entries = []
        for key, data in files.items():
            self.blobs[f"{bucket}/{key}"] = data
            entries.append({"key": key, "size": len(data),
                            "checksum": (checksum or {}).get(
                                key, "md5:" + hashlib.md5(data).hexdigest()),
                            "version_id": hashlib.sha1(data).hexdigest(),
                            "links": {"self": f"{self.url}{bucket}/{key}"}})
        self.records[record_id] = {"id": record_id, "files": entries,
                                   "links": {"files": f"{self.url}{bucket}"},
                                   "metadata": {"titles": [{"title": record_id}],
                                                "open_access": not private}}
        if private:
            self.private.add(record_id)
        return f"{self.url}/records/{record_id}"


@pytest.fixture(scope="session")
def b2share_server() -> Iterator[B2ShareServer]:
    state: dict[str, B2ShareServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

        def do_GET(self) -> None:
            b2 = state["server"]
            path, _, query = self.path.partition("?")
            b2.requests.append(f"{self.command} {path}")
            allowed = self._has_token(b2, query)
            record = re.fullmatch(r"/api/records/([^/]+)", path)
            if record and record.group(1) in b2.records:
                rid = record.group(1)
                if rid in b2.private and not allowed:
                    self.send_error(401, "restricted record")
                    return
                body = json.dumps(b2.records[rid]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if path in b2.blobs:
                owner = path.split("/")[3].removeprefix("bucket-")
                if owner in b2.private and not allowed:
                    self.send_error(401, "restricted file")
                    return
                data = b2.blobs[path]
                _serve_file(self, data, '"' + hashlib.sha1(data).hexdigest() + '"')
                return
            self.send_error(404, "no such record or file")

        do_HEAD = do_GET  # noqa: N815

        def _authorized(self) -> B2ShareServer | None:
            b2 = state["server"]
            path, _, query = self.path.partition("?")
            b2.requests.append(f"{self.command} {path}")
            if not self._has_token(b2, query):
                self.send_error(401, "a token is needed to deposit")
                return None
            return b2

        def _has_token(self, b2: B2ShareServer, query: str) -> bool:
            """B2SHARE takes the token as ?access_token= or as an OAuth2 bearer header."""
            return (f"access_token={b2.token}" in query.split("&")
                    or self.headers.get("Authorization") == f"Bearer {b2.token}")

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_POST(self) -> None:
            b2 = self._authorized()
            if b2 is None:
                return
            metadata = json.loads(self._body())
            if not metadata.get("titles"):
                self.send_error(400, "titles are required")
                return
            rid = f"draft{len(b2.drafts) + 1}"
            b2.drafts[rid] = {"metadata": metadata, "files": {}, "state": "draft"}
            self._json(201, {"id": rid, "metadata": metadata,
                             "links": {"files": f"{b2.url}/api/files/bucket-{rid}",
                                       "self": f"{b2.url}/api/records/{rid}/draft"}})

        def do_PUT(self) -> None:
            b2 = self._authorized()
            if b2 is None:
                return
            match = re.fullmatch(r"/api/files/bucket-([^/]+)/(.+)", self.path.partition("?")[0])
            if not match or match.group(1) not in b2.drafts:
                self.send_error(404, "no such bucket")
                return
            data = self._body()
            key = match.group(2)
            b2.drafts[match.group(1)]["files"][key] = data
            self._json(200, {"key": key, "size": len(data),
                             "checksum": "md5:" + hashlib.md5(data).hexdigest()})

        def do_PATCH(self) -> None:
            b2 = self._authorized()
            if b2 is None:
                return
            match = re.fullmatch(r"/api/records/([^/]+)/draft", self.path.partition("?")[0])
            if not match or match.group(1) not in b2.drafts:
                self.send_error(404, "no such draft")
                return
            patch = json.loads(self._body())
            for op in patch:
                if op.get("path") == "/publication_state":
                    b2.drafts[match.group(1)]["state"] = op["value"]
            self._json(200, {"id": match.group(1)})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["server"] = B2ShareServer(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state["server"]
    httpd.shutdown()
    httpd.server_close()


@dataclass
class HttpFiles:
    """A plain HTTP server of the files in ``root`` (ranges and ETags as real ones do)."""

    url: str
    root: Path
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def http_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpFiles]:
    root = tmp_path_factory.mktemp("http-files")
    state: dict[str, HttpFiles] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            files = state["files"]
            files.requests.append(f"{self.command} {self.path} {self.headers.get('Range', '')}")
            path = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if root.resolve() not in path.parents or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            _serve_file(self, data, '"' + hashlib.sha1(data).hexdigest() + '"')

        do_HEAD = do_GET  # noqa: N815

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["files"] = HttpFiles(f"http://127.0.0.1:{httpd.server_address[1]}", root)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state["files"]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def redirector() -> Iterator[tuple[int, list[str]]]:
    """A data server that redirects /go (GET and HEAD) to wherever the test says
    (``target[0]``) and serves ``public data`` elsewhere: each redirect hop must be checked."""
    target = ["/"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/go"):
                self.send_response(302)
                self.send_header("Location", target[0])
                self.end_headers()
                return
            body = b"public data\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], target
    server.shutdown()
    server.server_close()


@dataclass
class MlflowServer:
    """A real MLflow tracking server (``mlflow server``, basic-auth app) on loopback."""

    url: str  # http://127.0.0.1:<port>
    username: str
    password: str
    artifacts: Path  # --artifacts-destination: what the proxy stored

    def client(self) -> Any:
        """An MLflow client logged in as the server's admin (the tests read back with it)."""
        import os

        from mlflow.tracking import MlflowClient

        os.environ["MLFLOW_TRACKING_USERNAME"] = self.username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = self.password
        return MlflowClient(tracking_uri=self.url)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """``mlflow server`` with its basic-auth app (a login the uploads must give), a
    SQLite backend and the artifact proxy (``--serve-artifacts``, its default) on a free
    port; the admin's password is made here. Its start takes seconds (MLflow's imports
    and migrations), so only the tests that upload models ask for it."""
    import os
    import secrets
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    root = tmp_path_factory.mktemp("mlflow")
    password = "Mlf-" + secrets.token_urlsafe(12)
    (root / "auth.ini").write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\n"
        f"admin_username = admin\nadmin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MLFLOW_AUTH_CONFIG_PATH": str(root / "auth.ini"),
           "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}
    mlflow = Path(sys.executable).with_name("mlflow")
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--app-name", "basic-auth",
         "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert process.poll() is None, (root / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "mlflow server did not start in 180 s"
            time.sleep(0.25)
        yield MlflowServer(url, "admin", password, root / "artifacts")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
