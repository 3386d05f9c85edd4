"""Per-record path of the tracker: receipts update rows; inbound messages apply opt-out keywords, become events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from messaging import names
from messaging.errors import TransientError, TransientKind
from messaging.optouts import Intent, KeywordRules
from messaging.ports import (
    DeadLetterSink,
    EventPublisher,
    OptOut,
    OptOutStore,
    QueueControl,
    StatusStore,
    TrackingTelemetry,
)
from messaging.receipts import Inbound, Receipt, Unrecognised, parse_envelope
from messaging.redaction import mask_number
from messaging.request import is_e164
from messaging.rows import iso
from messaging.status_writes import write_status
from messaging.tracking import StatusUpdate
from observability import logger

SOURCE_CALLBACK = "callback"


@dataclass
class TrackerDeps:
    store: StatusStore
    events: EventPublisher
    dlq: DeadLetterSink
    queues: QueueControl
    telemetry: TrackingTelemetry
    clock: Callable[[], datetime]
    optouts: OptOutStore | None = None  # OPTOUT_TABLE unset: inbound keywords change nothing (DESIGN.md 10)
    keywords: KeywordRules = field(default_factory=KeywordRules)


class ReceiptBeforeRow(TransientError):
    """The receipt names a MessageId no row has yet (the sender may not have committed it)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(TransientKind.DEPENDENCY, f"no row has MessageId {message_id} yet")
        self.message_id = message_id


def handle_record(record: Mapping[str, Any], deps: TrackerDeps) -> None:
    """Batch record handler: raises only for records that must be retried."""
    body = str(record.get("body") or "")
    try:
        for item in parse_envelope(body):
            if isinstance(item, Receipt):
                apply_receipt(item, deps)
            elif isinstance(item, Inbound):
                apply_keyword(item, deps)
                publish_inbound(item, deps)
            else:
                _settle_unrecognised(record, item, deps)
    except ReceiptBeforeRow as unmatched:
        if not _last_receive(record, deps):
            logger.info("receipt before its row; will retry", extra={"message_id": unmatched.message_id})
            raise
        deps.dlq.copy(body, _reasons(record, names.STATUS_REASON_UNKNOWN_MESSAGE_ID, unmatched.message, deps))
        deps.telemetry.count(names.METRIC_RECEIPTS_UNMATCHED)
        logger.warning(
            "receipt for an unknown MessageId moved to the status DLQ", extra={"message_id": unmatched.message_id}
        )


def apply_receipt(receipt: Receipt, deps: TrackerDeps) -> None:
    request_id = deps.store.request_id_for(receipt.message_id)
    if request_id is None:
        raise ReceiptBeforeRow(receipt.message_id)
    extra = {"message_id": receipt.message_id, "vendor_status": receipt.vendor_status, "request_id": request_id}
    if receipt.final and receipt.status is not None:
        update = StatusUpdate(
            status=receipt.status,
            source=SOURCE_CALLBACK,
            status_at=receipt.status_at,
            written_at=deps.clock(),
            vendor_status=receipt.vendor_status,
            error_code=receipt.error_code,
        )
        change = write_status(deps.store, request_id, update, deps.telemetry)
        logger.info(
            "receipt applied" if change else "receipt changes nothing", extra={**extra, "status": update.status}
        )
        return
    if receipt.status is None:
        logger.warning("unknown vendor status kept as VendorStatus, not final", extra=extra)
    refreshed = receipt.vendor_status is not None and deps.store.refresh_vendor_status(
        request_id, receipt.vendor_status, receipt.status_at
    )
    logger.info("non-final receipt", extra={**extra, "refreshed": refreshed})


def apply_keyword(inbound: Inbound, deps: TrackerDeps) -> None:
    """DESIGN.md 10: an inbound text that is wholly an opt-out keyword adds the sender's number to the
    opt-out table (Source=keyword, OptedOutAt = when the message was received); an opt-in keyword
    removes it. Written before the event is published, so a retry repeats both (each is idempotent)."""
    match = deps.keywords.match(inbound.body)
    if match is None:
        return
    extra = {"message_id": inbound.message_id, "keyword": match.keyword, "intent": match.intent.value}
    if deps.optouts is None:
        logger.warning("opt-out keyword received but no opt-out table is configured (OPTOUT_TABLE)", extra=extra)
        return
    if not is_e164(inbound.sender):
        logger.warning("opt-out keyword from a sender that is not an E.164 number: ignored", extra=extra)
        return
    number = str(inbound.sender)
    extra["from"] = mask_number(number)
    if match.intent == Intent.OPT_OUT:
        entry = OptOut(number, inbound.received_at, names.OPTOUT_SOURCE_KEYWORD, match.keyword)
        changed = deps.optouts.add(entry)
        if changed:
            deps.telemetry.count(names.METRIC_OPTOUTS_ADDED)
        logger.info("opted out by keyword" if changed else "opt-out keyword: a newer entry stays", extra=extra)
    else:
        changed = deps.optouts.remove(number, inbound.received_at)
        if changed:
            deps.telemetry.count(names.METRIC_OPTOUTS_REMOVED)
        logger.info("opted back in by keyword" if changed else "opt-in keyword: nothing to remove", extra=extra)


def publish_inbound(inbound: Inbound, deps: TrackerDeps) -> None:
    failed = deps.events.publish([(names.EVENT_DETAIL_TYPE_INBOUND, inbound.event_detail())])
    if failed:
        raise TransientError(TransientKind.DEPENDENCY, "publishing the inbound event failed")
    logger.info("inbound message published", extra={"message_id": inbound.message_id})


def _settle_unrecognised(record: Mapping[str, Any], item: Unrecognised, deps: TrackerDeps) -> None:
    deps.dlq.copy(str(record.get("body") or ""), _reasons(record, names.STATUS_REASON_UNRECOGNISED, item.problem, deps))
    logger.warning("webhook payload not understood; copied to the status DLQ", extra={"problem": item.problem})


def _receive_count(record: Mapping[str, Any]) -> int:
    try:
        return int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    except ValueError:
        return 1


def _last_receive(record: Mapping[str, Any], deps: TrackerDeps) -> bool:
    arn = str(record.get("eventSourceARN") or "")
    if not arn:
        return True  # no queue to retry from
    try:
        max_receives = deps.queues.max_receive_count(arn)
    except TransientError:
        return False  # the redrive policy still catches it
    return max_receives is not None and _receive_count(record) >= max_receives


def _reasons(record: Mapping[str, Any], reason: str, message: str, deps: TrackerDeps) -> dict[str, str]:
    return {
        names.DLQ_ATTR_REASON: reason,
        names.DLQ_ATTR_ERROR_MESSAGE: message,
        names.DLQ_ATTR_SOURCE_MESSAGE_ID: str(record.get("messageId") or ""),
        names.DLQ_ATTR_SOURCE_QUEUE: str(record.get("eventSourceARN") or ""),
        names.DLQ_ATTR_RECEIVE_COUNT: str(_receive_count(record)),
        names.DLQ_ATTR_REJECTED_AT: iso(deps.clock()),
    }
