"""The small interfaces the domain and the functions depend on, and the values that cross them.

Adapters (aws_adapters/, telegent/, observability/) implement these; unit tests use in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from messaging.ambiguity import Attempt, Earlier, SearchPage
from messaging.lanes import Lane
from messaging.rows import DryRunRow, ResultRow
from messaging.tracking import PollCandidate, StatusChange, StatusUpdate

# ---------------------------------------------------------------- the vendor


@dataclass(frozen=True)
class Acceptance:
    """Telegent took the message (2xx with a MessageId)."""

    message_id: str
    vendor_status: str
    message_type: str | None
    cost: Decimal | None


@dataclass(frozen=True)
class Credentials:
    account_key: str
    account_secret: str = field(repr=False)


# Returns the account credentials; True asks for a fresh read (after the vendor refused a token).
CredentialsSource = Callable[[bool], Credentials]


class VendorClient(Protocol):
    def begin(self, deadline: float) -> None:
        """A new invocation: no vendor call may run past `deadline` (epoch seconds)."""
        ...

    def send(self, payload: Mapping[str, Any], not_after: float | None = None) -> Acceptance:
        """POST /message/outbound; raises PermanentError or TransientError (DESIGN.md section 4).

        `not_after` (epoch seconds): the request's validity end (DESIGN.md section 9). Checked once the
        rate-limit slot is granted, right before the HTTP request: ValidityEnded when it has passed."""
        ...

    def search(self, phone_number: str, page: int = 1, results: int = 100) -> SearchPage:
        """GET /message/search, one page; raises TransientError when there is no readable answer (4b)."""
        ...


class AttemptStore(Protocol):
    """Ambiguous send attempts, kept across receives (DESIGN.md section 4b); TransientError when it fails."""

    def earlier(self, key: str) -> Earlier | None:
        """What an earlier receive of `key` left behind (asked inside the send lock, before sending)."""
        ...

    def save(self, attempt: Attempt) -> None:
        """Record an ambiguous attempt durably, replacing the key's previous one."""
        ...

    def claimed_by(self, message_id: str) -> str | None:
        """The request whose result row holds this Telegent MessageId, if any (a search match that
        another request already owns is not ours)."""
        ...


class VendorTelemetry(Protocol):
    def token_fetched(self) -> None: ...

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None: ...


class Telemetry(VendorTelemetry, Protocol):
    def count(self, name: str, value: float = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...


class RequestBudget(Protocol):
    """The vendor request budget shared by every container (one limiter, one interface)."""

    def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
        """A new invocation of `lane`: plan for `expected_requests`, never wait past `deadline` (epoch
        seconds). The normal lane takes at most 1 - PRIORITY_RESERVE of the budget (DESIGN.md 11)."""
        ...

    def acquire(self) -> None:
        """Wait for a slot; raises TransientError(RATE_LIMITED) when none comes before the deadline."""
        ...

    def penalize(self, retry_after: float | None) -> None:
        """The vendor throttled us: slow every container down."""
        ...


class Unlimited:
    """No shared limiter configured (RATE_LIMIT_TABLE unset)."""

    def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
        return None

    def acquire(self) -> None:
        return None

    def penalize(self, retry_after: float | None) -> None:
        return None


# ---------------------------------------------------------------- storage and queues


class ResultStore(Protocol):
    def record(self, row: ResultRow) -> bool:
        """Write the row unless a newer state is there (the lifecycle rule); True when written."""
        ...

    def record_dry_run(self, row: DryRunRow) -> None:
        """Write a dry run's row (DRYRUN#<key>), replacing an earlier dry run of the same key."""
        ...

    def status_of(self, key: str) -> str | None:
        """The row's current Status (a consistent read); None when there is no row."""
        ...


@dataclass(frozen=True)
class S3Object:
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None


@dataclass(frozen=True)
class EncodedMedia:
    base64: bytearray  # ASCII, spliced into the request body without another copy
    size: int
    content_type: str | None


class ObjectReader(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        """The object's bytes; PermanentError when missing or larger than max_bytes."""
        ...

    def read_base64(self, bucket: str, key: str, max_bytes: int) -> EncodedMedia:
        """The object base64-encoded while streaming, so the raw bytes are never held whole."""
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """The object's size and type without its bytes (dry runs); PermanentError when missing."""
        ...


class DeadLetterSink(Protocol):
    def copy(self, body: str, reasons: Mapping[str, str]) -> None:
        """Put `body` on the DLQ with `reasons` as message attributes; TransientError if it cannot."""
        ...


class QueueControl(Protocol):
    """The source queue; every method raises TransientError(DEPENDENCY) when SQS fails."""

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None: ...

    def requeue(self, queue_arn: str, body: str, attributes: Mapping[str, Any], delay_seconds: int) -> None: ...

    def max_receive_count(self, queue_arn: str) -> int | None: ...


class SendSchedules(Protocol):
    """One-time schedules that put a request back on the queue at its SendAt (DESIGN.md section 9);
    TransientError when the scheduler fails."""

    def schedule(self, name: str, at: datetime, body: str, target_arn: str | None = None) -> bool:
        """Create the schedule `name` that puts `body` on the queue `target_arn` (None: the request
        queue) at `at`; False when it already exists (a redelivery)."""
        ...

    def cancel(self, name: str) -> bool:
        """Delete the schedule; False when it is not there."""
        ...


# ---------------------------------------------------------------- at most once


@dataclass(frozen=True)
class Once:
    """What the once-per-key gate did with a request."""

    row: ResultRow  # the outcome's row: fresh, or replayed from the stored outcome
    ran_now: bool  # False when an earlier receive already decided it
    row_written: bool  # the row was committed together with the outcome


class OnceGate(Protocol):
    def register_lambda_context(self, context: Any) -> None:
        """Lets an in-progress record expire when the invocation that wrote it has timed out."""
        ...

    def run(self, key: str, fingerprint: dict[str, Any], action: Callable[[], ResultRow]) -> Once:
        """Run `action` at most once per key; a replay returns the stored row. Raises
        IdempotencyConflict (same key, other payload) or TransientError."""
        ...


# ---------------------------------------------------------------- status tracking (DESIGN.md section 8)


class StatusStore(Protocol):
    """Result rows as status tracking sees them; every method raises TransientError when the store fails."""

    def request_id_for(self, message_id: str) -> str | None:
        """The row's key for a Telegent MessageId (through the MessageId index); None when no row has it."""
        ...

    def apply(self, request_id: str, update: StatusUpdate) -> StatusChange | None:
        """Write `update` when the lifecycle rule allows it; None when the row's status stays."""
        ...

    def refresh_vendor_status(self, request_id: str, vendor_status: str, status_at: datetime) -> bool:
        """A non-final vendor status for a SENT row: VendorStatus/StatusAt only, never older over newer."""
        ...

    def due_for_poll(self, now: datetime, limit: int) -> list[PollCandidate]:
        """Rows of the poll index with PollAt <= now, oldest first."""
        ...

    def reschedule_poll(self, request_id: str, poll_at: datetime, poll_count: int) -> bool:
        """Next details lookup of a row that is still SENT."""
        ...


class EventPublisher(Protocol):
    def publish(self, events: list[tuple[str, Mapping[str, Any]]]) -> list[int]:
        """(detail-type, detail) pairs on the bus; returns the indexes of events that were not published."""
        ...


class TrackingTelemetry(Protocol):
    def count(self, name: str, value: float = 1) -> None: ...

    def milliseconds(self, name: str, value: float) -> None: ...


@dataclass(frozen=True)
class MessageDetails:
    """What GET /message/details says about a message (telegent-api.md section 4)."""

    message_id: str
    vendor_status: str | None
    status_at: datetime | None = None  # a delivered/updated time when the vendor gives one


class StatusLookup(Protocol):
    def details(self, message_id: str) -> MessageDetails | None:
        """GET /message/details?MessageId=; None when the vendor does not know the message (404).
        Raises TransientError when there is no answer (throttled, down, budget spent)."""
        ...


# ---------------------------------------------------------------- opt-outs (DESIGN.md section 10)


@dataclass(frozen=True)
class OptOut:
    """One opted-out number, as the opt-out table holds it."""

    number: str  # E.164
    opted_out_at: datetime
    source: str  # keyword, operator or import (names.OPTOUT_SOURCES)
    keyword: str | None = None  # the inbound keyword, for Source=keyword


class OptOutStore(Protocol):
    """The opt-out table; every method raises TransientError when the store fails."""

    def opted_out(self, numbers: Collection[str]) -> set[str]:
        """Which of `numbers` are opted out: one batched read (BatchGetItem, 100 keys a request)."""
        ...

    def add(self, entry: OptOut) -> bool:
        """Record the opt-out unless the table holds a newer one for the number; True when written."""
        ...

    def remove(self, number: str, at: datetime) -> bool:
        """Remove the number's opt-out unless it is newer than `at` (a later STOP stays); True when removed."""
        ...
