"""Where ambiguous send attempts live (DESIGN.md section 4b), and how a send learns that one may exist.

The choice, and why:

- The attempt is its own item in the idempotency table, `id = "telegent-sms#attempt#<key>"`,
  beside the Powertools records and never inside one. Powertools removes its record when the
  send raises, and overwrites it whole when the next receive takes the lock; an attempt kept there
  would be gone exactly when it is needed. A separate item survives both, expires with the same
  TTL attribute (15 days, longer than any redelivery), is not streamed to status events (the
  messages table is), and needs no new table or permission.

- Reading that item before every send would cost one more DynamoDB request per message. Instead
  the send lock tells when to look: `AttemptAwarePersistenceLayer` does not delete the Powertools
  record after a failed send but releases it (its in-progress expiry set to 0, so the next receive
  may take it at once), and the in-progress put of every send returns the item it replaced
  (`ReturnValues=ALL_OLD`, free). A put that replaced nothing is a first attempt: no read. A put
  that replaced an earlier record means an earlier receive got this far, so the attempt item is
  read; and an earlier lock that was never released (a crash or a timeout mid-send, or a failed
  release) counts as an attempt of its own, to be searched for over that invocation's time.

So "nothing sent twice" holds even for a second SQS message carrying the same IdempotencyKey, a
requeued or redriven copy, or a Lambda that died between the send and any write.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from aws_adapters.calls import error_code, failed
from aws_adapters.idempotency import IDEMPOTENCY_EXPIRY_SECONDS, RowCommittingPersistenceLayer
from aws_adapters.result_rows import DynamoResultStore
from messaging.ambiguity import Attempt, Earlier
from messaging.errors import UnrecordedAmbiguity
from messaging.names import (
    IDEMPOTENCY_ATTEMPT_PREFIX,
    IDEMPOTENCY_PARTITION_KEY,
    IDEMPOTENCY_TTL_ATTRIBUTE,
    MESSAGES_MESSAGE_ID_ATTRIBUTE,
    MESSAGES_MESSAGE_ID_INDEX,
    MESSAGES_PARTITION_KEY,
)

INPROGRESS = "INPROGRESS"
_deserializer = TypeDeserializer()


class _ReturningReplacedItems:
    """The persistence layer's DynamoDB client: its PutItem also returns the item it replaced, kept per thread."""

    def __init__(self, client: Any, replaced: threading.local) -> None:
        self._client = client
        self._replaced = replaced

    def put_item(self, **kwargs: Any) -> Any:
        self._replaced.item = None
        response = self._client.put_item(ReturnValues="ALL_OLD", **kwargs)
        attributes = response.get("Attributes") if isinstance(response, dict) else None
        self._replaced.item = {k: _deserializer.deserialize(v) for k, v in attributes.items()} if attributes else None
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class AttemptAwarePersistenceLayer(RowCommittingPersistenceLayer):
    """Releases the send lock after a failure instead of deleting it, and remembers what each
    in-progress put replaced (see the module docstring)."""

    def __init__(self, table_name: str, client: Any, rows: DynamoResultStore) -> None:
        super().__init__(table_name, client, rows)
        self._replaced = threading.local()
        self.client = _ReturningReplacedItems(self.client, self._replaced)  # type: ignore[assignment]

    def take_replaced(self) -> dict[str, Any] | None:
        """The record this thread's last in-progress put replaced (asked once, by the send it guards)."""
        item: dict[str, Any] | None = getattr(self._replaced, "item", None)
        self._replaced.item = None
        return item

    def delete_record(self, data: dict[str, Any], exception: Exception) -> None:
        if isinstance(exception, UnrecordedAmbiguity):
            return  # keep the lock: when it expires, the next receive reconciles this send as interrupted
        super().delete_record(data, exception)

    def _delete_record(self, data_record: DataRecord) -> None:
        """The send failed: let the next receive take the lock at once, and know that this one was here."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._get_key(data_record.idempotency_key),
                UpdateExpression="SET #in_progress_expiry = :released",
                ConditionExpression="#status = :inprogress",
                ExpressionAttributeNames={
                    "#in_progress_expiry": self.in_progress_expiry_attr,
                    "#status": self.status_attr,
                },
                ExpressionAttributeValues={":released": {"N": "0"}, ":inprogress": {"S": INPROGRESS}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise  # Powertools reports it; the lock then expires with the invocation


class DynamoAttemptStore:
    def __init__(
        self,
        table_name: str,
        client: Any,
        persistence: AttemptAwarePersistenceLayer,
        messages_table: str | None = None,
        clock: Any = time.time,
    ) -> None:
        self._table = table_name
        self._messages_table = messages_table
        self._client = client
        self._persistence = persistence
        self._clock = clock

    def earlier(self, key: str) -> Earlier | None:
        replaced = self._persistence.take_replaced()
        if replaced is None:
            return None  # the first receive to take this key's lock: nothing can have been sent
        lock_expiry = replaced.get(self._persistence.in_progress_expiry_attr)
        unreleased = replaced.get(self._persistence.status_attr) == INPROGRESS and bool(lock_expiry)
        lock_expired_at = float(lock_expiry) / 1000 if unreleased and lock_expiry is not None else None
        attempt = self._load(key)
        if attempt is None and lock_expired_at is None:
            return None
        return Earlier(attempt, lock_expired_at)

    def save(self, attempt: Attempt) -> None:
        item: dict[str, Any] = {
            IDEMPOTENCY_PARTITION_KEY: {"S": _item_key(attempt.request_id)},
            "RequestId": {"S": attempt.request_id},
            "From": {"S": attempt.sender},
            "To": {"L": [{"S": number} for number in attempt.to]},
            "BodySha256": {"S": attempt.body_hash},
            "StartedAt": {"N": _number(attempt.started_at)},
            "EndedAt": {"N": _number(attempt.ended_at)},
            "Count": {"N": str(attempt.count)},
            "Interrupted": {"BOOL": attempt.interrupted},
            IDEMPOTENCY_TTL_ATTRIBUTE: {
                "N": str(int(max(attempt.ended_at, self._clock())) + IDEMPOTENCY_EXPIRY_SECONDS)
            },
        }
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise failed("recording the ambiguous attempt", exc) from None

    def claimed_by(self, message_id: str) -> str | None:
        """Through the messages table's MessageId index (eventually consistent: a row written moments ago
        may not show yet)."""
        if self._messages_table is None:
            return None
        try:
            response = self._client.query(
                TableName=self._messages_table,
                IndexName=MESSAGES_MESSAGE_ID_INDEX,
                KeyConditionExpression="#id = :id",
                ExpressionAttributeNames={"#id": MESSAGES_MESSAGE_ID_ATTRIBUTE},
                ExpressionAttributeValues={":id": {"S": message_id}},
                Limit=1,
            )
        except (ClientError, BotoCoreError) as exc:
            raise failed("looking up a MessageId", exc) from None
        items = response.get("Items") or []
        owner = items[0].get(MESSAGES_PARTITION_KEY, {}).get("S") if items else None
        return owner if isinstance(owner, str) else None

    def _load(self, key: str) -> Attempt | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key={IDEMPOTENCY_PARTITION_KEY: {"S": _item_key(key)}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise failed("reading the ambiguous attempt", exc) from None
        raw = response.get("Item")
        if not raw:
            return None
        item = {k: _deserializer.deserialize(v) for k, v in raw.items()}
        return Attempt(
            request_id=str(item["RequestId"]),
            sender=str(item["From"]),
            to=tuple(str(number) for number in item.get("To") or ()),
            body_hash=str(item["BodySha256"]),
            started_at=float(item["StartedAt"]),
            ended_at=float(item["EndedAt"]),
            count=int(item.get("Count") or 1),
            interrupted=bool(item.get("Interrupted")),
        )


def _item_key(key: str) -> str:
    return f"{IDEMPOTENCY_ATTEMPT_PREFIX}{key}"


def _number(value: float) -> str:
    return str(Decimal(str(round(value, 3))))
