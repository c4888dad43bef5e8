"""``client.data``: data service logins and periodic transfers, in this process or over REST.

Both sides answer with the REST API's JSON shapes (a login without its secret; a
schedule with its last and next run), so a script reads them the same either way.
Secrets go in (``add_login``) and never come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eflows_kernel.client.transport import Transport
from eflows_kernel.client.transport import quote_segment as _q


class LocalData:
    """The data logistics of the services in this process."""

    def __init__(self, services: Any) -> None:
        self._services = services

    def add_login(self, name: str, kind: str, url: str, username: str = "", secret: str = "",
                  token: str = "", options: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._services.service_credentials.add(
            name, kind, url, username=username, secret=secret, token=token,
            options=dict(options or {})).to_dict()

    def logins(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self._services.service_credentials.list()]

    def delete_login(self, credential_id: str) -> None:
        self._services.service_credentials.delete(credential_id)

    def schedule(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return self._services.transfers.add(dict(spec)).to_dict()

    def schedules(self, execution_id: str | None = None) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self._services.transfers.list(execution_id)]

    def get_schedule(self, schedule_id: str) -> dict[str, Any]:
        return self._services.transfers.get(schedule_id).to_dict()

    def pause(self, schedule_id: str) -> dict[str, Any]:
        return self._services.transfers.pause(schedule_id).to_dict()

    def resume(self, schedule_id: str) -> dict[str, Any]:
        return self._services.transfers.resume(schedule_id).to_dict()

    def delete_schedule(self, schedule_id: str) -> None:
        self._services.transfers.delete(schedule_id)


class RestData:
    """The same over a Jupyter server's REST API."""

    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def add_login(self, name: str, kind: str, url: str, username: str = "", secret: str = "",
                  token: str = "", options: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._http.call("POST", "data-credentials", {
            "name": name, "kind": kind, "url": url, "username": username, "secret": secret,
            "token": token, "options": dict(options or {})})

    def logins(self) -> list[dict[str, Any]]:
        return self._http.call("GET", "data-credentials")["items"]

    def delete_login(self, credential_id: str) -> None:
        self._http.call("DELETE", f"data-credentials/{_q(credential_id)}")

    def schedule(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return self._http.call("POST", "transfers", dict(spec))

    def schedules(self, execution_id: str | None = None) -> list[dict[str, Any]]:
        params = {"execution_id": execution_id} if execution_id else None
        return self._http.call("GET", "transfers", params=params)["items"]

    def get_schedule(self, schedule_id: str) -> dict[str, Any]:
        return self._http.call("GET", f"transfers/{_q(schedule_id)}")

    def pause(self, schedule_id: str) -> dict[str, Any]:
        return self._http.call("POST", f"transfers/{_q(schedule_id)}/pause")

    def resume(self, schedule_id: str) -> dict[str, Any]:
        return self._http.call("POST", f"transfers/{_q(schedule_id)}/resume")

    def delete_schedule(self, schedule_id: str) -> None:
        self._http.call("DELETE", f"transfers/{_q(schedule_id)}")
