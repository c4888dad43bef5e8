"""``EflowsClient``: the services' interface spoken over the extension's REST API.

The HTTP is in ``transport.py`` (standard library only), the sites' part in
``rest_sites.py``. Results are the services' own models (``RegisteredWorkflow``, ``Execution``,
``CredentialInfo``...) and errors the services' own classes, so code does not
care whether the services live in this process (``LocalClient``) or behind a
Jupyter server, including a single-user server under JupyterHub (its URL with
the ``/user/<name>/`` prefix, and a token the hub issued).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from eflows_kernel.client.data import RestData
from eflows_kernel.client.errors import ClientError
from eflows_kernel.client.rest_runs import RestRuns
from eflows_kernel.client.rest_sites import RestSites
from eflows_kernel.client.transport import Transport, split_url
from eflows_kernel.client.transport import quote_segment as _q
from eflows_kernel.events import Follower
from eflows_kernel.services.credentials import CredentialInfo
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions import LOCAL_SITE, Execution
from eflows_kernel.services.state import Page
from eflows_kernel.services.workflows.registry import RegisteredWorkflow


def credential_info(data: Mapping[str, Any]) -> CredentialInfo:
    """A ``CredentialInfo`` from its JSON form (the REST API's credential body)."""
    return CredentialInfo(id=data["id"], name=data["name"], kind=data["kind"],
                          public_key=data["public_key"], fingerprint=data["fingerprint"],
                          comment=data.get("comment") or "",
                          created_at=datetime.fromisoformat(data["created_at"]),
                          has_certificate=bool(data.get("has_certificate")),
                          metadata=dict(data.get("metadata") or {}))


class _Part:
    def __init__(self, transport: Transport) -> None:
        self._http = transport


def _page(body: Mapping[str, Any], items: list[Any]) -> Page[Any]:
    return Page[Any](items=items, total=body["total"], limit=body["limit"],
                     offset=body["offset"])


class RestWorkflows(_Part):
    """``WorkflowRegistry`` over REST."""

    def list(self, name: str | None = None, limit: int = 50, offset: int = 0) -> Page[Any]:
        """A page of workflow summaries (dicts: id, name, version, description, inputs)."""
        body = self._http.call("GET", "workflows",
                               params={"name": name, "limit": limit, "offset": offset})
        return _page(body, body["items"])

    def get(self, workflow_id: str) -> RegisteredWorkflow:
        return RegisteredWorkflow.model_validate(
            self._http.call("GET", f"workflows/{_q(workflow_id)}"))

    def register_spec(self, spec: Mapping[str, Any]) -> RegisteredWorkflow:
        return RegisteredWorkflow.model_validate(self._http.call("POST", "workflows",
                                                                 dict(spec)))

    def register_python_file(self, path: str, **options: Any) -> RegisteredWorkflow:
        """Describe the file here and register that description (the server has no upload).

        The application path stays absolute, so the run works when the server runs on
        this host or shares its file system (the usual Jupyter set-up).
        """
        from eflows_kernel.services.workflows import WorkflowImportError, workflow_from_python_file

        try:
            workflow = workflow_from_python_file(path, **options)
        except WorkflowImportError as exc:
            raise ValidationError(str(exc)) from None
        except TypeError as exc:
            raise ValidationError(str(exc)) from None
        spec = workflow.model_dump(mode="json", exclude={"warnings"})
        return self.register_spec(spec)

    def import_folder(self, path: str) -> dict[str, Any]:
        """Import an eFlows4HPC registry folder (a path on the server's host).

        Returns ``{"registered": [summaries], "warnings": [...], "refused": [...]}``.
        """
        return self._http.call("POST", "workflows/import", {"path": str(path)})

    def delete(self, workflow_id: str) -> None:
        self._http.call("DELETE", f"workflows/{_q(workflow_id)}")

    def spec_schema(self) -> dict[str, Any]:
        return dict(self._http.call("GET", "schemas/workflow-spec"))


class RestCredentials(_Part):
    """``CredentialVault`` over REST (private keys go in, never come out)."""

    def generate(self, name: str, kind: str = "ed25519", bits: int | None = None,
                 comment: str | None = None) -> CredentialInfo:
        body: dict[str, Any] = {"name": name, "kind": kind}
        if bits is not None:
            body["bits"] = bits
        if comment is not None:
            body["comment"] = comment
        return credential_info(self._http.call("POST", "credentials", body))

    def import_key(self, name: str, private_key: str, passphrase: str | None = None,
                   certificate: str | None = None, comment: str | None = None
                   ) -> CredentialInfo:
        body = {"name": name, "private_key": private_key, "passphrase": passphrase,
                "certificate": certificate, "comment": comment}
        body = {k: v for k, v in body.items() if v is not None}
        return credential_info(self._http.call("POST", "credentials/import", body))

    def list(self) -> list[CredentialInfo]:
        return [credential_info(c) for c in self._http.call("GET", "credentials")["items"]]

    def get(self, credential_id: str) -> CredentialInfo:
        return credential_info(self._http.call("GET", f"credentials/{_q(credential_id)}"))

    def delete(self, credential_id: str) -> None:
        self._http.call("DELETE", f"credentials/{_q(credential_id)}")


class RestExecutions(_Part):
    """Execution store + local executor over REST."""

    poll_interval = 0.5

    def trigger(self, workflow_id: str, inputs: Mapping[str, Any] | None = None,
                site: str | Mapping[str, str] = LOCAL_SITE,
                credential_id: str | None = None, *,
                password: str | None = None, one_time_code: str | None = None) -> Execution:
        """``password`` / ``one_time_code``: for a site whose login asks (sent once, over
        the server's connection to the site; never stored)."""
        body: dict[str, Any] = {"inputs": dict(inputs or {}),
                                "site": site if isinstance(site, str) else dict(site)}
        if credential_id is not None:
            body["credential_id"] = credential_id
        if password is not None:
            body["password"] = password
        if one_time_code is not None:
            body["otp"] = one_time_code
        return Execution.model_validate(
            self._http.call("POST", f"workflows/{_q(workflow_id)}/executions", body))

    def get(self, execution_id: str) -> Execution:
        return Execution.model_validate(self._http.call("GET",
                                                        f"executions/{_q(execution_id)}"))

    def list(self, state: str | list[str] | None = None, workflow_id: str | None = None,
             site: str | None = None, limit: int = 50, offset: int = 0) -> Page[Execution]:
        states = [state] if isinstance(state, str) else state
        body = self._http.call("GET", "executions", params={
            "state": states, "workflow_id": workflow_id, "site": site, "limit": limit,
            "offset": offset})
        return _page(body, [Execution.model_validate(e) for e in body["items"]])

    def cancel(self, execution_id: str) -> Execution:
        return Execution.model_validate(self._http.call("DELETE",
                                                        f"executions/{_q(execution_id)}"))

    def checkpoint_tasks(self, execution_id: str) -> int:
        return int(self._http.call("GET", f"executions/{_q(execution_id)}/checkpoint")["tasks"])

    def resume(self, execution_id: str, *, password: str | None = None,
               one_time_code: str | None = None) -> Execution:
        body = {k: v for k, v in (("password", password), ("otp", one_time_code)) if v}
        return Execution.model_validate(
            self._http.call("POST", f"executions/{_q(execution_id)}/resume", body))

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None, step: str | None = None) -> tuple[str, int]:
        """Output from byte ``offset`` and the offset to ask next (incremental);
        ``step``: one step of a step graph, live (without it, the finished steps')."""
        body = self._http.call("GET", f"executions/{_q(execution_id)}/logs",
                               params={"offset": offset, "size": size, "step": step})
        return body["text"], body["next_offset"]

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        return self._http.call("GET", f"executions/{_q(execution_id)}/events",
                               params={"from_seq": from_seq})

    def steps(self, execution_id: str) -> list[dict[str, Any]]:
        """Each step: name, site, depends_on, state, execution_id, job_id, error."""
        return list(self._http.call("GET", f"executions/{_q(execution_id)}/steps")["items"])

    def wait(self, execution_id: str, timeout: float) -> Execution:
        """The execution once finished, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get(execution_id)
            if execution.finished or time.monotonic() >= deadline:
                return execution
            time.sleep(self.poll_interval)

    def follow(self, execution_id: str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
        """Every event after ``from_seq`` as it happens, until the run has ended.

        Reads the server-sent-events stream (the server ends it once the run is
        finished); a dropped connection resumes from the last sequence number, so
        no event is lost or repeated.
        """
        last = from_seq
        while True:
            try:
                for event in self._stream(execution_id, last):
                    seq = event.get("seq")
                    if isinstance(seq, int):
                        if seq <= last:
                            continue
                        last = seq
                    yield event
            except (OSError, ClientError) as exc:
                if isinstance(exc, ClientError) and exc.status is not None:
                    raise
                time.sleep(self.poll_interval)  # connection dropped: resume below
            execution = self.get(execution_id)
            if execution.finished:
                for event in self.events(execution_id, from_seq=last):  # stragglers
                    last = max(last, int(event.get("seq") or last))
                    yield event
                return

    def follower(self, execution_id: str, from_seq: int = 0) -> Follower:
        """A follower to poll (``poll()``, ``done``, ``latest``), one request or two a poll
        (for widgets polling on their own clock; ``follow`` streams instead)."""
        self.get(execution_id)
        return RestFollower(self, execution_id, from_seq)

    def _stream(self, execution_id: str, from_seq: int) -> Iterator[dict[str, Any]]:
        # The server sends a keep-alive comment every 15 s: a read timeout above it
        # means the connection is dead, not that the run is quiet.
        response = self._http.open("GET", f"executions/{_q(execution_id)}/events/stream",
                                   params={"from_seq": from_seq},
                                   headers={"Accept": "text/event-stream"}, timeout=60)
        with response:
            data: list[str] = []
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        yield json.loads("\n".join(data))
                        data = []
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
            if data:
                yield json.loads("\n".join(data))


class RestFollower(Follower):
    """An execution's events over the REST API: its state, then the events after the last."""

    def __init__(self, executions: RestExecutions, execution_id: str, from_seq: int) -> None:
        super().__init__(from_seq)
        self._executions = executions
        self.execution_id = execution_id

    def _state(self) -> Execution:
        return self._executions.get(self.execution_id)

    def _read(self) -> list[dict[str, Any]]:
        return self._executions.events(self.execution_id, from_seq=self.last_seq)


class EflowsClient:
    """The eflows services of a Jupyter server, over its REST API.

    ``url`` is the server's address including its base URL (``http://host:8888/``,
    ``https://hub.example.org/user/alice/``); a ``?token=`` in it is used when no
    ``token`` is given. ``verify=False`` accepts a self-signed HTTPS certificate.
    """

    def __init__(self, url: str, token: str | None = None, *, verify: bool = True,
                 timeout: float = 30.0) -> None:
        self._http = Transport(url, token, verify, timeout)
        self.workflows = RestWorkflows(self._http)
        self.credentials = RestCredentials(self._http)
        self.executions = RestExecutions(self._http)
        self.sites = RestSites(self._http)
        self.runs = RestRuns(self._http)
        self.data = RestData(self._http)

    @property
    def url(self) -> str:
        return self._http.base_url

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.url!r})"

    def status(self) -> dict[str, Any]:
        """The extension's status (version, engine): a cheap "is it there" check."""
        return self._http.call("GET", "status")

    def close(self) -> None:
        """Nothing to release (one connection per request); here for ``LocalClient`` parity."""

    def __enter__(self) -> EflowsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["EflowsClient", "credential_info", "split_url"]
