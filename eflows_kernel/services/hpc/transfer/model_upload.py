"""A model on a site into an MLflow tracking server, as the DLS's model pipelines do it.

Two pipelines of the eFlows4HPC Data Logistics Service, behind the TOSCA nodes
``dls.ansible.nodes.DLSDAGModelUpload`` and ``DLSDAGModelSearchUpload``:

* ``mlflow_upload_model`` reads ``<location>/attrs.json`` (``name``, ``metrics``,
  ``params``, ``artifacts``: paths on the site) and makes one run in the experiment
  ``name`` (made if missing; a random ``experiment_...`` name when none is given):
  its metrics and parameters, and each artifact under ``model/``. A missing attrs.json
  or artifact is said and skipped, as the DLS does.
* ``model_search_upload`` reads ``<location>/pd.csv`` (a scikit-learn ``cv_results_``
  table: a ``params`` column and ``mean_test_score`` / ``mean_fit_time``) and
  ``<location>/model.dat``: one run holding ``model/model.dat``, then one run per row
  with that row's parameters and scores. Both files are needed (the DLS fails too).

Every file crosses this server with the guarantees of the other transfers: the site's
sha256 checked on arrival (``stage_out``), the upload read back and checked by sha256.
"""

from __future__ import annotations

import ast
import csv
import json
import posixpath
import secrets
import shutil
from pathlib import Path

import paramiko

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.transfer._common import (
    Progress,
    TransferError,
    TransferResult,
    file_sha256,
    remote_size,
)
from eflows_kernel.services.hpc.transfer.download import stage_out
from eflows_kernel.services.hpc.transfer.stores.http import public
from eflows_kernel.services.hpc.transfer.stores.mlflow import MlflowStore, server_url

ATTRS = "attrs.json"
SEARCH_TABLE, SEARCH_MODEL = "pd.csv", "model.dat"
SEARCH_METRICS = ("mean_test_score", "mean_fit_time")
DEFAULT_SEARCH_EXPERIMENT = "model_search"  # the pipeline's default experiment_name


def _note(events: EventStream | None, message: str) -> None:
    if events is not None:
        events.emit("log", stream="stdout", line=f"[stage-out] {message}")


def _fetch(client: paramiko.SSHClient, remote: str, spool: Path,
           events: EventStream | None) -> Path | None:
    """A file of the site into ``spool`` (checked), or None when there is none."""
    if remote_size(client, remote) is None:
        return None
    return spool / stage_out(client, remote, spool, events).name


def _put(store: MlflowStore, server: str, artifact_uri: str, local: Path, folder: str,
         events: EventStream | None) -> TransferResult:
    name = f"{folder}/{local.name}"
    url = store.artifact_url(server, artifact_uri, name)
    size, digest = local.stat().st_size, file_sha256(local)
    progress = Progress(events, public(url), "out", size)
    progress.start()
    try:
        with local.open("rb") as f:
            store.write(url, f, size, digest)
    except BaseException as error:
        progress.fail(error)
        raise
    progress.add(size)
    progress.finish()
    return TransferResult(name, size, digest)


def _run_url(server: str, experiment: str, run: str) -> str:
    return f"{server_url(server)}/#/experiments/{experiment}/runs/{run}"


def upload_model_from_site(client: paramiko.SSHClient, location: str, store: MlflowStore,
                           server: str, spool: Path, base: str = "",
                           events: EventStream | None = None
                           ) -> tuple[str, list[TransferResult]]:
    """``mlflow_upload_model``: the run made from ``<location>/attrs.json``; its URL and
    the artifacts uploaded. ``base``: what a relative artifact path is relative to (the
    run directory, as for every other path of a data movement here)."""
    try:
        fetched = _fetch(client, posixpath.join(location, ATTRS), spool / "attrs", events)
        attrs: dict = {}
        if fetched is None:
            _note(events, f"no model attributes found ({location}/{ATTRS})")
        else:
            try:
                loaded = json.loads(fetched.read_text(encoding="utf-8"))
            except ValueError as error:
                raise TransferError(f"{location}/{ATTRS} is not JSON: {error}") from None
            if not isinstance(loaded, dict):
                raise TransferError(f"{location}/{ATTRS} must be a JSON object "
                                    "(name, metrics, params, artifacts)")
            attrs = loaded
        name = str(attrs.get("name") or f"experiment_{secrets.token_hex(4)}")
        experiment = store.experiment(server, name)
        run, artifact_uri = store.create_run(server, experiment)
        metrics = attrs.get("metrics") if isinstance(attrs.get("metrics"), dict) else {}
        params = attrs.get("params") if isinstance(attrs.get("params"), dict) else {}
        store.log(server, run, metrics, params)
        results = []
        artifacts = attrs.get("artifacts") if isinstance(attrs.get("artifacts"), list) else []
        for index, art in enumerate(artifacts):
            remote = str(art) if str(art).startswith("/") or not base else \
                posixpath.join(base, str(art))
            local = _fetch(client, remote, spool / f"artifact-{index}", events)
            if local is None:
                _note(events, f"artifact {art} not found; skipped")
                continue
            results.append(_put(store, server, artifact_uri, local, "model", events))
        store.finish_run(server, run)
        _note(events, f"model uploaded to experiment {name!r}, run {run}")
        return _run_url(server, experiment, run), results
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _search_rows(table: Path) -> list[tuple[dict, dict[str, float]]]:
    """(parameters, scores) of each row of a ``cv_results_`` table."""
    with table.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and "params" not in rows[0]:
        raise TransferError(f"{SEARCH_TABLE} has no 'params' column (a scikit-learn "
                            "cv_results_ table has one)")
    found = []
    for number, row in enumerate(rows, start=1):
        try:
            params = ast.literal_eval(row["params"])
        except (ValueError, SyntaxError):
            raise TransferError(f"{SEARCH_TABLE} row {number}: params {row['params']!r} "
                                "is not a parameter dict") from None
        if not isinstance(params, dict):
            raise TransferError(f"{SEARCH_TABLE} row {number}: params is not a dict")
        scores = {}
        for metric in SEARCH_METRICS:
            if row.get(metric) not in (None, ""):
                try:
                    scores[metric] = float(row[metric])
                except ValueError:
                    raise TransferError(f"{SEARCH_TABLE} row {number}: {metric} "
                                        f"{row[metric]!r} is not a number") from None
        found.append((params, scores))
    return found


def upload_search_from_site(client: paramiko.SSHClient, location: str, store: MlflowStore,
                            server: str, experiment_name: str, spool: Path,
                            events: EventStream | None = None
                            ) -> tuple[str, list[TransferResult]]:
    """``model_search_upload``: the model run and one run per searched parameter set;
    the model run's URL and the model uploaded."""
    try:
        table = _fetch(client, posixpath.join(location, SEARCH_TABLE), spool / "t", events)
        model = _fetch(client, posixpath.join(location, SEARCH_MODEL), spool / "m", events)
        missing = [n for n, f in ((SEARCH_TABLE, table), (SEARCH_MODEL, model)) if f is None]
        if missing or table is None or model is None:
            raise TransferError(f"no model search result in {location}: "
                                f"{', '.join(missing)} missing")
        rows = _search_rows(table)
        name = experiment_name or DEFAULT_SEARCH_EXPERIMENT
        experiment = store.experiment(server, name)
        run, artifact_uri = store.create_run(server, experiment)
        results = [_put(store, server, artifact_uri, model, "model", events)]
        store.finish_run(server, run)
        for params, scores in rows:
            row_run, _ = store.create_run(server, experiment)
            store.log(server, row_run, scores, params)
            store.finish_run(server, row_run)
        _note(events, f"model search uploaded to experiment {name!r}: run {run} and "
                      f"{len(rows)} parameter set(s)")
        return _run_url(server, experiment, run), results
    finally:
        shutil.rmtree(spool, ignore_errors=True)


__all__ = ["DEFAULT_SEARCH_EXPERIMENT", "upload_model_from_site", "upload_search_from_site"]
