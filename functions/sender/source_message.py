"""The SQS record as the send path sees it, independent of Powertools' data classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from messaging.names import ATTR_ORIGINAL_MESSAGE_ID, ATTR_REQUEUE_COUNT


@dataclass(frozen=True)
class SourceMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    queue_arn: str
    message_attributes: Mapping[str, Any] = field(default_factory=dict)

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
        )

    @property
    def default_key(self) -> str:
        """The key when the request has no IdempotencyKey: the first SQS message id, kept across requeues."""
        return self._attribute(ATTR_ORIGINAL_MESSAGE_ID) or self.message_id

    @property
    def requeues(self) -> int:
        value = self._attribute(ATTR_REQUEUE_COUNT)
        return int(value) if value and value.isdigit() else 0

    def _attribute(self, name: str) -> str | None:
        value = (self.message_attributes.get(name) or {}).get("stringValue")
        return value if isinstance(value, str) else None
