"""One request budget for the whole Telegent account, shared by every container (DESIGN.md section 5).

GCRA ("next free slot") over a single DynamoDB item. A container reserves the slots its
invocation needs in one conditional UpdateItem, then each request waits for its own slot.
No reads: a lost race returns the current item (ReturnValuesOnConditionCheckFailure) and we
retry with it.

Why the interval is 60 / (rate - burst + 1), stretched by 1 %: the vendor counts requests in a
sliding minute, so a burst plus a full minute at the steady rate must still fit the budget, with
room for network jitter between our clock and theirs.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from messaging.errors import TransientError, TransientKind
from messaging.names import RATE_LIMIT_PARTITION_KEY

LIMITER_KEY = "telegent-account"
MAX_RACE_RETRIES = 8
SLOWDOWN_MAX = 8.0
SLOWDOWN_STEP = 1.5
SLOWDOWN_HALF_LIFE = 60.0  # seconds for the extra slowdown to halve after the last 429
JITTER_MARGIN = 1.01


class SharedRateLimiter:
    def __init__(
        self,
        table_name: str,
        client: Any,
        per_minute: int,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        key: str = LIMITER_KEY,
    ) -> None:
        if per_minute < 1:
            raise ValueError("the rate limit must be at least 1 per minute")
        self._table = table_name
        self._client = client
        self._burst = max(1, min(burst, per_minute))
        self._interval = JITTER_MARGIN * 60.0 / (per_minute - self._burst + 1)
        self._clock = clock
        self._sleep = sleep
        self._key = {RATE_LIMIT_PARTITION_KEY: {"S": key}}
        self._lock = threading.Lock()
        self._slots: deque[float] = deque()
        self._expected = 1
        self._deadline = math.inf
        # Last seen shared state; a stale value only costs one lost race.
        self._next_slot: float | None = None
        self._slowdown = 1.0
        self._slowdown_at = 0.0

    # -- per invocation

    def begin(self, expected_requests: int, deadline: float) -> None:
        """A new invocation: forget unused slots, plan for `expected_requests`, never wait past `deadline`."""
        with self._lock:
            self._slots.clear()
            self._expected = max(1, expected_requests)
            self._deadline = deadline

    # -- per vendor request

    def acquire(self) -> None:
        """Wait for a slot; raises RATE_LIMITED with the wait when no slot comes before the deadline."""
        with self._lock:
            if not self._slots:
                self._reserve()
            slot = self._slots.popleft()
            self._expected = max(1, self._expected - 1)
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)

    def penalize(self, retry_after: float | None) -> None:
        """The vendor throttled us anyway: pause every container and slow the shared pace down."""
        now = self._clock()
        pause_until = now + (retry_after if retry_after is not None else self._interval * self._burst)
        with self._lock:
            self._slots.clear()
            slowdown = min(self._current_slowdown(now) * SLOWDOWN_STEP, SLOWDOWN_MAX)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET next_slot = :pause, slowdown = :slow, slowdown_at = :now",
                ConditionExpression="attribute_not_exists(next_slot) OR next_slot < :pause",
                ExpressionAttributeValues={
                    ":pause": {"N": repr(pause_until)},
                    ":slow": {"N": repr(slowdown)},
                    ":now": {"N": repr(now)},
                },
                ReturnValues="ALL_NEW",
            )
            self._remember(response.get("Attributes", {}))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise TransientError(TransientKind.DEPENDENCY, f"rate limiter: {exc}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"rate limiter: {exc}") from None

    # -- internals (called with the lock held)

    def _current_slowdown(self, now: float) -> float:
        elapsed = max(0.0, now - self._slowdown_at)
        return 1.0 + (self._slowdown - 1.0) * 0.5 ** (elapsed / SLOWDOWN_HALF_LIFE)

    def _remember(self, item: dict[str, Any]) -> None:
        if "next_slot" in item:
            self._next_slot = float(item["next_slot"]["N"])
        if "slowdown" in item:
            self._slowdown = float(item["slowdown"]["N"])
            self._slowdown_at = float(item.get("slowdown_at", {}).get("N", 0))

    def _reserve(self) -> None:
        for _ in range(MAX_RACE_RETRIES):
            now = self._clock()
            interval = self._interval * self._current_slowdown(now)
            tolerance = (self._burst - 1) * interval
            known = self._next_slot
            first = max(known if known is not None else 0.0, now - tolerance)
            max_wait = self._deadline - now
            if first - now > max_wait:
                raise TransientError(
                    TransientKind.RATE_LIMITED,
                    f"account rate limit: next free slot in {first - now:.1f}s, after this invocation ends",
                    retry_after=first - now,
                )
            fitting = int((max_wait - max(0.0, first - now)) // interval) + 1
            count = max(1, min(self._expected, fitting))
            new_next = first + count * interval
            condition = "attribute_not_exists(next_slot)" if known is None else "next_slot = :known"
            values: dict[str, Any] = {":next": {"N": repr(new_next)}}
            if known is not None:
                values[":known"] = {"N": repr(known)}
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key,
                    UpdateExpression="SET next_slot = :next",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") == "ConditionalCheckFailedException":
                    # Another container moved the slot: learn the current state and try again.
                    old_item: Any = exc.response.get("Item") or {}
                    self._remember(old_item)
                    continue
                raise TransientError(TransientKind.DEPENDENCY, f"rate limiter: {error.get('Code')}") from None
            except BotoCoreError as exc:
                raise TransientError(TransientKind.DEPENDENCY, f"rate limiter: {exc}") from None
            self._next_slot = new_next
            self._slots.extend(first + i * interval for i in range(count))
            return
        raise TransientError(TransientKind.RATE_LIMITED, "rate limiter: too much contention", retry_after=1.0)
