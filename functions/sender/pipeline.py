"""Per-record send path: plain functions that take their collaborators (DESIGN.md sections 2-4)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from messaging import names
from messaging.envelopes import unwrap
from messaging.errors import IdempotencyConflict, PermanentError, RejectCode, TransientError, TransientKind
from messaging.lifecycle import RANK_INPUT_REJECTED, RANK_SEND_OUTCOME, Status
from messaging.media import MediaFetcher
from messaging.ports import (
    DeadLetterSink,
    OnceGate,
    QueueControl,
    RequestBudget,
    ResultStore,
    Telemetry,
    Unlimited,
    VendorClient,
)
from messaging.redaction import mask_number, redact_numbers
from messaging.request import SendRequest, is_e164, parse_send_request, peek_idempotency_key
from messaging.rows import ResultRow
from messaging.settings import Settings
from observability import logger

from sender.dead_letters import dead_letter_reasons
from sender.retry_policy import Action, decide
from sender.source_message import SourceMessage


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
    limiter: RequestBudget = field(default_factory=Unlimited)


@dataclass
class RecordProgress:
    """What the send path learnt about a record, for the failure path (the key once it is known)."""

    key: str | None = None


# ---------------------------------------------------------------- the invocation


def begin_invocation(records: list[Mapping[str, Any]], deps: SenderDeps, remaining_ms: int) -> None:
    """Plan the shared rate budget: one vendor request per record, never waiting past the guard."""
    deadline = deps.clock().timestamp() + (remaining_ms - deps.settings.deadline_guard_ms) / 1000
    deps.limiter.begin(len(records), deadline)


# ---------------------------------------------------------------- the record


def handle_record(record: Mapping[str, Any], deps: SenderDeps, remaining_ms: Callable[[], int]) -> None:
    """Batch record handler: raises only for records that must be retried."""
    source = SourceMessage.from_record(record)
    progress = RecordProgress()
    logger.thread_safe_append_keys(sqs_message_id=source.message_id, receive_count=source.receive_count)
    try:
        if remaining_ms() < deps.settings.deadline_guard_ms:
            raise TransientError(TransientKind.DEADLINE, "not attempted: too little time left in this invocation")
        process_record(source, deps, progress)
    except TransientError as error:
        if not on_transient_failure(source, error, deps, progress.key or source.default_key):
            raise
    finally:
        logger.thread_safe_remove_keys(["sqs_message_id", "receive_count", "correlation_id"])


def process_record(source: SourceMessage, deps: SenderDeps, progress: RecordProgress | None = None) -> None:
    progress = progress or RecordProgress()
    raw_request: Any = None
    try:
        unwrapped = unwrap(source.body, deps.media.load_payload)
        raw_request = unwrapped.request
        request = parse_send_request(raw_request, deps.settings.limits)
    except PermanentError as rejection:
        progress.key = key = peek_idempotency_key(raw_request) or source.default_key
        logger.thread_safe_append_keys(correlation_id=key)
        deps.results.record(_input_rejected_row(key, source, rejection, raw_request, deps.clock()))
        _copy_to_dlq(source, key, rejection.code, rejection.message, deps)
        deps.telemetry.count(names.METRIC_REJECTED)
        logger.warning(
            "request rejected", extra={"error_code": rejection.code, "reason": redact_numbers(rejection.message)}
        )
        return

    progress.key = key = request.idempotency_key or source.default_key
    logger.thread_safe_append_keys(correlation_id=key)
    try:
        once = deps.once.run(key, request.fingerprint(), lambda: _send(key, request, source, deps))
    except IdempotencyConflict as conflict:
        # The row for this key belongs to the first payload; leave it and park this one in the DLQ.
        _copy_to_dlq(source, key, conflict.code, conflict.message, deps)
        deps.telemetry.count(names.METRIC_IDEMPOTENCY_CONFLICTS)
        logger.warning("idempotency key reused with a different payload", extra={"error_code": conflict.code})
        return

    row = once.row
    written = once.row_written or deps.results.record(row)
    if row.status == Status.REJECTED:
        _copy_to_dlq(source, key, row.error_code or "", row.error_message or "", deps)
    if once.ran_now:
        deps.telemetry.count(names.METRIC_SENT if row.status == Status.SENT else names.METRIC_REJECTED)
    else:
        deps.telemetry.count(names.METRIC_DUPLICATES)
    logger.info(
        "send outcome" if once.ran_now else "duplicate: stored outcome reused, not sent again",
        extra={
            "status": row.status.value,
            "message_id": row.message_id,
            "to": [mask_number(n) for n in request.to],
            "message_type": request.message_type,
            "error_code": row.error_code,
            "row_written": written,
        },
    )


def _send(key: str, request: SendRequest, source: SourceMessage, deps: SenderDeps) -> ResultRow:
    """Runs at most once per key. Permanent refusals are outcomes (stored); transient ones raise."""
    decided_at = deps.clock()
    outcome = ResultRow(
        request_id=key,
        status=Status.SENT,
        rank=RANK_SEND_OUTCOME,
        updated_at=decided_at,
        source_message_id=source.message_id,
        attempts=source.receive_count,
        to=request.to,
        sender=request.sender,
        campaign_id=request.campaign_id,
        message_type=request.message_type,
    )
    try:
        fetched = deps.media.fetch_all(request.s3_media, request.inline_media_bytes) if request.s3_media else []
        accepted = deps.vendor.send(request.vendor_payload(fetched))
    except PermanentError as refusal:
        return replace(outcome, status=Status.REJECTED, error_code=refusal.code, error_message=refusal.message)
    return replace(
        outcome,
        message_id=accepted.message_id,
        vendor_status=accepted.vendor_status,
        message_type=accepted.message_type or request.message_type,
        cost=accepted.cost,
    )


def on_transient_failure(source: SourceMessage, error: TransientError, deps: SenderDeps, key: str) -> bool:
    """Account for a retryable failure and carry out the retry policy; True when the record was settled here."""
    deps.telemetry.count(names.METRIC_TRANSIENT_FAILURES)
    deps.telemetry.count(f"{names.METRIC_TRANSIENT_FAILURE_PREFIX}{error.kind.value}")
    if error.kind == TransientKind.AMBIGUOUS:
        deps.telemetry.count(names.METRIC_AMBIGUOUS_SENDS)
    log = logger.error if error.kind in (TransientKind.CONFIG, TransientKind.AUTH) else logger.warning
    log(
        "transient failure, will retry",
        extra={"failure_class": error.kind.value, "reason": redact_numbers(error.message)},
    )

    spread = random.random()  # noqa: S311 - jitter, not security
    decision = decide(error, source.receive_count, _max_receives(source, deps), bool(source.queue_arn), spread)
    if decision.action == Action.REQUEUE:
        if _requeue(source, decision.delay_seconds or 1, deps):
            return True
        decision = decide(error, source.receive_count, _max_receives(source, deps), False, spread)
    if decision.action == Action.SETTLE_IN_DLQ:
        # SQS would move it to the DLQ without a word; move it ourselves, with the reason.
        try:
            _copy_to_dlq(source, key, RejectCode.RETRIES_EXHAUSTED, f"{error.kind.value}: {error.message}", deps)
        except TransientError:
            return False  # the redrive policy still catches it
        deps.telemetry.count(names.METRIC_RETRIES_EXHAUSTED)
        return True
    if decision.delay_seconds is not None and source.receipt_handle and source.queue_arn:
        try:
            deps.queues.delay(source.queue_arn, source.receipt_handle, decision.delay_seconds)
        except TransientError:  # a failed delay only means an earlier retry
            logger.warning("could not delay the retry", extra={"delay_seconds": decision.delay_seconds})
    return False


# ---------------------------------------------------------------- helpers


def _requeue(source: SourceMessage, delay: int, deps: SenderDeps) -> bool:
    """Put the message back as a new one with the same body, attributes and idempotency key."""
    attributes = dict(source.message_attributes)
    attributes[names.ATTR_ORIGINAL_MESSAGE_ID] = {"stringValue": source.default_key, "dataType": "String"}
    attributes[names.ATTR_REQUEUE_COUNT] = {"stringValue": str(source.requeues + 1), "dataType": "Number"}
    try:
        deps.queues.requeue(source.queue_arn, source.body, attributes, delay)
    except TransientError:
        logger.warning("could not put the throttled message back; it will be retried by SQS")
        return False
    deps.telemetry.count(names.METRIC_REQUEUED)
    logger.info("throttled: put back on the queue", extra={"delay_seconds": delay, "requeues": source.requeues + 1})
    return True


def _max_receives(source: SourceMessage, deps: SenderDeps) -> int | None:
    if not source.queue_arn:
        return None
    try:
        return deps.queues.max_receive_count(source.queue_arn)
    except TransientError:
        logger.warning("could not read the source queue's redrive policy")
        return None


def _copy_to_dlq(source: SourceMessage, key: str, code: str, message: str, deps: SenderDeps) -> None:
    deps.dlq.copy(source.body, dead_letter_reasons(source, key, code, message, deps.clock()))


def _numbers_of(raw: Any) -> tuple[tuple[str, ...], str | None]:
    """Best-effort To/From of a rejected request, for the row (only well-formed numbers)."""
    if not isinstance(raw, Mapping):
        return (), None
    recipients = raw.get("To")
    if not isinstance(recipients, list):
        recipients = []
    to = tuple(item["Number"] for item in recipients if isinstance(item, Mapping) and is_e164(item.get("Number")))
    sender = raw.get("From")
    return to, sender if is_e164(sender) else None


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
