"""Per-record send path: plain functions that take their collaborators (DESIGN.md sections 2-4)."""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from messaging import names
from messaging.ambiguity import VendorMessage
from messaging.envelopes import unwrap
from messaging.errors import (
    IdempotencyConflict,
    PermanentError,
    RejectCode,
    TransientError,
    TransientKind,
    ValidityEnded,
)
from messaging.lanes import Lane, invocation_lane, lane_of
from messaging.lifecycle import RANK_INPUT_REJECTED, RANK_SEND_OUTCOME, Status
from messaging.media import MediaFetcher
from messaging.optouts import OptOutCheck, recipients_of
from messaging.ports import (
    AttemptStore,
    DeadLetterSink,
    OnceGate,
    QueueControl,
    RequestBudget,
    ResultStore,
    SendSchedules,
    Telemetry,
    Unlimited,
    VendorClient,
)
from messaging.redaction import log_key, mask_number, redact
from messaging.request import SendRequest, is_e164, parse_send_request, peek_dry_run, peek_idempotency_key
from messaging.rows import ResultRow, iso
from messaging.settings import Settings
from observability import logger
from sender import reconcile, send_time
from sender.dead_letters import dead_letter_reasons
from sender.key_locks import KeyedLocks
from sender.retry_policy import Action, decide
from sender.send_time import Timing
from sender.source_message import SourceMessage

INTERNAL_REASON_MAX = 300  # "<ExceptionType>: <redacted message>" on the row and the DLQ copy
STACK_MAX = 4000  # characters of stack (frames only: file, line, function, code) in the log line
VALIDITY_EXPIRED = RejectCode.VALIDITY_EXPIRED  # DESIGN.md section 9


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
    key_locks: KeyedLocks = field(default_factory=KeyedLocks)
    attempts: AttemptStore = field(default_factory=reconcile.MemoryAttemptStore)  # ambiguous sends (4b)
    optouts: OptOutCheck = field(default_factory=lambda: OptOutCheck(None))  # DESIGN.md 10; no table: no check
    # One-time schedules for a later SendAt (DESIGN.md 9); None: this sender cannot schedule.
    schedules: SendSchedules | None = None


@dataclass
class RecordProgress:
    """What the send path learnt about a record, for the failure paths."""

    key: str | None = None  # the idempotency key, once known
    body: str | None = None  # the request's Body: removed from every text that is logged
    raw_request: Any = None  # the unwrapped request, for the numbers of a settled row
    valid_until: datetime | None = None  # the request's validity end, when it has one (DESIGN.md section 9)


# ---------------------------------------------------------------- the invocation


def begin_invocation(records: list[Mapping[str, Any]], deps: SenderDeps, remaining_ms: int) -> None:
    """Plan the shared rate budget of the invocation's lane: one vendor request per record that may send now
    (dry runs and later SendAts take no slot), never waiting past the guard; announce the batch's recipients
    to the opt-out check (one read for all, on first use)."""
    now = deps.clock()
    deadline = now.timestamp() + (remaining_ms - deps.settings.deadline_guard_ms) / 1000
    arns = [str(record.get("eventSourceARN") or "") for record in records]
    sending = sum(1 for record in records if send_time.may_send_now(str(record.get("body") or ""), now))
    deps.limiter.begin(sending, deadline, invocation_lane(arns, deps.settings.priority_queue_arn))
    if deps.optouts.enabled:
        deps.optouts.begin(number for record in records for number in recipients_of(str(record.get("body") or "")))
    else:
        deps.optouts.begin(())
    _begin_vendor_calls(deps, remaining_ms)


def record_lane(source: SourceMessage, deps: SenderDeps) -> Lane:
    """The record's lane (DESIGN.md 11): the priority lane when it came from PRIORITY_QUEUE_ARN. Send-time
    options use `deps.settings.default_validity_seconds(record_lane(...))` for a request without a validity."""
    return lane_of(source.queue_arn, deps.settings.priority_queue_arn)


# ---------------------------------------------------------------- the record


def handle_record(record: Mapping[str, Any], deps: SenderDeps, remaining_ms: Callable[[], int]) -> None:
    """Batch record handler: raises only for records that must be retried, always after a log line."""
    source = SourceMessage.from_record(record)
    progress = RecordProgress()
    logger.thread_safe_append_keys(sqs_message_id=source.message_id, receive_count=source.receive_count)
    try:
        try:
            if remaining_ms() < deps.settings.deadline_guard_ms:
                raise TransientError(TransientKind.DEADLINE, "not attempted: too little time left in this invocation")
            process_record(source, deps, progress, remaining_ms)
        except TransientError as error:
            if not on_transient_failure(source, error, deps, progress.key or source.default_key, progress):
                raise
    except TransientError:
        raise  # logged by on_transient_failure: a batch item failure, SQS retries it
    except Exception as error:  # a bug: logged, retried, settled on the last receive (DESIGN.md section 4)
        if not on_internal_error(source, error, deps, progress):
            raise
    finally:
        logger.thread_safe_remove_keys(["sqs_message_id", "receive_count", "correlation_id"])


def process_record(
    source: SourceMessage,
    deps: SenderDeps,
    progress: RecordProgress | None = None,
    remaining_ms: Callable[[], int] | None = None,
) -> None:
    progress = progress or RecordProgress()
    try:
        unwrapped = unwrap(source.body, deps.media.load_payload)
        progress.raw_request = unwrapped.request
        progress.body = _body_text(unwrapped.request)
        request = parse_send_request(unwrapped.request, deps.settings.limits)
    except PermanentError as rejection:
        _measure_age(source, deps, source.first_enqueued_at)
        progress.key = key = peek_idempotency_key(progress.raw_request) or source.default_key
        logger.thread_safe_append_keys(correlation_id=log_key(key))
        if peek_dry_run(progress.raw_request):
            send_time.failed_dry_run(key, source, rejection, progress.raw_request, deps)
            return
        _reject_input(key, source, rejection, progress, deps)
        return

    progress.key = key = request.idempotency_key or source.default_key
    logger.thread_safe_append_keys(correlation_id=log_key(key))
    lane = record_lane(source, deps)
    timing = Timing.of(request, source, deps.settings, lane, deps.clock())
    progress.valid_until = timing.deadline
    _measure_age(source, deps, timing.due_at)
    if request.dry_run:
        send_time.dry_run(key, request, unwrapped.request, source, timing, deps)
        return
    lane_queue = source.queue_arn if lane == Lane.PRIORITY else None
    try:
        if send_time.defer(key, request, unwrapped.request, source, timing, lane_queue, deps):
            return
    except PermanentError as rejection:  # SendAt too far ahead, too large to schedule: bad input
        _reject_input(key, source, rejection, progress, deps, request, timing)
        return
    if send_time.cancelled(key, request, deps):
        return
    if skip_opted_out(key, request, source, deps):
        return
    try:
        # Records of this batch with the same key wait for each other: the later ones then replay
        # the first one's outcome instead of failing on its in-progress record.
        with deps.key_locks.hold(key, _lock_wait_seconds(deps, remaining_ms)) as free:
            if not free:
                raise TransientError(TransientKind.IN_PROGRESS, "another record of this batch is sending this key")
            once = deps.once.run(key, request.fingerprint(), lambda: _send(key, request, source, deps, timing))
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
        deps.telemetry.count(_OUTCOME_METRICS.get(row.status, names.METRIC_REJECTED))
        if row.status == Status.SENT and row.segments:
            deps.telemetry.count(names.METRIC_SEGMENTS, row.segments)
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
            "encoding": row.encoding,
            "segments": row.segments,
        },
    )


_OUTCOME_METRICS = {
    Status.SENT: names.METRIC_SENT,
    Status.EXPIRED: names.METRIC_EXPIRED,
    Status.REJECTED: names.METRIC_REJECTED,
}


def _reject_input(
    key: str,
    source: SourceMessage,
    rejection: PermanentError,
    progress: RecordProgress,
    deps: SenderDeps,
    request: SendRequest | None = None,
    timing: Timing | None = None,
) -> None:
    """Bad input (DESIGN.md section 4): row REJECTED with the reason, a DLQ copy, acknowledged."""
    row = _settled_row(key, source, Status.REJECTED, rejection.code, rejection.message, progress, deps.clock())
    fields = (
        send_time.option_fields(request, timing)
        if request is not None
        else send_time.raw_body_fields(progress.raw_request, deps.settings.limits)
    )
    deps.results.record(replace(row, **fields))
    _copy_to_dlq(source, key, rejection.code, rejection.message, deps)
    deps.telemetry.count(names.METRIC_REJECTED)
    logger.warning(
        "request rejected",
        extra={"error_code": rejection.code, "reason": redact(rejection.message, progress.body)},
    )


def skip_opted_out(key: str, request: SendRequest, source: SourceMessage, deps: SenderDeps) -> bool:
    """DESIGN.md 10, after validation and before any vendor request: a recipient in the opt-out table ->
    row REJECTED OPTED_OUT, no send, no DLQ copy. True when the request was settled so. The row ranks as
    an input rejection: it never hides a row a send wrote for the same key. TransientError (retried)
    when the table cannot be read."""
    opted_out = deps.optouts.opted_out(request.to)
    if not opted_out:
        return False
    row = send_time.request_row(
        key,
        request,
        source,
        None,
        status=Status.REJECTED,
        rank=RANK_INPUT_REJECTED,
        at=deps.clock(),
        error_code=RejectCode.OPTED_OUT,
        error_message="the recipient has opted out (opt-out table): not sent",
    )
    written = deps.results.record(row)
    deps.telemetry.count(names.METRIC_OPTED_OUT_SKIPPED)
    logger.info(
        "recipient opted out: not sent",
        extra={
            "error_code": RejectCode.OPTED_OUT.value,
            "to": [mask_number(n) for n in opted_out],
            "row_written": written,
        },
    )
    return True


def _send(key: str, request: SendRequest, source: SourceMessage, deps: SenderDeps, timing: Timing) -> ResultRow:
    """Runs at most once per key. Permanent refusals are outcomes (stored); transient ones raise.

    An earlier ambiguous attempt is reconciled first (DESIGN.md 4b): found at the vendor, the row is
    SENT with that MessageId (StatusSource=reconciled) and nothing is sent; too early or no search
    answer, it raises RECONCILING (retried later, nothing sent). An ambiguous send is recorded before
    it raises, so the retry reconciles instead of sending blind.

    The request's validity (DESIGN.md section 9) is checked after reconciling (an earlier attempt may have
    gone out) and before the vendor call, and again by the vendor client once its rate-limit slot is granted:
    EXPIRED, nothing sent, and that is the key's stored outcome.
    """
    decided_at = deps.clock()
    outcome = send_time.request_row(
        key, request, source, timing, status=Status.SENT, rank=RANK_SEND_OUTCOME, at=decided_at
    )
    body = _sent_body(request)
    prior = reconcile.before_send(
        key,
        request.sender,
        request.to,
        body,
        attempts=deps.attempts,
        vendor=deps.vendor,
        rules=deps.settings.reconcile_rules,
        clock=deps.clock,
        telemetry=deps.telemetry,
    )
    if prior.found is not None:
        return _reconciled_row(outcome, prior.found, deps)
    if prior.given_up is not None:
        return replace(
            outcome, status=Status.REJECTED, error_code=RejectCode.AMBIGUOUS_UNRESOLVED, error_message=prior.given_up
        )
    started = deps.clock()
    if timing.deadline is not None and started >= timing.deadline:
        return _expired(outcome, f"its validity ended at {iso(timing.deadline)}, before the vendor call")
    try:
        fetched = deps.media.fetch_all(request.s3_media, request.inline_media_bytes) if request.s3_media else []
        not_after = timing.deadline.timestamp() if timing.deadline is not None else None
        accepted = deps.vendor.send(request.vendor_payload(fetched), not_after=not_after)
    except ValidityEnded as ended:
        return _expired(outcome, f"{ended.message} (valid until {iso(timing.deadline or started)})")
    except PermanentError as refusal:
        return replace(outcome, status=Status.REJECTED, error_code=refusal.code, error_message=refusal.message)
    except TransientError as error:
        if error.kind != TransientKind.AMBIGUOUS:
            raise
        rules = deps.settings.reconcile_rules
        raise reconcile.ambiguous(
            error,
            prior.attempt,
            key,
            request.sender,
            request.to,
            body,
            started,
            deps.clock(),
            attempts=deps.attempts,
            rules=rules,
        ) from None
    return replace(
        outcome,
        message_id=accepted.message_id,
        vendor_status=accepted.vendor_status,
        message_type=accepted.message_type or request.message_type,
        cost=accepted.cost,
        # Into the poll index: looked up if no receipt came by then (DESIGN.md section 8).
        poll_at=decided_at + timedelta(minutes=deps.settings.status_poll_after_minutes),
    )


def _expired(outcome: ResultRow, message: str) -> ResultRow:
    logger.warning("validity ended before the vendor call: expired, not sent", extra={"error_code": VALIDITY_EXPIRED})
    return replace(outcome, status=Status.EXPIRED, error_code=VALIDITY_EXPIRED, error_message=message)


def on_transient_failure(
    source: SourceMessage,
    error: TransientError,
    deps: SenderDeps,
    key: str,
    progress: RecordProgress | None = None,
) -> bool:
    """Account for a retryable failure and carry out the retry policy; True when the record was settled here."""
    progress = progress or RecordProgress(key=key)
    deps.telemetry.count(names.METRIC_TRANSIENT_FAILURES)
    deps.telemetry.count(f"{names.METRIC_TRANSIENT_FAILURE_PREFIX}{error.kind.value}")
    if error.kind == TransientKind.AMBIGUOUS:
        deps.telemetry.count(names.METRIC_AMBIGUOUS_SENDS)
    log = logger.error if error.kind in (TransientKind.CONFIG, TransientKind.AUTH) else logger.warning
    log(
        "transient failure, will retry",
        extra={"failure_class": error.kind.value, "reason": redact(error.message, progress.body)},
    )

    spread = random.random()  # noqa: S311 - jitter, not security
    decision = decide(error, source.receive_count, _max_receives(source, deps), bool(source.queue_arn), spread)
    if decision.action == Action.REQUEUE:
        # A send being reconciled may have gone out: it is never settled as expired or throttled here.
        if error.kind != TransientKind.RECONCILING and (ended := _wait_ended(source, progress, deps)) is not None:
            return ended
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


def on_internal_error(source: SourceMessage, error: Exception, deps: SenderDeps, progress: RecordProgress) -> bool:
    """An unexpected exception (a bug): logged with its type and stack, retried, and settled on the
    queue's last receive (row REJECTED INTERNAL_ERROR and a DLQ copy with the reason), never a silent
    redrive. True when the record was settled here."""
    reason = internal_reason(error, progress.body)
    try:
        deps.telemetry.count(names.METRIC_INTERNAL_ERRORS)
        max_receives = _max_receives(source, deps)
    except Exception:  # the failure path must not fail before its log line
        max_receives = None
    last = max_receives is not None and source.receive_count >= max_receives
    logger.error(
        "unexpected error: settling it as INTERNAL_ERROR" if last else "unexpected error, will retry",
        extra={"error_type": type(error).__name__, "reason": reason, "stack": stack_of(error)},
    )
    if not last:
        return False
    key = progress.key or _peeked_key(progress.raw_request) or source.default_key
    try:
        _copy_to_dlq(source, key, RejectCode.INTERNAL_ERROR, reason, deps)
    except Exception as failure:
        logger.error(
            "could not copy to the DLQ; the queue's redrive policy moves the message there",
            extra={"error_type": type(failure).__name__},
        )
        return False
    try:
        row = _settled_row(key, source, Status.REJECTED, RejectCode.INTERNAL_ERROR, reason, progress, deps.clock())
        deps.results.record(row)
    except Exception as failure:  # the DLQ copy holds the message and its reason
        logger.error("INTERNAL_ERROR row not written", extra={"error_type": type(failure).__name__})
    deps.telemetry.count(names.METRIC_REJECTED)
    return True


def internal_reason(error: BaseException, body: str | None) -> str:
    """`<ExceptionType>: <message>` without the Body or full numbers, short enough for a row and a DLQ attribute."""
    return redact(f"{type(error).__name__}: {error}", body)[:INTERNAL_REASON_MAX]


def stack_of(error: BaseException) -> str:
    """Where it happened (file, line, function, code), innermost last; no message, no local values."""
    return "".join(traceback.format_tb(error.__traceback__))[-STACK_MAX:]


# ---------------------------------------------------------------- helpers


def _measure_age(source: SourceMessage, deps: SenderDeps, since: datetime | None) -> None:
    """MessageAgeSeconds: since the request was due (it first reached the queue, or its later SendAt), across
    requeues (which reset SQS's own age); a send waiting for its SendAt is not old."""
    if since is not None:
        age = (deps.clock() - since).total_seconds()
        deps.telemetry.seconds(names.METRIC_MESSAGE_AGE, max(0.0, age))


def _wait_ended(source: SourceMessage, progress: RecordProgress, deps: SenderDeps) -> bool | None:
    """A throttled request is not put back once its validity has ended (EXPIRED, no DLQ copy) or it has
    waited MAX_MESSAGE_AGE_HOURS since FirstEnqueuedAt (THROTTLED_TOO_LONG, with a DLQ copy). None while
    it may still wait; else whether it was settled here."""
    now = deps.clock()
    key = progress.key or source.default_key
    if progress.valid_until is not None and now >= progress.valid_until:
        message = f"its validity ended at {iso(progress.valid_until)} while the vendor was throttling"
        try:
            deps.results.record(_settled_row(key, source, Status.EXPIRED, VALIDITY_EXPIRED, message, progress, now))
        except TransientError:
            logger.warning("could not record an expired request; it will be retried")
            return False
        deps.telemetry.count(names.METRIC_EXPIRED)
        logger.warning("validity ended while throttled: expired, not sent", extra={"error_code": VALIDITY_EXPIRED})
        return True
    first = source.first_enqueued_at
    limit = timedelta(hours=deps.settings.max_message_age_hours)
    if first is None or now - first < limit:
        return None
    code = RejectCode.THROTTLED_TOO_LONG
    message = (
        f"throttled since {iso(first)}: not sent within MAX_MESSAGE_AGE_HOURS={deps.settings.max_message_age_hours:g}"
    )
    try:
        deps.results.record(_settled_row(key, source, Status.REJECTED, code, message, progress, now))
        _copy_to_dlq(source, key, code, message, deps)
    except TransientError:
        logger.warning("could not settle a request throttled too long; it will be retried")
        return False
    deps.telemetry.count(names.METRIC_THROTTLED_TOO_LONG)
    deps.telemetry.count(names.METRIC_REJECTED)
    logger.error("throttled too long: moved to the DLQ", extra={"error_code": code})
    return True


def _requeue(source: SourceMessage, delay: int, deps: SenderDeps) -> bool:
    """Put the message back as a new one with the same body, attributes and idempotency key, and the
    time it first reached the queue."""
    attributes = send_time.carried_attributes(source, source.first_enqueued_at)
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


def _lock_wait_seconds(deps: SenderDeps, remaining_ms: Callable[[], int] | None) -> float:
    """How long a record may wait for another record of its batch with the same key: while a send could
    still start after it (the deadline guard)."""
    if remaining_ms is None:
        return deps.settings.deadline_guard_ms / 1000
    return max(0.0, (remaining_ms() - deps.settings.deadline_guard_ms) / 1000)


def _copy_to_dlq(source: SourceMessage, key: str, code: str, message: str, deps: SenderDeps) -> None:
    deps.dlq.copy(source.body, dead_letter_reasons(source, key, code, message, deps.clock()))


def _peeked_key(raw: Any) -> str | None:
    """The producer's key from a request the parser could not finish with (the row goes under it)."""
    try:
        return peek_idempotency_key(raw)
    except Exception:
        return None


def _body_text(raw: Any) -> str | None:
    body = raw.get("Body") if isinstance(raw, Mapping) else None
    return body if isinstance(body, str) else None


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


def _settled_row(
    key: str, source: SourceMessage, status: Status, code: str, message: str, progress: RecordProgress, now: datetime
) -> ResultRow:
    """A request refused before any send (bad input) or given up without a send outcome of its own
    (INTERNAL_ERROR, THROTTLED_TOO_LONG, expired): ranked as an input rejection, so it never hides a row the
    send path wrote for the same key. Its numbers are the well-formed ones of the raw request, if any."""
    try:
        to, sender = _numbers_of(progress.raw_request)
    except Exception:  # the numbers are a courtesy; the row must be written
        to, sender = (), None
    return send_time.source_row(
        key,
        source,
        status=status,
        rank=RANK_INPUT_REJECTED,
        at=now,
        to=to,
        sender=sender,
        error_code=code,
        error_message=message,
    )


# ---------------------------------------------------------------- ambiguous sends and call deadlines (4b, defect 6)

VENDOR_FINISH_MS = 1000  # kept free after the last vendor call: recording the outcome, answering SQS


def _begin_vendor_calls(deps: SenderDeps, remaining_ms: int) -> None:
    """No vendor call of this invocation may run into the time needed to record its outcome."""
    deps.vendor.begin(deps.clock().timestamp() + (remaining_ms - VENDOR_FINISH_MS) / 1000)


def _sent_body(request: SendRequest) -> str:
    """The Body exactly as it goes to the vendor: what a reconciling search compares (by hash)."""
    body = request.vendor_payload().get("Body")
    return body if isinstance(body, str) else request.body


def _reconciled_row(outcome: ResultRow, found: VendorMessage, deps: SenderDeps) -> ResultRow:
    """SENT with the MessageId the search found: the earlier ambiguous send went out."""
    return replace(
        outcome,
        message_id=found.message_id,
        vendor_status=found.status or "Queued",
        message_type=found.message_type or outcome.message_type,
        cost=found.cost,
        status_source="reconciled",
        poll_at=outcome.updated_at + timedelta(minutes=deps.settings.status_poll_after_minutes),
    )
