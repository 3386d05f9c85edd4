"""Result rows in DynamoDB (DESIGN.md section 3), written under the lifecycle rule as a condition."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from messaging.errors import TransientError, TransientKind
from messaging.names import MESSAGES_PARTITION_KEY
from messaging.rows import ResultRow

_serializer = TypeSerializer()
# The lifecycle rule (messaging.lifecycle.may_replace) as a DynamoDB condition.
NEWER_STATE_CONDITION = "#rank < :rank OR (#rank = :rank AND #updated < :updated)"


def _serialized(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


class DynamoResultStore:
    def __init__(self, table_name: str, client: Any, ttl_days: int) -> None:
        self._table = table_name
        self._client = client
        self._ttl_days = ttl_days

    def put_new_request(self, row: ResultRow) -> dict[str, Any]:
        """The PutItem that creates the row when it does not exist yet (alone or in a transaction).

        A fresh request has no row, so this is the common case: one request, no read.
        """
        return {
            "TableName": self._table,
            "Item": {
                MESSAGES_PARTITION_KEY: {"S": row.request_id},
                **_serialized(row.attribute_values(self._ttl_days)),
            },
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": MESSAGES_PARTITION_KEY},
        }

    def replace_request(self, row: ResultRow) -> dict[str, Any]:
        """The UpdateItem that replaces an older state whole: every attribute of the new state is set,
        every other one removed (no stale ErrorCode lingers), and CreatedAt keeps the first write's time."""
        values_by_name = row.attribute_values(self._ttl_days)
        attributes = _serialized(values_by_name)
        created = attributes.pop("CreatedAt")
        names = {"#rank": "StatusRank", "#updated": "UpdatedAt", "#created": "CreatedAt"}
        values: dict[str, Any] = {":created": created}
        sets = ["#created = if_not_exists(#created, :created)"]
        for index, (name, value) in enumerate(sorted(attributes.items())):
            names[f"#a{index}"] = name
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        values[":rank"] = attributes["StatusRank"]
        values[":updated"] = attributes["UpdatedAt"]
        removed = sorted(name for name, value in values_by_name.items() if value is None)
        for index, name in enumerate(removed):
            names[f"#r{index}"] = name
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removed)))
        return {
            "TableName": self._table,
            "Key": {MESSAGES_PARTITION_KEY: {"S": row.request_id}},
            "UpdateExpression": expression,
            "ConditionExpression": NEWER_STATE_CONDITION,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def record(self, row: ResultRow) -> bool:
        try:
            try:
                self._client.put_item(**self.put_new_request(row))
                return True
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            try:
                self._client.update_item(**self.replace_request(row))
                return True
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    return False  # a newer state is recorded
                raise
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"writing the result row failed: {_describe(exc)}") from None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))


def _describe(exc: Exception) -> str:
    return _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
