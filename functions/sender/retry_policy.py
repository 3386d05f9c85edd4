"""What to do with a record that failed for a reason a retry may fix (DESIGN.md section 4). Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from messaging.errors import TransientError, TransientKind

SQS_MAX_DELAY = 900  # seconds: SQS's longest DelaySeconds
THROTTLE_BACKOFF_BASE = 5
THROTTLE_BACKOFF_MAX = 300
THROTTLING = frozenset({TransientKind.THROTTLED, TransientKind.RATE_LIMITED})
# Put back without burning a receive: throttling, and an ambiguous send waiting to be reconciled
# (DESIGN.md 4b: it may wait up to AMBIGUOUS_RECONCILE_MAX_MINUTES for the vendor's search).
REQUEUED = THROTTLING | {TransientKind.RECONCILING}
BACKED_OFF = frozenset({TransientKind.THROTTLED, TransientKind.UNAVAILABLE})


class Action(StrEnum):
    REQUEUE = "requeue"  # put back as a new message (delayed): throttling is not the message's fault
    SETTLE_IN_DLQ = "settle-in-dlq"  # the last receive: copy to the DLQ with the reason, acknowledge
    RETRY = "retry"  # report a batch item failure; SQS redelivers after `delay_seconds` or the visibility timeout


@dataclass(frozen=True)
class RetryDecision:
    action: Action
    delay_seconds: int | None = None  # REQUEUE: DelaySeconds; RETRY: a visibility change, None to leave it


def decide(
    error: TransientError, receive_count: int, max_receives: int | None, can_requeue: bool, spread: float = 0.5
) -> RetryDecision:
    """`spread` in [0, 1) is the caller's random draw for jitter (so this stays deterministic)."""
    if error.kind in REQUEUED and can_requeue:
        base = error.retry_after if error.retry_after is not None else THROTTLE_BACKOFF_BASE
        return RetryDecision(Action.REQUEUE, min(SQS_MAX_DELAY, max(1, math.ceil(base * (1.0 + 0.2 * spread)))))
    if max_receives is not None and receive_count >= max_receives:
        return RetryDecision(Action.SETTLE_IN_DLQ)
    delay: float | None = error.retry_after
    if delay is None and error.kind in BACKED_OFF:
        delay = min(THROTTLE_BACKOFF_BASE * 2 ** (receive_count - 1), THROTTLE_BACKOFF_MAX) * (0.8 + 0.4 * spread)
    return RetryDecision(Action.RETRY, max(1, round(delay)) if delay is not None else None)
