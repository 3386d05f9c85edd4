"""The transaction that commits an outcome together with its result row."""

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sender import idempotency
from sender.idempotency import PendingRow, RowCommittingClient, pending_row
from sender.results import RANK_SEND_OUTCOME, DynamoResultStore, ResultRow, Status

ROW = ResultRow("k", Status.SENT, RANK_SEND_OUTCOME, datetime(2026, 1, 1, tzinfo=UTC), "m1", 1, message_id="TMID-1")
IDEMPOTENCY_UPDATE = {"TableName": "idem", "Key": {"id": {"S": "x"}}, "UpdateExpression": "SET #s = :s"}


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException"},
            "CancellationReasons": [{"Code": code} for code in codes],
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },  # type: ignore[typeddict-item]
        "TransactWriteItems",
    )


class FakeDynamo:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls: list[tuple[str, Any]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(("transact", TransactItems))
        if self.failures:
            raise self.failures.pop(0)
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("update", request))
        return {}


def commit(dynamo: FakeDynamo, row: ResultRow | None = ROW) -> PendingRow:
    client = RowCommittingClient(dynamo, DynamoResultStore("messages", dynamo, 90))
    staged = PendingRow(row)
    token = pending_row.set(staged)
    try:
        client.update_item(**IDEMPOTENCY_UPDATE)
    finally:
        pending_row.reset(token)
    return staged


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency.time, "sleep", lambda _: None)


def test_outcome_and_row_commit_in_one_transaction() -> None:
    dynamo = FakeDynamo([])
    assert commit(dynamo).written
    ((kind, items),) = dynamo.calls
    assert kind == "transact"
    assert items[0]["Update"] == IDEMPOTENCY_UPDATE
    assert items[1]["Put"]["TableName"] == "messages"
    assert items[1]["Put"]["Item"]["RequestId"] == {"S": "k"}
    assert items[1]["Put"]["Item"]["MessageId"] == {"S": "TMID-1"}


def test_without_a_pending_row_it_is_a_plain_update() -> None:
    dynamo = FakeDynamo([])
    commit(dynamo, row=None)
    assert [kind for kind, _ in dynamo.calls] == ["update"]


def test_a_newer_row_state_still_completes_the_idempotency_record() -> None:
    dynamo = FakeDynamo([cancelled("None", "ConditionalCheckFailed")])
    assert commit(dynamo).written
    assert [kind for kind, _ in dynamo.calls] == ["transact", "update"]


def test_conflicts_are_retried_because_the_message_is_already_sent() -> None:
    dynamo = FakeDynamo([cancelled("TransactionConflict", "None")] * 3)
    assert commit(dynamo).written
    assert [kind for kind, _ in dynamo.calls] == ["transact"] * 4


def test_a_non_retryable_failure_is_raised() -> None:
    dynamo = FakeDynamo([cancelled("ValidationError", "None")])
    with pytest.raises(ClientError):
        commit(dynamo)
