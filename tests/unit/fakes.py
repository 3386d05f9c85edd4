"""In-memory stand-ins for the sender's collaborators (unit tests only: no sockets)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging.ambiguity import SearchPage, VendorMessage
from messaging.errors import (
    IdempotencyConflict,
    PermanentError,
    RejectCode,
    TransientError,
    TransientKind,
    ValidityEnded,
)
from messaging.lifecycle import may_replace
from messaging.media import MediaFetcher
from messaging.ports import Acceptance, EncodedMedia, ObjectInfo, Once, S3Object
from messaging.rows import DryRunRow, ResultRow
from messaging.settings import Limits, Settings
from observability import Telemetry
from sender.pipeline import SenderDeps

MEDIA_BUCKET = "media-bucket"


def settings(**limits: Any) -> Settings:
    return Settings(
        base_url="https://telegent.test/v1.0",
        secret_id="telegent/creds",
        messages_table="messages",
        idempotency_table="idempotency",
        dlq_url="https://sqs.test/000000000000/dlq",
        limits=Limits(media_bucket=MEDIA_BUCKET, media_prefix="mms/", **limits),
    )


class FakeVendor:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.failures: list[Exception] = []
        # Accepted (stored as sent, searchable), then this error instead of the answer.
        self.lost_answers: list[Exception] = []
        self.search_failures: list[Exception] = []
        self.searches: list[tuple[str, int]] = []
        self.deadlines: list[float] = []
        # Each send's validity end (DESIGN.md 9), and the time the rate-limit slot comes: set it to model a
        # slot that comes after the validity ended (the real client raises ValidityEnded, nothing sent).
        self.not_afters: list[float | None] = []
        self.slot_time: Callable[[], float] | None = None

    def begin(self, deadline: float) -> None:
        self.deadlines.append(deadline)

    def send(self, payload: Mapping[str, Any], not_after: float | None = None) -> Acceptance:
        self.not_afters.append(not_after)
        if not_after is not None and self.slot_time is not None and self.slot_time() >= not_after:
            raise ValidityEnded("its validity ended while it waited for a rate-limit slot")
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(payload)
        if self.lost_answers:
            raise self.lost_answers.pop(0)
        return Acceptance(f"TMID-{len(self.sent):04d}", "Queued", None, None)

    def search(self, phone_number: str, page: int = 1, results: int = 100) -> SearchPage:
        self.searches.append((phone_number, page))
        if self.search_failures:
            raise self.search_failures.pop(0)
        found = [
            VendorMessage(
                message_id=f"TMID-{index + 1:04d}",
                direction="Outbound",
                sender=payload["From"],
                to=tuple(item["Number"] for item in payload["To"]),
                body=payload["Body"],
                status="Queued",
            )
            for index, payload in enumerate(self.sent)
            if phone_number in [item["Number"] for item in payload["To"]]
        ]
        found.reverse()  # newest first, like the vendor's
        start = (page - 1) * results
        return SearchPage(tuple(found[start : start + results]), pages=-(-len(found) // results))


class FakeObjects:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], S3Object] = {}
        self.heads: list[tuple[str, str]] = []
        self.reads: list[tuple[str, str]] = []

    def read_base64(self, bucket: str, key: str, max_bytes: int) -> EncodedMedia:
        obj = self.read(bucket, key, max_bytes)
        return EncodedMedia(bytearray(base64.b64encode(obj.data)), len(obj.data), obj.content_type)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self.heads.append((bucket, key))
        obj = self.objects.get((bucket, key))
        if obj is None:
            raise PermanentError(RejectCode.MEDIA_NOT_FOUND, f"s3://{bucket}/{key} does not exist")
        return ObjectInfo(len(obj.data), obj.content_type)

    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        self.reads.append((bucket, key))
        obj = self.objects.get((bucket, key))
        if obj is None:
            raise PermanentError(RejectCode.MEDIA_NOT_FOUND, f"s3://{bucket}/{key} does not exist")
        if len(obj.data) > max_bytes:
            raise PermanentError(RejectCode.MEDIA_TOO_LARGE, "too large")
        return obj


class FakeResults:
    """Applies the same write rule as the DynamoDB store."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.status_reads = 0

    def record(self, row: ResultRow) -> bool:
        current = self.rows.get(row.request_id)
        new = row.attributes(ttl_days=90)
        if current is not None and not may_replace(
            current["StatusRank"], current["UpdatedAt"], row.rank, new["UpdatedAt"]
        ):
            return False
        if current is not None:
            new["CreatedAt"] = current["CreatedAt"]  # the first write's time is kept
        self.rows[row.request_id] = {"RequestId": row.request_id, **new}
        return True

    def record_dry_run(self, row: DryRunRow) -> None:
        self.rows[row.request_id] = {"RequestId": row.request_id, **row.attributes()}

    def status_of(self, key: str) -> str | None:
        self.status_reads += 1
        return self.rows.get(key, {}).get("Status")


@dataclass
class FakeSchedules:
    """EventBridge Scheduler in memory: one schedule per name; a second create is refused (a redelivery)."""

    created: dict[str, tuple[datetime, str, str | None]] = field(default_factory=dict)
    calls: int = 0
    failures: list[Exception] = field(default_factory=list)

    def schedule(self, name: str, at: datetime, body: str, target_arn: str | None = None) -> bool:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        if name in self.created:
            return False
        self.created[name] = (at, body, target_arn)
        return True

    def cancel(self, name: str) -> bool:
        return self.created.pop(name, None) is not None


class FakeDlq:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, str]]] = []

    def copy(self, body: str, reasons: Mapping[str, str]) -> None:
        self.messages.append((body, dict(reasons)))


@dataclass
class FakeQueues:
    max_receives: int | None = 5
    delays: list[tuple[str, int]] = field(default_factory=list)
    requeued: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        self.delays.append((receipt_handle, seconds))

    def max_receive_count(self, queue_arn: str) -> int | None:
        return self.max_receives

    def requeue(self, queue_arn: str, body: str, attributes: Mapping[str, Any], delay_seconds: int) -> None:
        self.requeued.append((body, dict(attributes), delay_seconds))


class FakeOnce:
    """Same contract as PowertoolsOnceGate: one run per key, payload must match, failures forget, and
    a key being run elsewhere is IN_PROGRESS."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[str, dict[str, Any]]] = {}
        self.in_progress: set[str] = set()
        self._lock = threading.Lock()

    def register_lambda_context(self, context: Any) -> None:
        return None

    def run(self, key: str, fingerprint: dict[str, Any], action: Callable[[], ResultRow]) -> Once:
        digest = json.dumps(fingerprint, sort_keys=True)
        with self._lock:
            if key in self.records:
                stored_digest, stored = self.records[key]
                if stored_digest != digest:
                    raise IdempotencyConflict()
                return Once(ResultRow.from_record(stored), ran_now=False, row_written=False)
            if key in self.in_progress:
                raise TransientError(TransientKind.IN_PROGRESS, "another invocation is sending this key")
            self.in_progress.add(key)
        try:
            row = action()
            with self._lock:
                # Stored as JSON, as the real gate stores it: a replay gets exactly what survives that.
                self.records[key] = (digest, json.loads(json.dumps(row.to_record())))
        finally:
            with self._lock:
                self.in_progress.discard(key)
        return Once(row, ran_now=True, row_written=False)


class FakeMetrics:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}
        self.values: dict[str, list[tuple[float, str]]] = {}  # every value with its unit

    def add_metric(self, name: str, unit: Any, value: float, **_: Any) -> None:
        self.counts[name] = self.counts.get(name, 0) + value
        self.values.setdefault(name, []).append((value, str(getattr(unit, "value", unit))))


@dataclass
class World:
    deps: SenderDeps
    vendor: FakeVendor
    objects: FakeObjects
    results: FakeResults
    dlq: FakeDlq
    queues: FakeQueues
    once: FakeOnce
    metrics: FakeMetrics
    schedules: FakeSchedules


def make_world(**limits: Any) -> World:
    vendor, objects, results, dlq, queues, once = (
        FakeVendor(),
        FakeObjects(),
        FakeResults(),
        FakeDlq(),
        FakeQueues(),
        FakeOnce(),
    )
    metrics = FakeMetrics()
    schedules = FakeSchedules()
    config = settings(**limits)
    ticks = iter(range(10**6))

    def clock() -> datetime:
        # Strictly increasing, so "newer" is well defined.
        return datetime.fromtimestamp(1_800_000_000 + next(ticks), tz=UTC)

    deps = SenderDeps(
        settings=config,
        vendor=vendor,
        media=MediaFetcher(objects, config.limits),
        results=results,
        dlq=dlq,
        queues=queues,
        once=once,
        telemetry=Telemetry(metrics),  # type: ignore[arg-type]
        clock=clock,
        schedules=schedules,
    )
    return World(deps, vendor, objects, results, dlq, queues, once, metrics, schedules)


def sqs_record(body: Any, message_id: str = "msg-1", receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}-{receive_count}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1800000000000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:telegent-sms-queue",
        "awsRegion": "us-east-1",
    }
