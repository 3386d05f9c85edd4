"""`stats`: from the CreatedDayIndex query (never a scan), over rows the real sender and poller wrote."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.cli.stats import BY_DAY_INDEX
from infra.local.lambda_context import FakeLambdaContext
from infra.local.status_tracking import provision_tracking
from messaging import names
from messaging.rows import created_day, iso, now_utc, parse_iso
from status_poller import handler as poller_handler
from status_poller.wiring import reset_dependencies as reset_poller
from tests.cli.conftest import Operator, one_line_error
from tests.integration.helpers import sms


@pytest.fixture
def polled(operator: Operator) -> Iterator[Operator]:
    """The operator's world with status tracking, rows due for their first poll as soon as they are sent."""
    tracking = provision_tracking(operator.world)
    for name, value in tracking.env().items():
        operator.env.monkeypatch.setenv(name, value)
    operator.env.configure(STATUS_POLL_AFTER_MINUTES="0")
    reset_poller()
    yield operator
    reset_poller()


def poll() -> dict[str, Any]:
    reset_poller()
    result: dict[str, Any] = poller_handler.handler({}, FakeLambdaContext("status-poller", timeout_seconds=60))
    return result


def test_stats_counts_what_the_sender_and_the_poller_wrote(polled: Operator) -> None:
    env = polled.env
    env.send(sms("s-delivered"), sms("s-failed"), sms("s-sent"), sms("s-rejected", From="not-a-number"))
    env.drain()
    rows = env.rows()
    env.sandbox.set_message_status(rows["s-delivered"]["MessageId"], "Delivered")
    env.sandbox.set_message_status(rows["s-failed"]["MessageId"], "Failed")
    assert poll()["foundFinal"] == 2
    rows = env.rows()
    assert {key: row["Status"] for key, row in rows.items()} == {
        "s-delivered": "DELIVERED",
        "s-failed": "FAILED",
        "s-sent": "SENT",
        "s-rejected": "REJECTED",
    }
    # Every row the sender wrote is in the by-day index under the UTC day of its CreatedAt.
    assert all(row["CreatedDay"] == created_day(parse_iso(row["CreatedAt"])) for row in rows.values())

    stats = polled.json("stats", "--since", "1h")
    assert stats["Total"] == 4
    assert stats["ByStatus"] == {"DELIVERED": 1, "FAILED": 1, "REJECTED": 1, "SENT": 1}
    assert stats["DeliveryRate"] == round(1 / 3, 4)  # DELIVERED among the three that reached Telegent
    sent_costs = [Decimal(str(row["Cost"])) for row in rows.values() if "Cost" in row]
    assert len(sent_costs) == 3
    assert Decimal(stats["Cost"]) == sum(sent_costs) == Decimal("0.0135")
    assert stats["Segments"] == sum(int(row.get("Segments", 0)) for row in rows.values())

    people = polled.run("stats", "--since", "1h")
    assert people.exit_code == 0, people.output
    assert "4 request(s) created since" in people.stdout
    assert "delivery rate: 33.3%  cost: 0.0135" in people.stdout


def put(operator: Operator, key: str, status: str, age: timedelta, cost: str | None = None, segments: int = 1) -> None:
    """A row as the sender stores it (CreatedDay with CreatedAt), created `age` ago."""
    created = now_utc() - age
    item: dict[str, Any] = {
        "RequestId": key,
        "Status": status,
        names.MESSAGES_CREATED_AT_ATTRIBUTE: iso(created),
        names.MESSAGES_CREATED_DAY_ATTRIBUTE: created_day(created),
        "Segments": segments,
    }
    if cost:
        item["Cost"] = Decimal(cost)
    operator.world.resource("dynamodb").Table(operator.world.messages_table).put_item(Item=item)


def test_stats_counts_the_window_only(operator: Operator) -> None:
    put(operator, "a", "DELIVERED", timedelta(minutes=5), "0.0045", 2)
    put(operator, "b", "DELIVERED", timedelta(minutes=10), "0.0045")
    put(operator, "c", "FAILED", timedelta(minutes=20), "0.0045")
    put(operator, "d", "SENT", timedelta(minutes=30), "0.0045")
    put(operator, "e", "REJECTED", timedelta(minutes=40))
    put(operator, "DRYRUN#f", "DRY_RUN", timedelta(minutes=1))
    put(operator, "old", "DELIVERED", timedelta(hours=3), "1")
    put(operator, "yesterday", "DELIVERED", timedelta(hours=30), "1", 3)  # another day's partition

    stats = operator.json("stats", "--since", "1h")
    assert stats["Total"] == 5
    assert stats["ByStatus"] == {"DELIVERED": 2, "FAILED": 1, "REJECTED": 1, "SENT": 1}
    assert stats["DeliveryRate"] == 0.5
    assert Decimal(stats["Cost"]) == Decimal("0.0180")
    assert stats["Segments"] == 6
    assert operator.json("stats", "--since", "4h")["Total"] == 6
    two_days = operator.json("stats", "--since", "2d")
    assert (two_days["Total"], two_days["ByStatus"]["DELIVERED"], two_days["Segments"]) == (7, 4, 10)
    since = iso(now_utc() - timedelta(hours=31))
    assert operator.json("stats", "--since", since)["Total"] == 7

    table_output = operator.run("stats", "--since", "1h")
    assert table_output.exit_code == 0
    assert "delivery rate: 50.0%" in table_output.stdout


def test_an_empty_window_has_no_delivery_rate(operator: Operator) -> None:
    stats = operator.json("stats")
    assert (stats["Total"], stats["ByStatus"], stats["DeliveryRate"], stats["Cost"]) == (0, {}, None, "0")
    assert "delivery rate: -" in operator.run("stats").stdout


def test_a_table_without_the_by_day_index_is_not_scanned(operator: Operator) -> None:
    name = f"{operator.world.prefix}-messages-old"
    operator.world.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "RequestId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "RequestId", "KeyType": "HASH"}],
    )
    old_stack = operator.with_outputs(f"{operator.stack_name}-old", MessagesTableName=name)
    result = old_stack.run("stats", "--since", "1h")
    assert result.exit_code == 1
    assert f"stats needs the {BY_DAY_INDEX} index" in one_line_error(result)


def test_bad_since_is_bad_usage(operator: Operator) -> None:
    assert operator.run("stats", "--since", "yesterday").exit_code == 2
    assert operator.run("stats", "--since", "2026-12-01T10:00").exit_code == 2  # no offset
    assert operator.run("stats", "--since", "40d").exit_code == 2
