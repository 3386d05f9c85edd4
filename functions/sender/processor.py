"""Per-record logic: plain functions that take their collaborators (DESIGN.md sections 2-4)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sender import constants as c
from sender.envelopes import unwrap
from sender.errors import IdempotencyConflict, PermanentError, RejectCode, TransientError, TransientKind
from sender.idempotency import OnceGate, Outcome, PendingRow, pending_row
from sender.media import MediaFetcher
from sender.observability import Telemetry, logger, mask_number, redact_numbers
from sender.queues import DeadLetterSink, QueueControl
from sender.ratelimit import Unlimited
from sender.request import E164, SendRequest, parse_send_request, peek_idempotency_key
from sender.results import (
    RANK_INPUT_REJECTED,
    RANK_SEND_OUTCOME,
    ResultRow,
    ResultStore,
    Status,
    iso,
)
from sender.settings import Settings
from sender.telegent import Acceptance

ORIGINAL_MESSAGE_ID = "OriginalMessageId"
REQUEUE_COUNT = "TelegentRequeues"
SQS_MAX_DELAY = 900
THROTTLE_BACKOFF_BASE = 5
THROTTLE_BACKOFF_MAX = 300
DLQ_REASON_MAX = 1000


class InvocationBudget(Protocol):
    def begin(self, expected_requests: int, deadline: float) -> None: ...


class VendorClient(Protocol):
    def send(self, payload: Mapping[str, Any]) -> Acceptance: ...


@dataclass
class SenderDeps:
    settings: Settings
    vendor: VendorClient
    media: MediaFetcher
    results: ResultStore
    dlq: DeadLetterSink
    queues: QueueControl
    once: OnceGate
    telemetry: Telemetry
    clock: Callable[[], datetime]
    limiter: InvocationBudget = field(default_factory=Unlimited)


@dataclass(frozen=True)
class SourceMessage:
    """What we need of the SQS record, independent of Powertools' data classes."""

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
        original = (self.message_attributes.get(ORIGINAL_MESSAGE_ID) or {}).get("stringValue")
        return original or self.message_id

    @property
    def requeues(self) -> int:
        value = (self.message_attributes.get(REQUEUE_COUNT) or {}).get("stringValue")
        return int(value) if value and value.isdigit() else 0


# ---------------------------------------------------------------- the invocation


def begin_invocation(records: list[Mapping[str, Any]], deps: SenderDeps, remaining_ms: int) -> None:
    """Plan the shared rate budget: one vendor request per record, never waiting past the guard."""
    deadline = deps.clock().timestamp() + (remaining_ms - deps.settings.deadline_guard_ms) / 1000
    deps.limiter.begin(len(records), deadline)


# ---------------------------------------------------------------- the record


def handle_record(record: Mapping[str, Any], deps: SenderDeps, remaining_ms: Callable[[], int]) -> None:
    """Batch record handler: raises only for records that must be retried."""
    source = SourceMessage.from_record(record)
    logger.thread_safe_append_keys(sqs_message_id=source.message_id, receive_count=source.receive_count)
    try:
        if remaining_ms() < deps.settings.deadline_guard_ms:
            raise TransientError(TransientKind.DEADLINE, "not attempted: too little time left in this invocation")
        process_record(source, deps)
    except TransientError as error:
        if not on_transient_failure(source, error, deps):
            raise
    finally:
        logger.thread_safe_remove_keys(["sqs_message_id", "receive_count", "correlation_id"])


def process_record(source: SourceMessage, deps: SenderDeps) -> None:
    raw_request: Any = None
    try:
        unwrapped = unwrap(source.body, deps.media.load_payload)
        raw_request = unwrapped.request
        request = parse_send_request(raw_request, deps.settings.limits)
    except PermanentError as rejection:
        key = peek_idempotency_key(raw_request) or source.default_key
        logger.thread_safe_append_keys(correlation_id=key)
        row = _input_rejected_row(key, source, rejection, raw_request, deps.clock())
        deps.results.record(row)
        _copy_to_dlq(source, key, rejection.code, rejection.message, deps)
        deps.telemetry.count(c.METRIC_REJECTED)
        logger.warning(
            "request rejected", extra={"error_code": rejection.code, "reason": redact_numbers(rejection.message)}
        )
        return

    key = request.idempotency_key or source.default_key
    logger.thread_safe_append_keys(correlation_id=key)
    staged = PendingRow()

    def send_and_stage() -> Outcome:
        outcome = attempt_send(request, deps)
        # Committed with the idempotency record when the store supports it (one transaction).
        staged.row = _row_from_outcome(key, request, outcome, source)
        return outcome

    token = pending_row.set(staged)
    try:
        outcome, ran_now = deps.once.run(key, request.fingerprint(), send_and_stage)
    except TransientError:
        if staged.row is not None and staged.row.message_id:
            # The vendor has the message but we could not record it: a retry may send it again.
            logger.error(
                "sent but not recorded; a retry may send it twice",
                extra={"message_id": staged.row.message_id, "to": [mask_number(n) for n in request.to]},
            )
        raise
    except IdempotencyConflict as conflict:
        # The row for this key belongs to the first payload; leave it and park this one in the DLQ.
        _copy_to_dlq(source, key, conflict.code, conflict.message, deps)
        deps.telemetry.count(c.METRIC_IDEMPOTENCY_CONFLICTS)
        logger.warning("idempotency key reused with a different payload", extra={"error_code": conflict.code})
        return
    finally:
        pending_row.reset(token)

    row = staged.row if ran_now and staged.row else _row_from_outcome(key, request, outcome, source)
    written = staged.written or deps.results.record(row)
    if row.status == Status.REJECTED:
        _copy_to_dlq(source, key, row.error_code or "", row.error_message or "", deps)
    if ran_now:
        deps.telemetry.count(c.METRIC_SENT if row.status == Status.SENT else c.METRIC_REJECTED)
    else:
        deps.telemetry.count(c.METRIC_DUPLICATES)
    logger.info(
        "send outcome" if ran_now else "duplicate: stored outcome reused, not sent again",
        extra={
            "status": row.status.value,
            "message_id": row.message_id,
            "to": [mask_number(n) for n in request.to],
            "message_type": request.message_type,
            "error_code": row.error_code,
            "row_written": written,
        },
    )


def attempt_send(request: SendRequest, deps: SenderDeps) -> Outcome:
    """Runs at most once per key. Permanent refusals are outcomes (stored); transient ones raise."""
    decided_at = iso(deps.clock())
    try:
        fetched = deps.media.fetch_all(request.s3_media, request.inline_media_bytes) if request.s3_media else []
        accepted = deps.vendor.send(request.vendor_payload(fetched))
    except PermanentError as refusal:
        return {
            "Status": Status.REJECTED.value,
            "ErrorCode": refusal.code,
            "ErrorMessage": refusal.message,
            "DecidedAt": decided_at,
        }
    return {
        "Status": Status.SENT.value,
        "MessageId": accepted.message_id,
        "VendorStatus": accepted.vendor_status,
        "MessageType": accepted.message_type or request.message_type,
        "Cost": str(accepted.cost) if accepted.cost is not None else None,
        "DecidedAt": decided_at,
    }


def on_transient_failure(source: SourceMessage, error: TransientError, deps: SenderDeps) -> bool:
    """Account for a retryable failure; True when the record was settled here instead (retries exhausted)."""
    deps.telemetry.count(c.METRIC_TRANSIENT_FAILURES)
    deps.telemetry.count(f"{c.METRIC_TRANSIENT_FAILURES[:-1]}{error.kind.value}")
    if error.kind == TransientKind.AMBIGUOUS:
        deps.telemetry.count(c.METRIC_AMBIGUOUS_SENDS)
    log = logger.error if error.kind in (TransientKind.CONFIG, TransientKind.AUTH) else logger.warning
    log(
        "transient failure, will retry",
        extra={"failure_class": error.kind.value, "reason": redact_numbers(error.message)},
    )

    if error.kind in (TransientKind.THROTTLED, TransientKind.RATE_LIMITED) and _requeue(source, error, deps):
        return True

    max_receives = _max_receives(source, deps)
    if max_receives is not None and source.receive_count >= max_receives:
        # SQS would move it to the DLQ without a word; move it ourselves, with the reason.
        key = source.message_id
        try:
            _copy_to_dlq(source, key, RejectCode.RETRIES_EXHAUSTED, f"{error.kind.value}: {error.message}", deps)
        except TransientError:
            return False  # the redrive policy still catches it
        deps.telemetry.count(c.METRIC_RETRIES_EXHAUSTED)
        return True

    delay = error.retry_after
    if delay is None and error.kind in (TransientKind.THROTTLED, TransientKind.UNAVAILABLE):
        delay = min(THROTTLE_BACKOFF_BASE * 2 ** (source.receive_count - 1), THROTTLE_BACKOFF_MAX)
        delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
    if delay is not None and source.receipt_handle and source.queue_arn:
        try:
            deps.queues.delay(source.queue_arn, source.receipt_handle, max(1, round(delay)))
        except Exception:  # a failed delay only means an earlier retry
            logger.warning("could not delay the retry", extra={"delay_seconds": delay})
    return False


# ---------------------------------------------------------------- helpers


def _requeue(source: SourceMessage, error: TransientError, deps: SenderDeps) -> bool:
    """Throttling is not the message's fault: put it back as a new message instead of burning a receive.

    The copy keeps the body, the attributes and the idempotency key (OriginalMessageId).
    """
    if not source.queue_arn:
        return False
    delay = error.retry_after if error.retry_after is not None else THROTTLE_BACKOFF_BASE
    delay = min(SQS_MAX_DELAY, max(1, math.ceil(delay * random.uniform(1.0, 1.2))))  # noqa: S311 - jitter
    attributes = dict(source.message_attributes)
    attributes[ORIGINAL_MESSAGE_ID] = {"stringValue": source.default_key, "dataType": "String"}
    attributes[REQUEUE_COUNT] = {"stringValue": str(source.requeues + 1), "dataType": "Number"}
    try:
        deps.queues.requeue(source.queue_arn, source.body, attributes, delay)
    except Exception:
        logger.warning("could not put the throttled message back; it will be retried by SQS")
        return False
    deps.telemetry.count(c.METRIC_REQUEUED)
    logger.info("throttled: put back on the queue", extra={"delay_seconds": delay, "requeues": source.requeues + 1})
    return True


def _max_receives(source: SourceMessage, deps: SenderDeps) -> int | None:
    if not source.queue_arn:
        return None
    try:
        return deps.queues.max_receive_count(source.queue_arn)
    except Exception:
        logger.warning("could not read the source queue's redrive policy")
        return None


def _copy_to_dlq(source: SourceMessage, key: str, code: str, message: str, deps: SenderDeps) -> None:
    deps.dlq.copy(
        source.body,
        {
            "Reason": f"{code}: {message}"[:DLQ_REASON_MAX],
            "ErrorCode": code,
            "ErrorMessage": message[:DLQ_REASON_MAX],
            "RequestId": key,
            "SourceMessageId": source.message_id,
            "SourceQueueArn": source.queue_arn,
            "ReceiveCount": str(source.receive_count),
            "RejectedAt": iso(deps.clock()),
        },
    )


def _numbers_of(raw: Any) -> tuple[tuple[str, ...], str | None]:
    """Best-effort To/From of a rejected request, for the row (only well-formed numbers)."""
    if not isinstance(raw, Mapping):
        return (), None
    recipients = raw.get("To")
    if not isinstance(recipients, list):
        recipients = []
    to = tuple(
        item["Number"]
        for item in recipients
        if isinstance(item, Mapping) and isinstance(item.get("Number"), str) and E164.match(item["Number"])
    )
    sender = raw.get("From")
    return to, sender if isinstance(sender, str) and E164.match(sender) else None


def _input_rejected_row(
    key: str, source: SourceMessage, rejection: PermanentError, raw_request: Any, now: datetime
) -> ResultRow:
    """The row of a request refused before any send: it never hides a row the send path wrote."""
    to, sender = _numbers_of(raw_request)
    return ResultRow(
        request_id=key,
        status=Status.REJECTED,
        rank=RANK_INPUT_REJECTED,
        updated_at=now,
        source_message_id=source.message_id,
        attempts=source.receive_count,
        to=to,
        sender=sender,
        error_code=rejection.code,
        error_message=rejection.message,
    )


def _row_from_outcome(key: str, request: SendRequest, outcome: Outcome, source: SourceMessage) -> ResultRow:
    cost = outcome.get("Cost")
    return ResultRow(
        request_id=key,
        status=Status(outcome["Status"]),
        rank=RANK_SEND_OUTCOME,
        updated_at=datetime.fromisoformat(outcome["DecidedAt"].replace("Z", "+00:00")),
        source_message_id=source.message_id,
        attempts=source.receive_count,
        to=request.to,
        sender=request.sender,
        campaign_id=request.campaign_id,
        message_type=outcome.get("MessageType") or request.message_type,
        message_id=outcome.get("MessageId"),
        vendor_status=outcome.get("VendorStatus"),
        cost=Decimal(cost) if cost is not None else None,
        error_code=outcome.get("ErrorCode"),
        error_message=outcome.get("ErrorMessage"),
    )
