"""Result rows (DESIGN.md section 3): one item per request, the record of what became of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from messaging.lifecycle import Status
from messaging.names import DRY_RUN_PREFIX, DRY_RUN_STATUS, DRY_RUN_TTL_SECONDS, POLL_SHARD

# Bounds that keep every row far below DynamoDB's 400 KB item limit whatever the vendor or the
# request said (DESIGN.md section 4: "truncated reasons").
ERROR_MESSAGE_MAX = 1000
SHORT_TEXT_MAX = 256  # ErrorCode, VendorStatus, MessageType, CampaignId
MESSAGE_ID_MAX = 1024  # also a GSI key (at most 2048 bytes): a longer one is not kept
TRUNCATION_MARK = "…"

# DynamoDB numbers: at most 38 significant digits, magnitude 1E-130 .. 9.99...E+125 (or zero).
DYNAMO_NUMBER_DIGITS = 38
DYNAMO_NUMBER_MIN_EXPONENT = -130
DYNAMO_NUMBER_MAX_EXPONENT = 125
# The limits boto3 serialises with (its DYNAMODB_CONTEXT); rounding in it makes the value exact there.
_DYNAMO_ROUNDING = Context(prec=DYNAMO_NUMBER_DIGITS, Emin=-128, Emax=126)


def storable_number(value: Decimal | None) -> Decimal | None:
    """`value` as a number DynamoDB can hold, rounded to 38 significant digits; None when it cannot be
    (NaN, infinities, magnitudes outside 1E-130 .. 9.99E+125)."""
    if value is None or not isinstance(value, Decimal) or not value.is_finite():
        return None
    if value.is_zero():
        return Decimal(0)
    try:
        rounded = _DYNAMO_ROUNDING.plus(value)
    except (InvalidOperation, ArithmeticError):
        return None
    if not DYNAMO_NUMBER_MIN_EXPONENT <= rounded.adjusted() <= DYNAMO_NUMBER_MAX_EXPONENT:
        return None
    return rounded


def clipped(text: str | None, limit: int) -> str | None:
    """`text` cut to at most `limit` characters, marked when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK


@dataclass(frozen=True)
class ResultRow:
    request_id: str
    status: Status
    rank: int
    updated_at: datetime
    source_message_id: str
    attempts: int
    to: tuple[str, ...] = ()
    sender: str | None = None
    campaign_id: str | None = None
    message_type: str | None = None
    message_id: str | None = None
    vendor_status: str | None = None
    cost: Decimal | None = None
    error_code: str | None = None
    error_message: str | None = None
    # SENT rows waiting for a final status: when the status poller first looks (DESIGN.md section 8).
    poll_at: datetime | None = None
    # Who set the status (DESIGN.md section 3): the sender, or `reconciled` for an ambiguous send
    # the message search found (section 4b).
    status_source: str | None = "sender"
    # Send-time options (DESIGN.md section 9): the Body as sent, and what the request asked for.
    encoding: str | None = None
    segments: int | None = None
    send_at: datetime | None = None
    valid_until: datetime | None = None
    priority: str | None = None

    def __post_init__(self) -> None:
        """Bound what came from outside (vendor answers, rejection reasons) so the row and the stored
        outcome always fit DynamoDB, whoever builds the row."""
        bounded = {
            "error_message": clipped(self.error_message, ERROR_MESSAGE_MAX),
            "error_code": clipped(self.error_code, SHORT_TEXT_MAX),
            "vendor_status": clipped(self.vendor_status, SHORT_TEXT_MAX),
            "message_type": clipped(self.message_type, SHORT_TEXT_MAX),
            "campaign_id": clipped(self.campaign_id, SHORT_TEXT_MAX),
            "message_id": self.message_id
            if self.message_id is None or len(self.message_id) <= MESSAGE_ID_MAX
            else None,
            "cost": storable_number(self.cost),
        }
        for name, value in bounded.items():
            if value is not getattr(self, name):
                object.__setattr__(self, name, value)

    def attributes(self, ttl_days: int) -> dict[str, Any]:
        """Row attributes, without the key and without empty values."""
        return {name: value for name, value in self.attribute_values(ttl_days).items() if value is not None}

    def attribute_values(self, ttl_days: int) -> dict[str, Any]:
        """Every row attribute, None where this state has no value (a store replacing a row removes those).

        `CreatedAt` is the time of this write; the store keeps the first write's value when the
        row already exists, and `CreatedDay` (its UTC day) with it.
        """
        updated = self.updated_at.astimezone(UTC)
        values: dict[str, Any] = {
            "Status": self.status.value,
            "StatusRank": self.rank,
            "UpdatedAt": iso(updated),
            "CreatedAt": iso(updated),
            # The by-day index (stats): the UTC day of CreatedAt, kept with it by the store.
            "CreatedDay": created_day(updated),
            "ExpiresAt": int((updated + timedelta(days=ttl_days)).timestamp()),
            "Attempts": self.attempts,
            "SourceMessageId": self.source_message_id,
            "To": self.to[0] if len(self.to) == 1 else (list(self.to) or None),
            "From": self.sender,
            "CampaignId": self.campaign_id,
            "MessageType": self.message_type,
            "MessageId": self.message_id,
            "VendorStatus": self.vendor_status,
            "Cost": self.cost,
            "ErrorCode": self.error_code,
            "ErrorMessage": self.error_message,
            # The sparse poll index: only rows with a PollAt are in it.
            "PollShard": POLL_SHARD if self.poll_at else None,
            "PollAt": iso(self.poll_at) if self.poll_at else None,
            "StatusSource": self.status_source,
            "Encoding": self.encoding,
            "Segments": self.segments,
            "SendAt": iso(self.send_at) if self.send_at else None,
            "ValidUntil": iso(self.valid_until) if self.valid_until else None,
            "Priority": self.priority,
        }
        return values

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe form, stored as the idempotency record's outcome so a replay can rewrite the row."""
        record = asdict(self)
        record.update(
            status=self.status.value,
            updated_at=iso(self.updated_at),
            to=list(self.to),
            cost=str(self.cost) if self.cost is not None else None,
            poll_at=iso(self.poll_at) if self.poll_at else None,
            send_at=iso(self.send_at) if self.send_at else None,
            valid_until=iso(self.valid_until) if self.valid_until else None,
        )
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ResultRow:
        cost = record.get("cost")
        return cls(
            request_id=record["request_id"],
            status=Status(record["status"]),
            rank=int(record["rank"]),
            updated_at=parse_iso(record["updated_at"]),
            source_message_id=record["source_message_id"],
            attempts=int(record["attempts"]),
            to=tuple(record.get("to") or ()),
            sender=record.get("sender"),
            campaign_id=record.get("campaign_id"),
            message_type=record.get("message_type"),
            message_id=record.get("message_id"),
            vendor_status=record.get("vendor_status"),
            cost=Decimal(cost) if cost is not None else None,
            error_code=record.get("error_code"),
            error_message=record.get("error_message"),
            poll_at=parse_iso(record["poll_at"]) if record.get("poll_at") else None,
            status_source=record.get("status_source", "sender"),
            encoding=record.get("encoding"),
            segments=int(record["segments"]) if record.get("segments") is not None else None,
            send_at=parse_iso(record["send_at"]) if record.get("send_at") else None,
            valid_until=parse_iso(record["valid_until"]) if record.get("valid_until") else None,
            priority=record.get("priority"),
        )


@dataclass(frozen=True)
class DryRunRow:
    """What a dry run found (DESIGN.md section 9): kept apart from the request's own row (key
    `DRYRUN#<key>`), outside the lifecycle ladder, for a day. Either what would have been sent
    (encoding, segments, media sizes, when) or the reason it would fail (ErrorCode, ErrorMessage)."""

    key: str  # the request's idempotency key; the row's RequestId is DRYRUN#<key>
    updated_at: datetime
    source_message_id: str
    would: str  # the status the request would reach first: SENT, SCHEDULED, REJECTED or EXPIRED
    plan: str | None = None  # SEND_NOW, DELAY or SCHEDULE (SendAt)
    to: tuple[str, ...] = ()
    sender: str | None = None
    campaign_id: str | None = None
    message_type: str | None = None
    encoding: str | None = None
    segments: int | None = None
    media_sizes: tuple[int, ...] = ()  # bytes of each media item whose size is known (inline, S3)
    send_at: datetime | None = None
    valid_until: datetime | None = None
    priority: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def request_id(self) -> str:
        return f"{DRY_RUN_PREFIX}{self.key}"

    def attributes(self) -> dict[str, Any]:
        """Row attributes without the key and without empty values."""
        updated = self.updated_at.astimezone(UTC)
        values: dict[str, Any] = {
            "Status": DRY_RUN_STATUS,
            "WouldBe": self.would,
            "Plan": self.plan,
            "UpdatedAt": iso(updated),
            "CreatedAt": iso(updated),
            "ExpiresAt": int((updated + timedelta(seconds=DRY_RUN_TTL_SECONDS)).timestamp()),
            "SourceMessageId": self.source_message_id,
            "To": self.to[0] if len(self.to) == 1 else (list(self.to) or None),
            "From": self.sender,
            "CampaignId": clipped(self.campaign_id, SHORT_TEXT_MAX),
            "MessageType": self.message_type,
            "Encoding": self.encoding,
            "Segments": self.segments,
            "MediaSizes": list(self.media_sizes) or None,
            "MediaBytes": sum(self.media_sizes) if self.media_sizes else None,
            "SendAt": iso(self.send_at) if self.send_at else None,
            "ValidUntil": iso(self.valid_until) if self.valid_until else None,
            "Priority": self.priority,
            "ErrorCode": clipped(self.error_code, SHORT_TEXT_MAX),
            "ErrorMessage": clipped(self.error_message, ERROR_MESSAGE_MAX),
        }
        return {name: value for name, value in values.items() if value is not None}


def created_day(moment: datetime) -> str:
    """`CreatedDay`: the UTC calendar day (YYYY-MM-DD) of a row's `CreatedAt`, the by-day index's partition."""
    return moment.astimezone(UTC).date().isoformat()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_utc() -> datetime:
    return datetime.now(UTC)
