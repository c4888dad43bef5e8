"""Error bodies as the waas client unmarshals them (api/errors.go: Errors{[]*Error{ID string,
Status int, Title string, Detail string}}), made from our own error bodies."""

from __future__ import annotations

import json

from eflows_extension.handlers.hpcwaas import hpcwaas_errors


def test_one_entry_per_faulty_field() -> None:
    body = hpcwaas_errors(400, {"message": "invalid request: ...",
                                "errors": {"inputs.vault_id": "no credential with id 'x'",
                                           "site": "no site named 'atlantis'"}})
    assert body == {"errors": [
        {"id": "bad_request", "status": 400, "title": "Bad Request",
         "detail": "inputs.vault_id: no credential with id 'x'",
         "source": {"parameter": "inputs.vault_id"}},
        {"id": "bad_request", "status": 400, "title": "Bad Request",
         "detail": "site: no site named 'atlantis'", "source": {"parameter": "site"}}]}


def test_a_message_becomes_the_detail() -> None:
    for status, error_id in ((404, "not_found"), (409, "conflict"), (403, "forbidden"),
                             (503, "service_unavailable"), (500, "internal_server_error")):
        body = hpcwaas_errors(status, {"message": "why", "id": "abc"})
        assert body == {"errors": [{"id": error_id, "status": status,
                                    "title": body["errors"][0]["title"], "detail": "why"}]}
        assert json.loads(json.dumps(body))["errors"][0]["status"] == status  # a number


def test_no_message_still_says_something() -> None:
    assert hpcwaas_errors(599, {})["errors"][0] == {"id": "error", "status": 599,
                                                    "title": "Error", "detail": "Error"}
