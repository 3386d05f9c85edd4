"""Result rows (DESIGN.md section 3): one item per request, never moved back to an older state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sender.errors import TransientError, TransientKind


class Status(StrEnum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    UNDELIVERABLE = "UNDELIVERABLE"
    EXPIRED = "EXPIRED"


# Who may overwrite whom: a write lands only on a lower rank, or the same rank with an older UpdatedAt.
# 0: refused before any send attempt (bad input) - never hides a row the send path wrote.
# 1: outcome of the send (SENT or vendor REJECTED).
# 2: final states decided later by the status tracker.
RANK_INPUT_REJECTED = 0
RANK_SEND_OUTCOME = 1
RANK_FINAL = 2


@dataclass(frozen=True)
class ResultRow:
    request_id: str
    status: Status
    rank: int
    updated_at: datetime
    source_message_id: str
    attempts: int
    to: tuple[str, ...] = ()
    sender: str | None = None
    campaign_id: str | None = None
    message_type: str | None = None
    message_id: str | None = None
    vendor_status: str | None = None
    cost: Decimal | None = None
    error_code: str | None = None
    error_message: str | None = None

    def attributes(self, ttl_days: int) -> dict[str, Any]:
        """Row attributes, without the key and without empty values."""
        updated = self.updated_at.astimezone(UTC)
        values: dict[str, Any] = {
            "Status": self.status.value,
            "StatusRank": self.rank,
            "UpdatedAt": iso(updated),
            # The state's row is created when the state is decided (a put replaces an older state whole).
            "CreatedAt": iso(updated),
            "ExpiresAt": int((updated + timedelta(days=ttl_days)).timestamp()),
            "Attempts": self.attempts,
            "SourceMessageId": self.source_message_id,
            "To": self.to[0] if len(self.to) == 1 else (list(self.to) or None),
            "From": self.sender,
            "CampaignId": self.campaign_id,
            "MessageType": self.message_type,
            "MessageId": self.message_id,
            "VendorStatus": self.vendor_status,
            "Cost": self.cost,
            "ErrorCode": self.error_code,
            "ErrorMessage": self.error_message,
        }
        return {name: value for name, value in values.items() if value is not None}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ResultStore(Protocol):
    def record(self, row: ResultRow) -> bool:
        """Write the row unless a newer state is there; True when written."""
        ...


class DynamoResultStore:
    def __init__(self, table_name: str, client: Any, ttl_days: int) -> None:
        self._table = table_name
        self._client = client
        self._ttl_days = ttl_days

    def put_request(self, row: ResultRow) -> dict[str, Any]:
        """The conditional PutItem for `row`, usable alone or inside a transaction.

        The row is written whole by whoever decides its state, so no attribute of an older state
        (an old ErrorCode, say) can linger; the condition keeps a newer state from being replaced.
        """
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        attributes = row.attributes(self._ttl_days)
        item: dict[str, Any] = {"RequestId": {"S": row.request_id}}
        item.update({name: serializer.serialize(value) for name, value in attributes.items()})
        return {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": (
                "attribute_not_exists(#pk) OR #rank < :rank OR (#rank = :rank AND #updated < :updated)"
            ),
            "ExpressionAttributeNames": {"#pk": "RequestId", "#rank": "StatusRank", "#updated": "UpdatedAt"},
            "ExpressionAttributeValues": {
                ":rank": serializer.serialize(row.rank),
                ":updated": serializer.serialize(attributes["UpdatedAt"]),
            },
        }

    def record(self, row: ResultRow) -> bool:
        try:
            self._client.put_item(**self.put_request(row))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise TransientError(TransientKind.DEPENDENCY, f"writing the result row failed: {exc}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"writing the result row failed: {exc}") from None


def now_utc() -> datetime:
    return datetime.now(UTC)
