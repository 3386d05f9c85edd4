"""Tolerant reading of vendor answers: a Cost is stored safely or dropped with a log line (issue 8, defect 2)."""

import logging
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from telegent.reading import parse_cost


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "$Infinity",
        "1e400",
        "-1e400",
        "1e-400",
        "1" * 200,
        float("nan"),
        float("inf"),
        1e308 * 10,
        10**400,
        "12" * 3000,
        "free",
        "$",
        [],
        {"amount": 1},
    ],
)
def test_costs_dynamodb_cannot_hold_are_dropped_with_a_log_line(value: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="telegent.reading"):
        assert parse_cost(value) is None
    assert any("Cost" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("value", "cost"),
    [
        ("$0.0045", Decimal("0.0045")),
        (0.0045, Decimal("0.0045")),
        (3, Decimal(3)),
        ("$1,000.50", Decimal("1000.50")),
        (" 0.01 ", Decimal("0.01")),
        ("0." + "3" * 60, Decimal("0." + "3" * 38)),  # more than 38 digits: rounded, not refused
    ],
)
def test_readable_costs_are_kept_and_always_serialisable(value: Any, cost: Decimal) -> None:
    parsed = parse_cost(value)
    assert parsed == cost
    TypeSerializer().serialize(parsed)  # DynamoDB's own limits


def test_no_cost_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="telegent.reading"):
        assert parse_cost(None) is None
        assert parse_cost(True) is None
    assert caplog.records == []
