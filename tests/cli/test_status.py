"""`status ID`: by RequestId, by MessageId, unknown id, no stack, credentials problems."""

from __future__ import annotations

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
