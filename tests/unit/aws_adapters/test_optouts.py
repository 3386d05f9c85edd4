"""The opt-out table adapter: BatchGetItem in 100-key chunks with UnprocessedKeys asked again, and
conditional add/remove so an older keyword never undoes a newer one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_adapters.optouts import DynamoOptOutStore
from messaging.errors import TransientError
from messaging.ports import OptOut

TABLE = "optouts"


class FakeDynamo:
    """batch_get_item / put_item / delete_item on one table; `unprocessed` keys are left over once each."""

    def __init__(self, numbers: set[str], unprocessed: int = 0) -> None:
        self.items: dict[str, dict[str, Any]] = {
            n: {"Number": {"S": n}, "OptedOutAt": {"S": "2026-01-01T00:00:00.000Z"}} for n in numbers
        }
        self.unprocessed = unprocessed
        self.batch_requests: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        request = RequestItems[TABLE]
        assert request["ConsistentRead"] is True
        keys = request["Keys"]
        assert len(keys) <= 100
        self.batch_requests.append(len(keys))
        left, keys = keys[: self.unprocessed], keys[self.unprocessed :]
        self.unprocessed = 0
        found = [{"Number": k["Number"]} for k in keys if k["Number"]["S"] in self.items]
        response: dict[str, Any] = {"Responses": {TABLE: found}}
        if left:
            response["UnprocessedKeys"] = {TABLE: {**request, "Keys": left}}
        return response

    def _newer(self, number: str, at: str) -> bool:
        return number in self.items and self.items[number]["OptedOutAt"]["S"] > at

    def put_item(self, TableName: str, Item: dict[str, Any], **kwargs: Any) -> None:
        number, at = Item["Number"]["S"], Item["OptedOutAt"]["S"]
        if self._newer(number, at):
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
        self.items[number] = Item

    def delete_item(self, TableName: str, Key: dict[str, Any], **kwargs: Any) -> None:
        number, at = Key["Number"]["S"], kwargs["ExpressionAttributeValues"][":at"]["S"]
        if number not in self.items or self._newer(number, at):
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "DeleteItem")
        del self.items[number]


def store(client: FakeDynamo) -> DynamoOptOutStore:
    return DynamoOptOutStore(TABLE, client, sleep=lambda seconds: None)


def test_one_request_for_up_to_100_numbers() -> None:
    client = FakeDynamo({"+18015550003", "+18015550007"})
    numbers = [f"+1801555{i:04d}" for i in range(10)]
    assert store(client).opted_out(numbers) == {"+18015550003", "+18015550007"}
    assert client.batch_requests == [10]


def test_more_than_100_numbers_are_read_in_chunks_of_100() -> None:
    numbers = [f"+1801555{i:04d}" for i in range(250)]
    client = FakeDynamo({numbers[0], numbers[150], numbers[249]})
    assert store(client).opted_out(numbers) == {numbers[0], numbers[150], numbers[249]}
    assert client.batch_requests == [100, 100, 50]


def test_unprocessed_keys_are_asked_again() -> None:
    numbers = [f"+1801555{i:04d}" for i in range(10)]
    client = FakeDynamo({numbers[0], numbers[9]}, unprocessed=4)
    assert store(client).opted_out(numbers) == {numbers[0], numbers[9]}
    assert client.batch_requests == [10, 4]


def test_keys_left_unprocessed_for_ever_are_a_transient_error() -> None:
    class Stubborn(FakeDynamo):
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.unprocessed = 1
            return super().batch_get_item(RequestItems)

    client = Stubborn(set())
    with pytest.raises(TransientError, match="unprocessed"):
        store(client).opted_out(["+18015550001"])
    assert len(client.batch_requests) == 6


def test_an_older_keyword_never_undoes_a_newer_one() -> None:
    client = FakeDynamo(set())
    optouts = store(client)
    stop_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert optouts.add(OptOut("+18015550001", stop_at, "keyword", "STOP"))
    item = client.items["+18015550001"]
    assert (item["OptedOutAt"]["S"], item["Source"]["S"], item["Keyword"]["S"]) == (
        "2026-03-01T12:00:00.000Z",
        "keyword",
        "STOP",
    )
    assert not optouts.remove("+18015550001", datetime(2026, 3, 1, 11, 59, tzinfo=UTC))  # a START sent before
    assert not optouts.add(OptOut("+18015550001", datetime(2026, 2, 1, tzinfo=UTC), "keyword", "END"))
    assert client.items["+18015550001"]["Keyword"]["S"] == "STOP"
    assert optouts.remove("+18015550001", datetime(2026, 3, 1, 12, 5, tzinfo=UTC))
    assert client.items == {}
    assert not optouts.remove("+18015550001", datetime(2026, 3, 1, 12, 6, tzinfo=UTC))  # not opted out


def test_other_failures_are_transient() -> None:
    class Broken(FakeDynamo):
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "BatchGetItem")

    with pytest.raises(TransientError, match="ResourceNotFoundException"):
        store(Broken(set())).opted_out(["+18015550001"])
