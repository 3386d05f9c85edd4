"""The reasons a DLQ copy carries as message attributes (DESIGN.md section 4)."""

from __future__ import annotations

from datetime import datetime

from messaging import names
from messaging.rows import iso
from sender.source_message import SourceMessage

DLQ_REASON_MAX = 1000


def dead_letter_reasons(source: SourceMessage, key: str, code: str, message: str, now: datetime) -> dict[str, str]:
    """Every copy names the request by its idempotency key and keeps the first SQS message id, so a
    redriven copy of a request without an IdempotencyKey keeps its key and is never sent twice."""
    return {
        names.DLQ_ATTR_REASON: f"{code}: {message}"[:DLQ_REASON_MAX],
        names.DLQ_ATTR_ERROR_CODE: code,
        names.DLQ_ATTR_ERROR_MESSAGE: message[:DLQ_REASON_MAX],
        names.DLQ_ATTR_REQUEST_ID: key,
        names.ATTR_ORIGINAL_MESSAGE_ID: source.default_key,
        names.DLQ_ATTR_SOURCE_MESSAGE_ID: source.message_id,
        names.DLQ_ATTR_SOURCE_QUEUE: source.queue_arn,
        names.DLQ_ATTR_RECEIVE_COUNT: str(source.receive_count),
        names.DLQ_ATTR_REJECTED_AT: iso(now),
    }
