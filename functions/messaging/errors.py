"""How a record can fail. The class decides what happens to the SQS message (DESIGN.md section 4)."""

from __future__ import annotations

from enum import StrEnum


class RejectCode(StrEnum):
    """Our own reasons for refusing a request for good. Vendor refusals use the HTTP status instead."""

    INVALID_JSON = "INVALID_JSON"
    UNKNOWN_ENVELOPE = "UNKNOWN_ENVELOPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    MEDIA_NOT_ALLOWED = "MEDIA_NOT_ALLOWED"
    MEDIA_NOT_FOUND = "MEDIA_NOT_FOUND"
    MEDIA_TOO_LARGE = "MEDIA_TOO_LARGE"
    PAYLOAD_NOT_FOUND = "PAYLOAD_NOT_FOUND"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
    THROTTLED_TOO_LONG = "THROTTLED_TOO_LONG"  # throttled past MAX_MESSAGE_AGE_HOURS after FirstEnqueuedAt
    INTERNAL_ERROR = "INTERNAL_ERROR"  # an unexpected exception (a bug) on the queue's last receive
    AMBIGUOUS_UNRESOLVED = "AMBIGUOUS_UNRESOLVED"  # an ambiguous send never reconciled; AMBIGUOUS_POLICY=dlq
    OPTED_OUT = "OPTED_OUT"  # a recipient is in the opt-out table (DESIGN.md section 10): no send, no DLQ copy
    # Send-time options (DESIGN.md section 9).
    TOO_MANY_SEGMENTS = "TOO_MANY_SEGMENTS"  # the Body (as it would be sent) is longer than MAX_SEGMENTS
    SEND_AT_TOO_FAR = "SEND_AT_TOO_FAR"  # SendAt more than 365 days ahead
    NOT_SCHEDULABLE = "NOT_SCHEDULABLE"  # the request is too large for a schedule's input (256 KB)
    VALIDITY_EXPIRED = "VALIDITY_EXPIRED"  # row EXPIRED: its validity ended before the vendor call; no DLQ copy


class TransientKind(StrEnum):
    """Why a retry may succeed; also the metric and log label of the failure."""

    THROTTLED = "Throttled"  # vendor 429
    RATE_LIMITED = "RateLimited"  # our shared limiter had no slot before the deadline
    UNAVAILABLE = "Unavailable"  # vendor 503
    AMBIGUOUS = "Ambiguous"  # 408/500/502/504/read timeout: the message may have been sent
    CONNECT = "Connect"  # nothing reached the vendor
    AUTH = "Auth"  # 401/403 even with a fresh token
    CONFIG = "Config"  # missing/malformed secret or setting
    DEPENDENCY = "Dependency"  # an AWS call failed
    IN_PROGRESS = "InProgress"  # the same key is being sent by another invocation
    DEADLINE = "Deadline"  # not attempted: the Lambda would time out
    RECONCILING = "Reconciling"  # an ambiguous send is being reconciled (DESIGN.md 4b): not sent, retried later


class PermanentError(Exception):
    """Retrying cannot help: the request gets a REJECTED row and a copy in the DLQ."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class IdempotencyConflict(PermanentError):
    """The key was used before with a different payload: the existing row must stay as it is."""

    def __init__(self, message: str = "IdempotencyKey was already used with a different payload") -> None:
        super().__init__(RejectCode.IDEMPOTENCY_KEY_REUSED, message)


class TransientError(Exception):
    """Retrying may help: the record is reported as a batch item failure."""

    def __init__(self, kind: TransientKind, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


class UnrecordedAmbiguity(TransientError):
    """An ambiguous send whose attempt could not be recorded (DESIGN.md 4b). The send lock is kept
    until it expires, so the next receive treats the send as interrupted and reconciles it."""

    def __init__(self, message: str) -> None:
        super().__init__(TransientKind.AMBIGUOUS, message)


class ValidityEnded(Exception):
    """The request's validity ended before its vendor call could start (DESIGN.md section 9): it is not
    sent. Raised by the vendor client when the deadline has passed once a rate-limit slot was granted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
