"""The SQS record as the send path sees it, independent of Powertools' data classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging.names import ATTR_FIRST_ENQUEUED_AT, ATTR_ORIGINAL_MESSAGE_ID, ATTR_REQUEUE_COUNT
from messaging.rows import parse_iso


@dataclass(frozen=True)
class SourceMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    queue_arn: str
    message_attributes: Mapping[str, Any] = field(default_factory=dict)
    sent_at: datetime | None = None  # this copy's SQS SentTimestamp

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SourceMessage:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=record["messageId"],
            receipt_handle=record.get("receiptHandle", ""),
            body=record.get("body") or "",
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
            queue_arn=record.get("eventSourceARN", ""),
            message_attributes=record.get("messageAttributes") or {},
            sent_at=_moment(attributes.get("SentTimestamp")),
        )

    @property
    def default_key(self) -> str:
        """The key when the request has no IdempotencyKey: the first SQS message id, kept across requeues."""
        return self._attribute(ATTR_ORIGINAL_MESSAGE_ID) or self.message_id

    @property
    def requeues(self) -> int:
        value = self._attribute(ATTR_REQUEUE_COUNT)
        return int(value) if value and value.isdigit() else 0

    @property
    def first_enqueued_at(self) -> datetime | None:
        """When the request was first put on a queue: kept by requeued copies, else this copy's SentTimestamp."""
        return _moment(self._attribute(ATTR_FIRST_ENQUEUED_AT)) or self.sent_at

    def _attribute(self, name: str) -> str | None:
        value = (self.message_attributes.get(name) or {}).get("stringValue")
        return value if isinstance(value, str) else None


def _moment(value: Any) -> datetime | None:
    """An epoch-milliseconds number (SQS SentTimestamp) or an ISO 8601 time; None when it is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        moment = parse_iso(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
