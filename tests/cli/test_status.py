"""`status ID`: by RequestId, by MessageId, unknown id, no stack, credentials problems."""

from __future__ import annotations

import json

import pytest

from infra.cli.main import app
from tests.cli.conftest import Operator, one_line_error
from tests.integration.helpers import sms


def test_status_finds_a_sent_message_by_request_id_and_by_message_id(operator: Operator) -> None:
    operator.env.send(sms("order-1"))
    operator.env.drain()

    by_key = operator.json("status", "order-1")
    assert by_key["RequestId"] == "order-1"
    assert by_key["Status"] == "SENT"
    assert by_key["MessageId"].startswith("TMID-")
    assert operator.json("status", by_key["MessageId"]) == by_key

    table = operator.run("status", "order-1")
    assert table.exit_code == 0
    assert "order-1: SENT" in table.stdout
    assert by_key["MessageId"] in table.stdout


def test_status_of_an_unknown_id_exits_1_with_one_line(operator: Operator) -> None:
    result = operator.run("status", "no-such-request")
    assert result.exit_code == 1
    assert "no message with RequestId or MessageId 'no-such-request'" in one_line_error(result)


def test_a_missing_stack_exits_1_with_one_line(operator: Operator) -> None:
    result = operator.runner.invoke(app, ["--stack", "NoSuchStack", "status", "x"])
    assert result.exit_code == 1
    assert "stack 'NoSuchStack' not found" in one_line_error(result)


def test_a_credentials_problem_exits_1_with_one_line(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = operator.run("status", "x")
    assert result.exit_code == 1
    assert "no-such-profile" in one_line_error(result)


def test_bad_usage_exits_2(operator: Operator) -> None:
    assert operator.run("status").exit_code == 2
    assert operator.run("no-such-command").exit_code == 2


# --live: GET /message/details with the stack's vendor credentials, at the sender's TELEGENT_BASE_URL.


def test_live_asks_telegent_at_the_senders_base_url(operator: Operator) -> None:
    operator.env.send(sms("order-live"))
    operator.env.drain()
    live_stack = operator.with_sender_function(f"{operator.stack_name}-live")
    sandbox = operator.env.sandbox

    queued = live_stack.json("status", "order-live", "--live")
    assert queued["Status"] == "SENT"
    assert queued["Live"] == {
        "MessageId": queued["MessageId"],
        "VendorStatus": "Queued",
        "Status": "SENT",
        "StatusAt": None,
        "RowStatus": "SENT",
        "BaseUrl": sandbox.base_url,
    }
    # The token was asked for the bare details URL with the stack's vendor secret.
    scopes = [token.get("body", {}).get("ApiEndpoint") for token in sandbox.token_requests()]
    assert scopes[-1] == f"{sandbox.base_url}/message/details"

    sandbox.set_message_status(queued["MessageId"], "Delivered")
    delivered = live_stack.run("status", queued["MessageId"], "--live")
    assert delivered.exit_code == 0, delivered.output
    assert "Telegent now: Delivered" in delivered.stdout
    assert "the row says SENT, Telegent says Delivered" in delivered.stdout
    assert "sandbox-secret" not in delivered.output
    assert "Live" not in operator.json("status", "order-live")


def test_live_without_a_sender_function_uses_the_telegent_base_url_output(operator: Operator) -> None:
    operator.env.send(sms("order-output"))
    operator.env.drain()
    with_output = operator.with_outputs(f"{operator.stack_name}-url", TelegentBaseUrl=operator.env.sandbox.base_url)
    assert with_output.json("status", "order-output", "--live")["Live"]["VendorStatus"] == "Queued"


def test_live_for_a_row_that_never_reached_telegent_shows_the_row_and_exits_1(operator: Operator) -> None:
    operator.env.send(sms("never-sent", From="not-a-number"))
    operator.env.drain()
    live_stack = operator.with_sender_function(f"{operator.stack_name}-rejected")
    before = len(operator.env.sandbox.requests())
    result = live_stack.run("status", "never-sent", "--live", "--json")
    assert result.exit_code == 1
    assert "never-sent has no MessageId (Status REJECTED): it never reached Telegent" in one_line_error(result)
    assert json.loads(result.stdout)["Live"] is None
    assert len(operator.env.sandbox.requests()) == before  # nothing asked


def test_live_for_a_message_telegent_does_not_know_exits_1(operator: Operator) -> None:
    operator.env.send(sms("forgotten"))
    operator.env.drain()
    operator.env.sandbox.reset()  # the vendor no longer knows the message
    live_stack = operator.with_sender_function(f"{operator.stack_name}-forgotten")
    result = live_stack.run("status", "forgotten", "--live")
    assert result.exit_code == 1
    assert "does not know MessageId TMID-" in one_line_error(result)
    assert "forgotten: SENT" in result.stdout  # the row is still shown


def test_live_when_telegent_does_not_answer_is_one_line(operator: Operator) -> None:
    operator.env.send(sms("busy"))
    operator.env.drain()
    live_stack = operator.with_sender_function(f"{operator.stack_name}-busy")
    operator.env.sandbox.add_fault("details", 503, count=1)
    result = live_stack.run("status", "busy", "--live")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "no usable answer from Telegent" in line
    assert "HTTP 503" in line


def test_live_with_a_broken_vendor_secret_names_it_without_its_value(operator: Operator) -> None:
    operator.env.send(sms("secretless"))
    operator.env.drain()
    live_stack = operator.with_sender_function(f"{operator.stack_name}-secret")
    operator.world.client("secretsmanager").put_secret_value(
        SecretId=operator.world.secret_arn, SecretString='{"AccountKey": "DID-sandbox", "Password": "hunter2"}'
    )
    result = live_stack.run("status", "secretless", "--live")
    assert result.exit_code == 1
    assert 'lacks non-empty "AccountKey" and "AccountSecret"' in one_line_error(result)
    assert "hunter2" not in result.output


def test_values_are_printed_as_they_are_never_as_markup(operator: Operator) -> None:
    """A vendor's or producer's text with Rich markup or emoji codes in it (it once raised MarkupError)."""
    text = "refused [/x] [bold]not bold[/bold] :secret: as sent"
    operator.world.resource("dynamodb").Table(operator.world.messages_table).put_item(
        Item={"RequestId": "odd-text", "Status": "REJECTED", "ErrorCode": "400", "ErrorMessage": text}
    )
    result = operator.run("status", "odd-text")
    assert result.exit_code == 0, result.output
    assert all(part in result.stdout for part in ("refused [/x]", "[bold]not bold[/bold]", ":secret: as sent"))
