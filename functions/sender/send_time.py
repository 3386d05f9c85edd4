"""Send-time options in the send path (DESIGN.md section 9): when a request is due and until when it is
worth sending, deferring a later SendAt (delayed requeue or one-time schedule), and dry runs.

Decisions (README "Send-time options"):
- Validity counts from the moment the request is due: FirstEnqueuedAt (the first copy's SQS SentTimestamp,
  carried across requeues and schedules), or its SendAt when that is later. So `ValiditySeconds: 600` with a
  SendAt tomorrow means "within 10 minutes of the SendAt", and a stack-wide default validity never expires a
  scheduled send before it is due. ValidUntil is absolute: one at or before SendAt expires the request at once.
- A request deferred for its SendAt takes no idempotency record: the later send is the one that counts. Its
  row is SCHEDULED (ranked below any send outcome, so the later SENT replaces it).
- A request whose validity ended before its vendor call is the key's outcome (row EXPIRED, stored by the
  once-per-key gate): a later duplicate of the key sees EXPIRED and is not sent. One that could never be sent
  in time (ValidUntil at or before SendAt) is settled before the gate and leaves no record.
- A dry run writes only its DRYRUN#<key> row: no idempotency record, no rate-limit slot, no vendor call, no
  DLQ copy even when it would fail (the row says why; nothing was asked to be sent).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from messaging import names
from messaging.checks import is_e164
from messaging.envelopes import unwrap
from messaging.errors import PermanentError, RejectCode, TransientError, TransientKind
from messaging.lanes import Lane
from messaging.lifecycle import RANK_SCHEDULED, Status
from messaging.media import MediaFetcher
from messaging.optouts import OptOutCheck
from messaging.ports import QueueControl, ResultStore, SendSchedules, Telemetry
from messaging.request import SendRequest
from messaging.rows import DryRunRow, ResultRow, iso
from messaging.segments import count_segments, smart_encode
from messaging.send_options import (
    SendAction,
    SendPlan,
    format_instant,
    is_expired,
    parse_instant,
    plan_send_at,
    schedule_name,
    validity_deadline,
)
from messaging.settings import Limits, Settings
from observability import logger
from sender.source_message import SourceMessage


@dataclass(frozen=True)
class Timing:
    """When a request first reached a queue, when it is due, and until when it is worth sending."""

    first_enqueued_at: datetime
    due_at: datetime
    deadline: datetime | None

    @classmethod
    def of(cls, request: SendRequest, source: SourceMessage, settings: Settings, lane: Lane, now: datetime) -> Timing:
        """FirstEnqueuedAt is the earliest of the body's (set by the relay on a schedule's copy), the copy's
        attribute (requeues) and the copy's own SentTimestamp: a producer cannot make a request younger."""
        known = [moment for moment in (request.first_enqueued_at, source.first_enqueued_at) if moment is not None]
        first = min(known) if known else now
        due = max(first, request.send_at) if request.send_at is not None else first
        deadline = validity_deadline(
            request.valid_until, request.validity_seconds, due, settings.default_validity_seconds(lane)
        )
        return cls(first, due, deadline)


class Deps(Protocol):
    """What this module needs from the sender's dependencies (SenderDeps has it all)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def results(self) -> ResultStore: ...

    @property
    def queues(self) -> QueueControl: ...

    @property
    def schedules(self) -> SendSchedules | None: ...

    @property
    def media(self) -> MediaFetcher: ...

    @property
    def optouts(self) -> OptOutCheck: ...

    @property
    def telemetry(self) -> Telemetry: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


class _NotPeeked(Exception):
    """An extended-client pointer: its payload is read when the record is handled, not to peek."""


def _no_payload(bucket: str, key: str) -> bytes:
    raise _NotPeeked


def may_send_now(body: str, now: datetime) -> bool:
    """Whether a record may make a vendor request in this invocation, peeked from its body without fetching
    anything: not a dry run, no SendAt more than a second ahead (those take no rate-limit slot). Anything
    that cannot be peeked counts as a send."""
    try:
        request = unwrap(body, _no_payload).request
    except (PermanentError, _NotPeeked):
        return True
    if not isinstance(request, Mapping):
        return True
    if request.get(names.FIELD_DRY_RUN) is True:
        return False
    try:
        send_at = parse_instant(request.get(names.FIELD_SEND_AT))
    except ValueError:
        return True
    return plan_send_at(send_at, now).action == SendAction.SEND_NOW


def option_fields(request: SendRequest, timing: Timing | None) -> dict[str, Any]:
    """The row attributes a request's send-time options and Body give every row of it (DESIGN.md 3, 9)."""
    cost = request.segments
    return {
        "encoding": cost.encoding,
        "segments": cost.segments,
        "send_at": request.send_at,
        "valid_until": timing.deadline if timing is not None else request.valid_until,
        "priority": request.priority,
    }


def source_row(key: str, source: SourceMessage, *, status: Status, rank: int, at: datetime, **fields: Any) -> ResultRow:
    """A row keyed `key` for the SQS copy `source` (its message id and receive count), plus `fields`."""
    return ResultRow(
        request_id=key,
        status=status,
        rank=rank,
        updated_at=at,
        source_message_id=source.message_id,
        attempts=source.receive_count,
        **fields,
    )


def request_row(
    key: str,
    request: SendRequest,
    source: SourceMessage,
    timing: Timing | None,
    *,
    status: Status,
    rank: int,
    at: datetime,
    **fields: Any,
) -> ResultRow:
    """The row of a parsed request in any state: who it is for and its send-time options, plus `fields`."""
    return source_row(
        key,
        source,
        status=status,
        rank=rank,
        at=at,
        to=request.to,
        sender=request.sender,
        campaign_id=request.campaign_id,
        message_type=request.message_type,
        **option_fields(request, timing),
        **fields,
    )


def raw_body_fields(raw: Any, limits: Limits) -> dict[str, Any]:
    """Encoding and segments of a rejected request's Body, when it has a text Body (best effort)."""
    body = raw.get("Body") if isinstance(raw, Mapping) else None
    if not isinstance(body, str) or len(body) > 100 * limits.body_max_chars:
        return {}
    cost = count_segments(smart_encode(body) if limits.smart_encoding else body)
    return {"encoding": cost.encoding, "segments": cost.segments}


def plan(request: SendRequest, settings: Settings, now: datetime) -> SendPlan:
    return plan_send_at(request.send_at, now, max_delay=timedelta(seconds=settings.sendat_delay_max_seconds))


# ---------------------------------------------------------------- deferring a later SendAt


def defer(
    key: str,
    request: SendRequest,
    raw: Mapping[str, Any],
    source: SourceMessage,
    timing: Timing,
    lane_queue_arn: str | None,
    deps: Deps,
) -> bool:
    """Honour a SendAt that is not due yet; True when the request was handled here (not sent now).

    Raises PermanentError for a SendAt too far ahead or a request too large to schedule (the caller rejects
    it as bad input), TransientError when SQS, the scheduler or the row store fails (retried; a retry finds
    its schedule already there).
    """
    now = deps.clock()
    decided = plan(request, deps.settings, now)
    if decided.action == SendAction.SEND_NOW:
        return False
    if decided.action == SendAction.REJECT:
        raise PermanentError(RejectCode.SEND_AT_TOO_FAR, decided.reason or "SendAt is too far ahead")
    send_at = request.send_at
    assert send_at is not None  # only a SendAt can be planned later than now
    if cancelled(key, request, deps):
        return True
    if timing.deadline is not None and timing.deadline <= send_at:
        _expire_unsendable(key, request, source, timing, deps, now)
        return True
    if decided.action == SendAction.DELAY:
        _delay(source, decided.delay_seconds or 1, timing, deps)
        how = "put back on the queue until its SendAt"
        deps.telemetry.count(names.METRIC_SEND_AT_DELAYED)
    else:
        created = _schedule(key, raw, timing, decided, lane_queue_arn, deps)
        how = "scheduled for its SendAt" if created else "already scheduled for its SendAt (a redelivery)"
        if created:
            deps.telemetry.count(names.METRIC_SCHEDULED)
    written = deps.results.record(_scheduled_row(key, request, source, timing, now))
    logger.info(
        f"not due yet: {how}",
        extra={
            "send_at": iso(send_at),
            "plan": decided.action.value,
            "delay_seconds": decided.delay_seconds,
            "row_written": written,
        },
    )
    return True


def cancelled(key: str, request: SendRequest, deps: Deps) -> bool:
    """A request with a SendAt whose row an operator CANCELLED (`telegent-sms schedule cancel`) is never
    sent nor scheduled again, whichever copy of it comes back (a late redelivery of the original, a
    copy fired just before the cancel). One consistent read, only for requests that carry a SendAt."""
    if request.send_at is None or deps.results.status_of(key) != Status.CANCELLED:
        return False
    logger.info("cancelled by an operator: not sent", extra={"send_at": iso(request.send_at)})
    return True


def carried_attributes(source: SourceMessage, first_enqueued_at: datetime | None) -> dict[str, Any]:
    """The message attributes a copy of the record keeps: its own, the first SQS message id (the key of a
    request without IdempotencyKey) and when the request first reached a queue."""
    attributes = dict(source.message_attributes)
    attributes[names.ATTR_ORIGINAL_MESSAGE_ID] = {"stringValue": source.default_key, "dataType": "String"}
    if first_enqueued_at is not None:
        attributes[names.ATTR_FIRST_ENQUEUED_AT] = {"stringValue": iso(first_enqueued_at), "dataType": "String"}
    return attributes


def _delay(source: SourceMessage, seconds: int, timing: Timing, deps: Deps) -> None:
    if not source.queue_arn:
        raise TransientError(TransientKind.CONFIG, "a SendAt delay needs the record's source queue")
    attributes = carried_attributes(source, timing.first_enqueued_at)
    deps.queues.requeue(source.queue_arn, source.body, attributes, seconds)


def scheduled_body(raw: Mapping[str, Any], key: str, first_enqueued_at: datetime) -> str:
    """The schedule's input: the same request, with its key (the original SQS message id when the producer
    gave none) and FirstEnqueuedAt, since Scheduler cannot set SQS message attributes."""
    body = dict(raw)
    body[names.FIELD_IDEMPOTENCY_KEY] = key
    body[names.FIELD_FIRST_ENQUEUED_AT] = format_instant(first_enqueued_at)
    return json.dumps(body, separators=(",", ":"))


def _schedule(
    key: str, raw: Mapping[str, Any], timing: Timing, decided: SendPlan, target_arn: str | None, deps: Deps
) -> bool:
    body = _schedule_input(raw, key, timing)
    if deps.schedules is None:
        raise TransientError(
            TransientKind.CONFIG,
            "a SendAt this far ahead needs SCHEDULE_GROUP_NAME, SCHEDULER_ROLE_ARN and QUEUE_ARN",
        )
    assert decided.at is not None
    return deps.schedules.schedule(schedule_name(key), decided.at, body, target_arn)


def _schedule_input(raw: Mapping[str, Any], key: str, timing: Timing) -> str:
    body = scheduled_body(raw, key, timing.first_enqueued_at)
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > names.SCHEDULE_INPUT_MAX_BYTES:
        raise PermanentError(
            RejectCode.NOT_SCHEDULABLE,
            f"the request is {size} bytes; a schedule carries at most {names.SCHEDULE_INPUT_MAX_BYTES} "
            "(put large media in MmsS3, or send it within SENDAT_DELAY_MAX_SECONDS of its SendAt)",
        )
    return body


def _scheduled_row(key: str, request: SendRequest, source: SourceMessage, timing: Timing, now: datetime) -> ResultRow:
    return request_row(key, request, source, timing, status=Status.SCHEDULED, rank=RANK_SCHEDULED, at=now)


def _expire_unsendable(
    key: str, request: SendRequest, source: SourceMessage, timing: Timing, deps: Deps, now: datetime
) -> None:
    """Its validity ends at or before its SendAt: it can never be sent. Row EXPIRED, no record, no DLQ copy."""
    assert timing.deadline is not None
    assert request.send_at is not None
    row = request_row(
        key,
        request,
        source,
        timing,
        status=Status.EXPIRED,
        rank=RANK_SCHEDULED,
        at=now,
        error_code=RejectCode.VALIDITY_EXPIRED,
        error_message=f"its validity ends at {iso(timing.deadline)}, not after its SendAt {iso(request.send_at)}",
    )
    written = deps.results.record(row)
    deps.telemetry.count(names.METRIC_EXPIRED)
    logger.warning(
        "validity ends before SendAt: expired, not sent",
        extra={"error_code": RejectCode.VALIDITY_EXPIRED.value, "row_written": written},
    )


# ---------------------------------------------------------------- dry runs


def dry_run(
    key: str, request: SendRequest, raw: Mapping[str, Any], source: SourceMessage, timing: Timing, deps: Deps
) -> DryRunRow:
    """Every check of the send path, nothing sent and nothing the real request would find later: writes
    the DRYRUN#<key> row with what would be sent, or the reason it would fail. TransientError when a
    check could not be made (S3, the opt-out table): the dry run is retried like any record."""
    now = deps.clock()
    cost = request.segments
    row = DryRunRow(
        key=key,
        updated_at=now,
        source_message_id=source.message_id,
        would=Status.SENT.value,
        to=request.to,
        sender=request.sender,
        campaign_id=request.campaign_id,
        message_type=request.message_type,
        encoding=cost.encoding,
        segments=cost.segments,
        media_sizes=tuple(m.size for m in request.inline_media),
        send_at=request.send_at,
        valid_until=timing.deadline,
        priority=request.priority,
    )
    try:
        decided = plan(request, deps.settings, now)
        row = replace(row, plan=decided.action.value)
        if decided.action == SendAction.REJECT:
            raise PermanentError(RejectCode.SEND_AT_TOO_FAR, decided.reason or "SendAt is too far ahead")
        if decided.action == SendAction.SCHEDULE:
            _check_schedulable(raw, key, timing, deps)
        due = request.send_at if decided.action != SendAction.SEND_NOW and request.send_at else now
        if timing.deadline is not None and (is_expired(timing.deadline, now) or timing.deadline <= due):
            return _record_dry_run(
                replace(
                    row,
                    would=Status.EXPIRED.value,
                    error_code=RejectCode.VALIDITY_EXPIRED.value,
                    error_message=f"its validity ends at {iso(timing.deadline)}, before it could be sent",
                ),
                deps,
            )
        if deps.optouts.enabled and deps.optouts.opted_out(request.to):
            raise PermanentError(RejectCode.OPTED_OUT, "the recipient has opted out (opt-out table): not sent")
        if request.s3_media:
            sizes = deps.media.sizes(request.s3_media, request.inline_media_bytes)
            row = replace(row, media_sizes=row.media_sizes + tuple(sizes))
        if decided.action != SendAction.SEND_NOW:
            row = replace(row, would=Status.SCHEDULED.value)
    except PermanentError as failure:
        row = replace(row, would=Status.REJECTED.value, error_code=failure.code, error_message=failure.message)
    return _record_dry_run(row, deps)


def failed_dry_run(key: str, source: SourceMessage, rejection: PermanentError, raw: Any, deps: Deps) -> DryRunRow:
    """A dry run whose request is not valid: its row says why (no REJECTED row, no DLQ copy)."""
    to, sender = _numbers(raw)
    fields = raw_body_fields(raw, deps.settings.limits)
    row = DryRunRow(
        key=key,
        updated_at=deps.clock(),
        source_message_id=source.message_id,
        would=Status.REJECTED.value,
        to=to,
        sender=sender,
        encoding=fields.get("encoding"),
        segments=fields.get("segments"),
        error_code=rejection.code,
        error_message=rejection.message,
    )
    return _record_dry_run(row, deps)


def _check_schedulable(raw: Mapping[str, Any], key: str, timing: Timing, deps: Deps) -> None:
    _schedule_input(raw, key, timing)
    if deps.schedules is None:
        raise PermanentError(
            RejectCode.NOT_SCHEDULABLE,
            "this stack cannot schedule sends (SCHEDULE_GROUP_NAME, SCHEDULER_ROLE_ARN, QUEUE_ARN unset)",
        )


def _record_dry_run(row: DryRunRow, deps: Deps) -> DryRunRow:
    deps.results.record_dry_run(row)
    deps.telemetry.count(names.METRIC_DRY_RUNS)
    logger.info(
        "dry run: nothing sent",
        extra={
            "would_be": row.would,
            "plan": row.plan,
            "error_code": row.error_code,
            "encoding": row.encoding,
            "segments": row.segments,
        },
    )
    return row


def _numbers(raw: Any) -> tuple[tuple[str, ...], str | None]:
    if not isinstance(raw, Mapping):
        return (), None
    recipients = raw.get("To")
    items = recipients if isinstance(recipients, list) else []
    to = tuple(item["Number"] for item in items if isinstance(item, Mapping) and is_e164(item.get("Number")))
    sender = raw.get("From")
    return to, sender if is_e164(sender) else None
