"""The DynamoDB row store against moto server: the lifecycle rule as a condition, CreatedAt kept."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aws_adapters.result_rows import DynamoResultStore
from messaging.lifecycle import RANK_FINAL, RANK_INPUT_REJECTED, RANK_SEND_OUTCOME, Status
from messaging.rows import ResultRow
from tests.integration.helpers import Stack

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def rejected(at: datetime) -> ResultRow:
    return ResultRow(
        "key-1", Status.REJECTED, RANK_INPUT_REJECTED, at, "m1", 1, error_code="VALIDATION_ERROR", error_message="bad"
    )


def sent(at: datetime) -> ResultRow:
    return ResultRow(
        "key-1", Status.SENT, RANK_SEND_OUTCOME, at, "m2", 2, to=("+18015737111",), message_id="TMID-1",
        cost=Decimal("0.0045"),
    )  # fmt: skip


def test_a_send_replaces_an_input_rejection_whole_and_keeps_created_at(stack: Stack) -> None:
    store = DynamoResultStore(stack.world.messages_table, stack.world.client("dynamodb"), ttl_days=90)
    assert store.record(rejected(T0))
    assert store.record(sent(T0 + timedelta(minutes=5)))
    row = stack.rows()["key-1"]
    assert row["Status"] == "SENT"
    assert row["MessageId"] == "TMID-1"
    assert row["CreatedAt"] == "2026-12-01T12:00:00.000Z"  # the first write's time
    assert row["CreatedDay"] == "2026-12-01"
    assert row["UpdatedAt"] == "2026-12-01T12:05:00.000Z"
    assert "ErrorCode" not in row  # nothing of the older state lingers
    assert "ErrorMessage" not in row


def test_an_older_or_lower_state_never_replaces_a_newer_one(stack: Stack) -> None:
    store = DynamoResultStore(stack.world.messages_table, stack.world.client("dynamodb"), ttl_days=90)
    assert store.record(sent(T0))
    assert not store.record(rejected(T0 + timedelta(hours=1)))  # input rejection never hides a send
    assert not store.record(sent(T0 - timedelta(minutes=1)))  # a late retry with an older decision
    final = ResultRow("key-1", Status.DELIVERED, RANK_FINAL, T0 + timedelta(hours=2), "m2", 2, message_id="TMID-1")
    assert store.record(final)
    assert not store.record(sent(T0 + timedelta(hours=3)))
    assert stack.rows()["key-1"]["Status"] == "DELIVERED"


def test_created_day_follows_the_kept_created_at_across_midnight(stack: Stack) -> None:
    """A row created before midnight and replaced after it stays in the by-day index under its first day."""
    store = DynamoResultStore(stack.world.messages_table, stack.world.client("dynamodb"), ttl_days=90)
    before_midnight = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)
    assert store.record(rejected(before_midnight))
    assert store.record(sent(before_midnight + timedelta(minutes=1)))
    row = stack.rows()["key-1"]
    assert (row["Status"], row["CreatedAt"], row["CreatedDay"]) == ("SENT", "2026-12-01T23:59:30.000Z", "2026-12-01")
    found = stack.world.client("dynamodb").query(
        TableName=stack.world.messages_table,
        IndexName="CreatedDayIndex",
        KeyConditionExpression="CreatedDay = :day",
        ExpressionAttributeValues={":day": {"S": "2026-12-01"}},
    )["Items"]
    assert [(item["RequestId"]["S"], item["Status"]["S"]) for item in found] == [("key-1", "SENT")]
