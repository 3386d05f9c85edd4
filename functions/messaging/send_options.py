"""SendAt and validity arithmetic (DESIGN.md section 9): pure functions of their arguments, no clock, no AWS.

Every datetime handed in must be timezone-aware (a naive one raises ValueError); every datetime handed back is
in UTC. Callers pass `now` explicitly, so the boundaries are testable to the microsecond.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

SEND_NOW_TOLERANCE: Final = timedelta(seconds=1)
MAX_DELAY_SECONDS: Final = 900  # SQS DelaySeconds maximum (15 minutes)
MAX_DELAY: Final = timedelta(seconds=MAX_DELAY_SECONDS)
MAX_SCHEDULE_AHEAD: Final = timedelta(days=365)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# RFC 3339 profile of ISO 8601: calendar date, time (seconds and fraction optional), offset. ASCII digits only
# (re.ASCII), so no other script's digits slip through int(). The offset is optional here only to tell a naive
# time apart from garbage in the error message.
_INSTANT = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<off_hour>\d{2})(?::?(?P<off_minute>\d{2}))?)?",
    re.ASCII,
)
_EXAMPLE: Final = "2025-01-31T09:30:00Z or 2025-01-31T10:30:00+01:00"


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def parse_instant(text: object, *, field: str = "time") -> datetime:
    """An ISO 8601 date-time with a UTC offset or `Z`, as an aware datetime in UTC.

    Accepts `YYYY-MM-DDThh:mm[:ss[.fraction]]` followed by `Z` or `+hh:mm` / `+hhmm` / `+hh` (a space may stand
    for `T`; fractions beyond microseconds are truncated). A time without an offset is rejected: the relay cannot
    know which zone the producer meant. `field` names the input in the ValueError messages.
    """
    if not isinstance(text, str):
        raise ValueError(f"{field} must be an ISO 8601 string such as {_EXAMPLE}, got {type(text).__name__}")
    match = _INSTANT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{field} {text!r} is not an ISO 8601 date and time such as {_EXAMPLE}")
    if match["offset"] is None:
        raise ValueError(f"{field} {text!r} has no UTC offset: add Z or +hh:mm (e.g. {_EXAMPLE})")
    try:
        if match["offset"] in ("Z", "z"):
            zone = UTC
        else:
            off_hour, off_minute = int(match["off_hour"]), int(match["off_minute"] or 0)
            if off_hour > 23 or off_minute > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=off_hour, minutes=off_minute)
            zone = timezone(-offset if match["sign"] == "-" else offset)
        fraction = (match["fraction"] or "")[:6].ljust(6, "0")
        moment = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int(fraction),
            tzinfo=zone,
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{field} {text!r} is not a valid date and time: {error}") from None


def format_instant(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with `Z` (milliseconds only when there are any), e.g. for FirstEnqueuedAt.

    `parse_instant(format_instant(t))` gives back `t` to the millisecond.
    """
    _require_aware(moment, "moment")
    utc = moment.astimezone(UTC)
    text = _seconds_text(utc)
    millis = utc.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _seconds_text(utc: datetime) -> str:
    """yyyy-mm-ddThh:mm:ss of a UTC datetime (isoformat pads the year to four digits; strftime may not)."""
    return utc.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")


class SendAction(enum.Enum):
    SEND_NOW = "SEND_NOW"  # send in this invocation
    DELAY = "DELAY"  # put back on the queue with DelaySeconds
    SCHEDULE = "SCHEDULE"  # one-time EventBridge Scheduler schedule at `at`
    REJECT = "REJECT"  # too far ahead: REJECTED row


@dataclass(frozen=True)
class SendPlan:
    """What to do with a request's SendAt. Build it with the class methods; only the action's own field is set."""

    action: SendAction
    delay_seconds: int | None = None
    at: datetime | None = None
    reason: str | None = None

    @classmethod
    def send_now(cls) -> SendPlan:
        return cls(SendAction.SEND_NOW)

    @classmethod
    def delay(cls, seconds: int) -> SendPlan:
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay must be a whole number of seconds in 1..{MAX_DELAY_SECONDS}, got {seconds!r}")
        return cls(SendAction.DELAY, delay_seconds=seconds)

    @classmethod
    def schedule(cls, at: datetime) -> SendPlan:
        _require_aware(at, "at")
        return cls(SendAction.SCHEDULE, at=at.astimezone(UTC))

    @classmethod
    def reject(cls, reason: str) -> SendPlan:
        return cls(SendAction.REJECT, reason=reason)


def plan_send_at(send_at: datetime | None, now: datetime, *, max_delay: timedelta = MAX_DELAY) -> SendPlan:
    """How to honour SendAt, seen at `now`.

    - none, in the past, or at most 1 s ahead: SEND_NOW;
    - at most `max_delay` (15 minutes, SQS's own maximum; never more) ahead: DELAY by the whole seconds to
      SendAt, rounded up (never early), 1..900;
    - at most 365 days ahead: SCHEDULE at SendAt (UTC);
    - further: REJECT with a reason.
    """
    _require_aware(now, "now")
    max_delay = min(max_delay, MAX_DELAY)
    if send_at is None:
        return SendPlan.send_now()
    _require_aware(send_at, "send_at")
    ahead = send_at - now
    if ahead <= SEND_NOW_TOLERANCE:
        return SendPlan.send_now()
    if ahead <= max_delay:
        seconds = -(-(ahead // timedelta(microseconds=1)) // 1_000_000)  # ceil, in integers
        return SendPlan.delay(min(max(seconds, 1), MAX_DELAY_SECONDS))
    if ahead <= MAX_SCHEDULE_AHEAD:
        return SendPlan.schedule(send_at)
    days = MAX_SCHEDULE_AHEAD.days
    return SendPlan.reject(f"SendAt {format_instant(send_at)} is more than {days} days ahead of {format_instant(now)}")


def check_validity_fields(valid_until: object, validity_seconds: object) -> None:
    """ValueError when a request gives both ValidUntil and ValiditySeconds (absent = None): the caller rejects it."""
    if valid_until is not None and validity_seconds is not None:
        raise ValueError("give ValidUntil or ValiditySeconds, not both")


def parse_validity_seconds(value: object, *, field: str = "ValiditySeconds") -> int:
    """A positive whole number of seconds; bools, strings, fractions, zero and negatives raise ValueError.

    An integral float (300.0, as some JSON writers emit it) is accepted as its int.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} must be a whole number of seconds, got {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{field} must be a whole number of seconds, got {value!r}")
        value = int(value)
    if value <= 0:
        raise ValueError(f"{field} must be positive, got {value}")
    return value


def validity_deadline(
    valid_until: datetime | None,
    validity_seconds: int | None,
    first_enqueued_at: datetime,
    default_validity_seconds: int | None = None,
) -> datetime | None:
    """When the request stops being worth sending, in UTC; None when it never expires.

    ValidUntil wins when given. Otherwise ValiditySeconds, or else the configured default, counted from
    FirstEnqueuedAt: the moment the request first reached the queue, carried unchanged on requeued and
    scheduled copies so that waiting does not renew the validity. Use `check_validity_fields` first to reject
    a request that gives both.
    """
    _require_aware(first_enqueued_at, "first_enqueued_at")
    if valid_until is not None:
        _require_aware(valid_until, "valid_until")
        return valid_until.astimezone(UTC)
    if validity_seconds is not None:
        seconds = parse_validity_seconds(validity_seconds)
    elif default_validity_seconds is not None:
        seconds = parse_validity_seconds(default_validity_seconds, field="default validity seconds")
    else:
        return None
    try:
        return first_enqueued_at.astimezone(UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"validity of {seconds} seconds is too large") from None


def is_expired(deadline: datetime | None, now: datetime) -> bool:
    """True once `now` has reached the deadline (the deadline itself is already too late); never without one."""
    _require_aware(now, "now")
    if deadline is None:
        return False
    _require_aware(deadline, "deadline")
    return now >= deadline


SCHEDULE_NAME_PREFIX: Final = "sms-"
SCHEDULE_NAME_MAX: Final = 64
_DIGEST_CHARS: Final = 32  # 128 bits of sha256: collisions need ~2**64 keys
_READABLE_MAX: Final = SCHEDULE_NAME_MAX - len(SCHEDULE_NAME_PREFIX) - 1 - _DIGEST_CHARS  # 27
_NOT_NAME_CHARS = re.compile(r"[^0-9A-Za-z_.-]+")


def schedule_name(request_id: str) -> str:
    """The EventBridge Scheduler schedule name for a RequestId: deterministic, 1-64 chars of [0-9A-Za-z_.-].

    `sms-<readable part of the key>-<sha256 hex, 32 chars>`. The readable part (characters outside the allowed
    set replaced by `-`, cut to 27) only helps an operator; the digest of the whole key (UTF-8) is what keeps
    distinct keys apart, so keys differing only after their 27th character or in non-ASCII text never share a name.
    """
    digest = hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    readable = _NOT_NAME_CHARS.sub("-", request_id)[:_READABLE_MAX].strip("-")
    return f"{SCHEDULE_NAME_PREFIX}{readable}-{digest}" if readable else f"{SCHEDULE_NAME_PREFIX}{digest}"


def at_expression(moment: datetime) -> str:
    """EventBridge Scheduler one-time expression `at(yyyy-mm-ddThh:mm:ss)` in UTC, seconds rounded up (never early).

    Create the schedule with ScheduleExpressionTimezone UTC (the default).
    """
    _require_aware(moment, "moment")
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({_seconds_text(utc)})"


def first_enqueued_at_from_sqs(sent_timestamp_ms: str | int) -> datetime:
    """The SQS `SentTimestamp` attribute (epoch milliseconds, a string in Lambda events) as an aware UTC datetime."""
    if isinstance(sent_timestamp_ms, bool):
        raise ValueError("SentTimestamp must be epoch milliseconds, got bool")
    if isinstance(sent_timestamp_ms, str):
        if not sent_timestamp_ms.isascii() or not sent_timestamp_ms.isdigit():
            raise ValueError(f"SentTimestamp {sent_timestamp_ms!r} is not epoch milliseconds")
        millis = int(sent_timestamp_ms)
    elif isinstance(sent_timestamp_ms, int):
        millis = sent_timestamp_ms
    else:
        raise ValueError(f"SentTimestamp must be epoch milliseconds, got {type(sent_timestamp_ms).__name__}")
    if millis < 0:
        raise ValueError(f"SentTimestamp must not be negative, got {millis}")
    try:
        return EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise ValueError(f"SentTimestamp {millis} is out of range") from None
