"""Result rows in DynamoDB (DESIGN.md section 3), written under the lifecycle rule as a condition."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from aws_adapters.calls import error_code, failed
from messaging.names import MESSAGES_CREATED_AT_ATTRIBUTE, MESSAGES_CREATED_DAY_ATTRIBUTE, MESSAGES_PARTITION_KEY
from messaging.rows import DryRunRow, ResultRow, clipped
from observability import logger

_serializer = TypeSerializer()
REDUCED_ERROR_MESSAGE_MAX = 200
# The lifecycle rule (messaging.lifecycle.may_replace) as a DynamoDB condition.
NEWER_STATE_CONDITION = "#rank < :rank OR (#rank = :rank AND #updated < :updated)"


def _serialized(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values; one that DynamoDB cannot hold is left out (logged), never failing the row."""
    serialized: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        try:
            serialized[name] = _serializer.serialize(value)
        except (TypeError, ValueError, ArithmeticError) as exc:  # decimal traps are ArithmeticErrors
            logger.warning(
                "row attribute not storable; left out", extra={"attribute": name, "error": type(exc).__name__}
            )
    return serialized


def _reduced(row: ResultRow) -> ResultRow:
    """The row without anything the vendor or the producer chose, for a write DynamoDB refused."""
    return replace(
        row,
        campaign_id=None,
        message_type=None,
        message_id=None,
        vendor_status=None,
        cost=None,
        error_message=clipped(row.error_message, REDUCED_ERROR_MESSAGE_MAX),
    )


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
        every other one removed (no stale ErrorCode lingers), and CreatedAt keeps the first write's time.

        CreatedDay follows the kept CreatedAt (if_not_exists too), so a row stays in the by-day
        index under the day it was created whatever state replaces it."""
        values_by_name = row.attribute_values(self._ttl_days)
        attributes = _serialized(values_by_name)
        created = attributes.pop(MESSAGES_CREATED_AT_ATTRIBUTE)
        day = attributes.pop(MESSAGES_CREATED_DAY_ATTRIBUTE)
        names = {
            "#rank": "StatusRank",
            "#updated": "UpdatedAt",
            "#created": MESSAGES_CREATED_AT_ATTRIBUTE,
            "#day": MESSAGES_CREATED_DAY_ATTRIBUTE,
        }
        values: dict[str, Any] = {":created": created, ":day": day}
        sets = ["#created = if_not_exists(#created, :created)", "#day = if_not_exists(#day, :day)"]
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
                return self._write(row)
            except ClientError as exc:
                if error_code(exc) != "ValidationException":
                    raise
            # DynamoDB refused the item itself (a value it cannot hold): the outcome still gets a row.
            logger.warning(
                "result row refused by DynamoDB; written without the vendor's details",
                extra={"status": row.status.value},
            )
            return self._write(_reduced(row))
        except (ClientError, BotoCoreError) as exc:
            raise failed("writing the result row", exc) from None

    def record_dry_run(self, row: DryRunRow) -> None:
        """One PutItem under DRYRUN#<key>: a later dry run of the key replaces it; no real row is touched."""
        item = {MESSAGES_PARTITION_KEY: {"S": row.request_id}, **_serialized(row.attributes())}
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise failed("writing the dry-run row", exc) from None

    def status_of(self, key: str) -> str | None:
        """One consistent GetItem of the row's Status only."""
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key={MESSAGES_PARTITION_KEY: {"S": key}},
                ConsistentRead=True,
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "Status"},
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise failed("reading the result row", exc) from None
        status = (item or {}).get("Status", {}).get("S")
        return status if isinstance(status, str) else None

    def _write(self, row: ResultRow) -> bool:
        try:
            self._client.put_item(**self.put_new_request(row))
            return True
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        try:
            self._client.update_item(**self.replace_request(row))
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False  # a newer state is recorded
            raise
