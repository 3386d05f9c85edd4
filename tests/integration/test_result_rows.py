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
