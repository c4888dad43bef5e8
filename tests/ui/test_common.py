"""Error helpers: field errors from either client, secrets never shown."""

from __future__ import annotations

from eflows_kernel.client import ClientError
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.workflows import InputValidationError
from eflows_kernel.ui.common import MessageArea, error_message, field_errors, guarded


def test_field_errors_from_local_rest_and_validation_errors() -> None:
    assert field_errors(ValidationError("bad", fields={"n": "must be an integer"})) == {
        "n": "must be an integer"}
    assert field_errors(ValidationError("bad", errors={"inputs.n": "x", "site": "y"})) == {
        "n": "x", "site": "y"}  # the REST API's 400 body
    assert field_errors(InputValidationError({"m": "required"})) == {"m": "required"}
    assert field_errors(RuntimeError("x")) == {}


def test_guarded_shows_errors_without_secrets() -> None:
    area = MessageArea()

    def fail(password: str) -> None:
        raise ClientError(f"refused password {password}")

    assert guarded(area, fail, "pa55word", secrets=["pa55word", None, ""]) == (False, None)
    assert area.kind == "error" and "***" in area.text and "pa55word" not in area.value
    assert error_message(KeyError("k")) == "KeyError: 'k'"
    assert guarded(area, lambda: 3) == (True, 3)
