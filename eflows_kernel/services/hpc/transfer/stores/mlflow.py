"""An MLflow tracking server (the eFlows4HPC model repository), spoken over its REST API.

The DLS's model pipelines (``mlflow_upload_model``, ``model_search_upload``) use the
MLflow client against the tracking server of their ``my_mlflow`` connection; here the
same calls go over ``/api/2.0/mlflow/...`` with the vault's login for that server (HTTP
basic auth for a user name and password, a bearer token for a token, as the MLflow
client sends ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD`` or ``_TOKEN``), so this server
needs no MLflow installed. Artifacts go through the server's artifact proxy
(``mlflow-artifacts:/...`` runs, the default of ``mlflow server``), each one read back
and checked against the sha256 of what was sent.
"""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO

from eflows_kernel.services.hpc.transfer._common import ChecksumMismatch
from eflows_kernel.services.hpc.transfer.stores.base import Auth, RemoteFile, StoreError
from eflows_kernel.services.hpc.transfer.stores.http import (
    check_response,
    http_client,
    public,
)
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PROXIED = "mlflow-artifacts:"


def server_url(location: str) -> str:
    """The tracking server's base URL of a location (``http(s)://host[:port][/prefix]``)."""
    parsed = urllib.parse.urlsplit(location.split("#", 1)[0])
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise StoreError(f"not an MLflow tracking server: {public(location)} (expected "
                         "http(s)://host[:port])")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc,
                                    parsed.path.rstrip("/"), "", ""))


def now_ms() -> int:
    return int(time.time() * 1000)


class MlflowStore:
    """One tracking server: experiments, runs, their metrics, parameters and artifacts."""

    scheme = "mlflow"

    def __init__(self, auth: Auth | None = None, policy: UrlPolicy | None = None) -> None:
        headers = {"Authorization": f"Bearer {auth.token}"} if auth and auth.token else {}
        basic = (auth.username, auth.secret) if auth and auth.secret and not auth.token \
            else None
        self.client = http_client(policy, auth=basic, headers=headers)

    # ---- the tracking API -----------------------------------------------------------------

    def _call(self, server: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{server_url(server)}{API}/{path}"
        response = self.client.request(method, url, **kwargs)
        check_response(response, f"{method} {public(url)}")
        try:
            data = response.json()
        except ValueError:
            raise StoreError(f"{method} {public(url)}: not an MLflow answer (no JSON)") from None
        return data if isinstance(data, dict) else {}

    def experiment(self, server: str, name: str) -> str:
        """The id of the experiment called ``name``, made if there is none (as the DLS)."""
        url = f"{server_url(server)}{API}/experiments/get-by-name"
        response = self.client.get(url, params={"experiment_name": name})
        if response.status_code == 404:
            made = self._call(server, "POST", "experiments/create", json={"name": name})
            return str(made["experiment_id"])
        check_response(response, f"GET {public(url)}")
        return str(response.json()["experiment"]["experiment_id"])

    def create_run(self, server: str, experiment_id: str) -> tuple[str, str]:
        """A new run of the experiment: (its id, its artifact URI)."""
        info = self._call(server, "POST", "runs/create", json={
            "experiment_id": experiment_id, "start_time": now_ms()})["run"]["info"]
        return str(info["run_id"]), str(info.get("artifact_uri") or "")

    def log(self, server: str, run_id: str, metrics: dict[str, float] | None = None,
            params: dict[str, Any] | None = None) -> None:
        """Metrics and parameters of a run, in one batch."""
        stamp = now_ms()
        body = {"run_id": run_id,
                "metrics": [{"key": str(k), "value": float(v), "timestamp": stamp, "step": 0}
                            for k, v in (metrics or {}).items()],
                "params": [{"key": str(k), "value": str(v)} for k, v in (params or {}).items()]}
        if body["metrics"] or body["params"]:
            self._call(server, "POST", "runs/log-batch", json=body)

    def finish_run(self, server: str, run_id: str) -> None:
        self._call(server, "POST", "runs/update",
                   json={"run_id": run_id, "status": "FINISHED", "end_time": now_ms()})

    def artifact_url(self, server: str, artifact_uri: str, path: str) -> str:
        """Where the server's artifact proxy keeps ``path`` of a run."""
        if not artifact_uri.startswith(PROXIED):
            raise StoreError(
                f"the tracking server {public(server)} keeps this run's artifacts at "
                f"{artifact_uri!r}, which only an MLflow client with access to that store "
                "can write: start it with artifact serving (mlflow server "
                "--serve-artifacts, the default, with --artifacts-destination)")
        rest = artifact_uri[len(PROXIED):].lstrip("/")
        if artifact_uri.startswith(PROXIED + "//"):  # mlflow-artifacts://host:port/path
            rest = rest.split("/", 1)[1] if "/" in rest else ""
        quoted = urllib.parse.quote(f"{rest.strip('/')}/{path.strip('/')}")
        return f"{server_url(server)}{ARTIFACTS}/{quoted}"

    # ---- the DataStore interface -----------------------------------------------------------

    def files(self, location: str) -> list[RemoteFile]:
        raise StoreError(f"{public(location)}: an MLflow tracking server is written to "
                         "(model uploads), not read from, by the data movements here")

    def read(self, location: str, offset: int = 0, etag: str | None = None) -> Iterator[bytes]:
        raise StoreError(f"{public(location)}: MLflow artifacts are not read here")

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        """One artifact at its proxy URL ``location``, read back and checked by sha256."""
        response = self.client.put(location, content=iter(lambda: data.read(1 << 20), b""),
                                   headers={"Content-Type": "application/octet-stream",
                                            "Content-Length": str(size)})
        check_response(response, f"PUT {public(location)}")
        digest = hashlib.sha256()
        with self.client.stream("GET", location) as back:
            check_response(back, f"GET {public(location)}")
            for block in back.iter_bytes(1 << 20):
                digest.update(block)
        if digest.hexdigest() != sha256:
            raise ChecksumMismatch(f"{public(location)}: MLflow stored sha256 "
                                   f"{digest.hexdigest()}, not {sha256}")

    def close(self) -> None:
        self.client.close()


__all__ = ["MlflowStore", "server_url"]
