"""AWS errors translated: what we were doing and the AWS code, nothing of the request."""

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from aws_adapters.calls import CONDITION_FAILED, aws_call, aws_call_unless, error_code
from messaging.errors import TransientError, TransientKind


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Item {'Number': '+18015737111'}"}}, "PutItem")


def raising(exc: Exception) -> Any:
    def operation(**_: Any) -> Any:
        raise exc

    return operation


def test_a_successful_call_returns_its_answer() -> None:
    assert aws_call("reading", lambda **request: request, Key="k") == {"Key": "k"}
    assert aws_call_unless("writing", {CONDITION_FAILED}, lambda **_: None)


def test_an_expected_refusal_is_an_answer_not_an_error() -> None:
    assert not aws_call_unless("writing", {CONDITION_FAILED}, raising(client_error(CONDITION_FAILED)))


@pytest.mark.parametrize(
    ("exc", "code"),
    [(client_error("ResourceNotFoundException"), "ResourceNotFoundException"),
     (EndpointConnectionError(endpoint_url="https://dynamodb"), "EndpointConnectionError")],
)  # fmt: skip
def test_failures_become_dependency_errors_naming_the_step_and_code(exc: Exception, code: str) -> None:
    for call in (lambda: aws_call("reading opt-outs", raising(exc)),
                 lambda: aws_call_unless("reading opt-outs", {CONDITION_FAILED}, raising(exc))):  # fmt: skip
        with pytest.raises(TransientError) as caught:
            call()
        assert caught.value.kind == TransientKind.DEPENDENCY
        assert caught.value.message == f"reading opt-outs failed: {code}"
        assert "+1801" not in str(caught.value)  # the AWS message may quote the item
    assert error_code(exc) == code
