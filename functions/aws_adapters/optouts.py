"""The opt-out table in DynamoDB (DESIGN.md section 10): one item per opted-out number.

Item: `Number` (E.164, partition key), `OptedOutAt` (ISO 8601 UTC, the format of `messaging.rows.iso`,
so times compare as strings), `Source` (keyword/operator/import), `Keyword` (for Source=keyword).

- `opted_out`: BatchGetItem, strongly consistent (a STOP recorded a moment ago counts), 100 keys a
  request, keys the service leaves unprocessed asked again with a short backoff.
- `add`/`remove`: conditional on `OptedOutAt`, so an older keyword arriving late never undoes a newer
  one: a START never removes a later STOP, and a STOP never replaces a later opt-out's record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from aws_adapters.calls import CONDITION_FAILED, aws_call, aws_call_unless
from messaging import names
from messaging.errors import TransientError, TransientKind
from messaging.ports import OptOut
from messaging.rows import iso

BATCH_GET_MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem request
UNPROCESSED_RETRIES = 5
UNPROCESSED_BACKOFF_SECONDS = 0.05  # doubled per retry: 0.05 .. 0.8 s


class DynamoOptOutStore:
    def __init__(self, table_name: str, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table = table_name
        self._client = client
        self._sleep = sleep

    def opted_out(self, numbers: Collection[str]) -> set[str]:
        wanted = sorted(set(numbers))
        found: set[str] = set()
        for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
            found |= self._read_chunk(wanted[start : start + BATCH_GET_MAX_KEYS])
        return found

    def _read_chunk(self, numbers: list[str]) -> set[str]:
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{names.OPTOUT_PARTITION_KEY: {"S": number}} for number in numbers],
                "ProjectionExpression": "#n",
                "ExpressionAttributeNames": {"#n": names.OPTOUT_PARTITION_KEY},
                "ConsistentRead": True,
            }
        }
        found: set[str] = set()
        for attempt in range(UNPROCESSED_RETRIES + 1):
            response = aws_call("opt-out table, reading opt-outs", self._client.batch_get_item, RequestItems=request)
            for item in (response.get("Responses") or {}).get(self._table, []):
                number = (item.get(names.OPTOUT_PARTITION_KEY) or {}).get("S")
                if isinstance(number, str):
                    found.add(number)
            request = response.get("UnprocessedKeys") or {}
            if not request.get(self._table, {}).get("Keys"):
                return found
            if attempt < UNPROCESSED_RETRIES:
                self._sleep(UNPROCESSED_BACKOFF_SECONDS * 2**attempt)
        left = len(request[self._table]["Keys"])
        raise TransientError(TransientKind.DEPENDENCY, f"opt-out table: {left} keys still unprocessed (throttled)")

    def add(self, entry: OptOut) -> bool:
        item: dict[str, Any] = {
            names.OPTOUT_PARTITION_KEY: {"S": entry.number},
            names.OPTOUT_ATTR_OPTED_OUT_AT: {"S": iso(entry.opted_out_at)},
            names.OPTOUT_ATTR_SOURCE: {"S": entry.source},
        }
        if entry.keyword:
            item[names.OPTOUT_ATTR_KEYWORD] = {"S": entry.keyword}
        return aws_call_unless(
            "opt-out table, recording an opt-out",
            {CONDITION_FAILED},
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression="attribute_not_exists(#n) OR #at <= :at",
            ExpressionAttributeNames={"#n": names.OPTOUT_PARTITION_KEY, "#at": names.OPTOUT_ATTR_OPTED_OUT_AT},
            ExpressionAttributeValues={":at": {"S": iso(entry.opted_out_at)}},
        )

    def remove(self, number: str, at: datetime) -> bool:
        return aws_call_unless(
            "opt-out table, removing an opt-out",
            {CONDITION_FAILED},
            self._client.delete_item,
            TableName=self._table,
            Key={names.OPTOUT_PARTITION_KEY: {"S": number}},
            ConditionExpression="attribute_exists(#n) AND #at <= :at",
            ExpressionAttributeNames={"#n": names.OPTOUT_PARTITION_KEY, "#at": names.OPTOUT_ATTR_OPTED_OUT_AT},
            ExpressionAttributeValues={":at": {"S": iso(at)}},
        )
