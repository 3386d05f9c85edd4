"""The once-per-key gate: the outcome and its result row commit in one transaction, and the vendor's
answer is made durable even when the row cannot be written."""

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_adapters import idempotency
from aws_adapters.idempotency import PowertoolsOnceGate, RowCommittingPersistenceLayer
from aws_adapters.result_rows import DynamoResultStore
from messaging.errors import TransientError
from messaging.lifecycle import RANK_SEND_OUTCOME, Status
from messaging.rows import ResultRow

ROW = ResultRow("k", Status.SENT, RANK_SEND_OUTCOME, datetime(2026, 1, 1, tzinfo=UTC), "m1", 1, message_id="TMID-1")


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException"},
            "CancellationReasons": [{"Code": code} for code in codes],
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },  # type: ignore[typeddict-item]
        "TransactWriteItems",
    )


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")  # type: ignore[typeddict-item]


class FakeDynamo:
    """Records the calls Powertools and the layer make; fails the transaction as scripted."""

    def __init__(self, failures: list[Exception], update_failure: Exception | None = None) -> None:
        self.failures = failures
        self.update_failure = update_failure
        self.calls: list[tuple[str, Any]] = []

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("put", request))
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(("transact", TransactItems))
        if self.failures:
            raise self.failures.pop(0)
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("update", request))
        if self.update_failure is not None:
            raise self.update_failure
        return {}

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


def run(dynamo: FakeDynamo) -> Any:
    layer = RowCommittingPersistenceLayer("idem", dynamo, DynamoResultStore("messages", dynamo, 90))
    return PowertoolsOnceGate(layer).run("k", {"Body": "x"}, lambda: ROW)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency.time, "sleep", lambda _: None)


def test_outcome_and_row_commit_in_one_transaction() -> None:
    dynamo = FakeDynamo([])
    once = run(dynamo)
    assert once.ran_now
    assert once.row_written
    assert once.row == ROW
    assert dynamo.kinds() == ["put", "transact"]  # in-progress, then outcome + row together
    _, items = dynamo.calls[1]
    assert items[0]["Update"]["TableName"] == "idem"
    assert items[0]["Update"]["ExpressionAttributeValues"][":status"] == {"S": "COMPLETED"}
    assert items[1]["Put"]["TableName"] == "messages"
    assert items[1]["Put"]["Item"]["RequestId"] == {"S": "k"}
    assert items[1]["Put"]["Item"]["MessageId"] == {"S": "TMID-1"}


def test_the_stored_outcome_holds_the_row_for_a_replay() -> None:
    dynamo = FakeDynamo([])
    run(dynamo)
    _, items = dynamo.calls[1]
    stored = items[0]["Update"]["ExpressionAttributeValues"][":response_data"]["S"]
    assert '"message_id": "TMID-1"' in stored


def test_an_existing_row_still_completes_the_idempotency_record() -> None:
    dynamo = FakeDynamo([cancelled("None", "ConditionalCheckFailed")])
    once = run(dynamo)
    assert not once.row_written  # the caller's store replaces the older state itself
    assert dynamo.kinds() == ["put", "transact", "update"]


def test_conflicts_are_retried_because_the_message_is_already_sent() -> None:
    dynamo = FakeDynamo([cancelled("TransactionConflict", "None")] * 3)
    assert run(dynamo).row_written
    assert dynamo.kinds() == ["put"] + ["transact"] * 4


@pytest.mark.parametrize(
    "failure",
    [
        cancelled("None", "ValidationError"),
        client_error("ResourceNotFoundException"),
        client_error("AccessDeniedException"),
    ],
)
def test_a_failing_messages_table_still_makes_the_send_durable(failure: ClientError) -> None:
    """Defect: the row write failing left the idempotency record in progress; it expired and the retry sent again."""
    dynamo = FakeDynamo([failure])
    once = run(dynamo)
    assert once.ran_now
    assert not once.row_written
    assert dynamo.kinds() == ["put", "transact", "update"]
    _, completion = dynamo.calls[2]
    assert completion["TableName"] == "idem"
    assert completion["ExpressionAttributeValues"][":status"] == {"S": "COMPLETED"}


def test_when_the_idempotency_table_fails_too_the_record_is_retried() -> None:
    dynamo = FakeDynamo([client_error("InternalServerError", 500)] * 5, update_failure=client_error("Throttling"))
    with pytest.raises(TransientError):
        run(dynamo)
