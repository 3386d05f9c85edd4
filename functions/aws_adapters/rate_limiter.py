"""One request budget for the whole Telegent account, shared by every container of both lanes
(DESIGN.md sections 5 and 11).

GCRA ("next free slot") over a single DynamoDB item that holds two values: `next_slot`, the
account's budget, which every vendor request takes a slot from, and `normal_next`, the normal
lane's own pace at `1 - PRIORITY_RESERVE` of the rate. What to reserve is decided by the domain
(`messaging.lanes.LaneBudget.plan`); this adapter does the I/O: one conditional UpdateItem per
reservation, no reads (a lost race returns the current item through
ReturnValuesOnConditionCheckFailure and we plan again with it).

- Priority lane: reserves the slots its invocation needs on `next_slot` alone.
- Normal lane: reserves on both values at once, and only a few slots just in time (never more than
  the lane's lead ahead of now), so a priority request never waits behind a long row of normal
  slots; while the shared budget is taken further ahead, it waits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from messaging.errors import TransientError, TransientKind
from messaging.lanes import Lane, LaneBudget, Reservation, TooLate, Wait
from messaging.names import DEFAULT_PRIORITY_RESERVE, RATE_LIMIT_PARTITION_KEY

LIMITER_KEY = "telegent-account"
MAX_RACE_RETRIES = 8
SLOWDOWN_MAX = 8.0
SLOWDOWN_STEP = 1.5
SLOWDOWN_HALF_LIFE = 60.0  # seconds for the extra slowdown to halve after the last 429

SHARED = "next_slot"
NORMAL = "normal_next"


class SharedRateLimiter:
    def __init__(
        self,
        table_name: str,
        client: Any,
        per_minute: int,
        burst: int = 1,
        *,
        reserve: float = DEFAULT_PRIORITY_RESERVE,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        key: str = LIMITER_KEY,
    ) -> None:
        self.budget = LaneBudget(per_minute, burst, reserve)  # ValueError for a rate below 1 or a bad reserve
        self._table = table_name
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._key = {RATE_LIMIT_PARTITION_KEY: {"S": key}}
        self._lock = threading.Lock()
        self._slots: deque[float] = deque()
        self._expected = 1
        self._deadline = float("inf")
        self._lane = Lane.NORMAL
        # Last seen shared state; a stale value only costs one lost race.
        self._shared_next: float | None = None
        self._normal_next: float | None = None
        self._slowdown = 1.0
        self._slowdown_at = 0.0

    # -- per invocation

    def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
        """A new invocation of `lane`: forget unused slots, plan for `expected_requests`, never wait past `deadline`."""
        with self._lock:
            self._slots.clear()
            self._expected = max(1, expected_requests)
            self._deadline = deadline
            self._lane = lane

    # -- per vendor request

    def acquire(self) -> None:
        """Wait for a slot; raises RATE_LIMITED with the wait when no slot comes before the deadline."""
        while True:
            with self._lock:
                if self._slots:
                    slot = self._slots.popleft()
                    self._expected = max(1, self._expected - 1)
                    break
                retry_at = self._reserve()
            if retry_at is not None:  # the normal lane waits for the shared budget to come within its lead
                self._sleep(max(0.0, retry_at - self._clock()))
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)

    def penalize(self, retry_after: float | None) -> None:
        """The vendor throttled us anyway: pause every container and slow the shared pace down."""
        now = self._clock()
        interval = self.budget.shared.interval
        pause_until = now + (retry_after if retry_after is not None else interval * self.budget.burst)
        with self._lock:
            self._slots.clear()
            slowdown = min(self._current_slowdown(now) * SLOWDOWN_STEP, SLOWDOWN_MAX)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression=f"SET {SHARED} = :pause, slowdown = :slow, slowdown_at = :now",
                ConditionExpression=f"attribute_not_exists({SHARED}) OR {SHARED} < :pause",
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
        """The item as DynamoDB returned it; an absent value is absent (a new or recreated table)."""
        self._shared_next = float(item[SHARED]["N"]) if SHARED in item else None
        self._normal_next = float(item[NORMAL]["N"]) if NORMAL in item else None
        if "slowdown" in item:
            self._slowdown = float(item["slowdown"]["N"])
            self._slowdown_at = float(item.get("slowdown_at", {}).get("N", 0))

    def _reserve(self) -> float | None:
        """Reserve slots into self._slots (None), or the moment to try again (normal lane, budget taken)."""
        for _ in range(MAX_RACE_RETRIES):
            now = self._clock()
            plan = self.budget.plan(
                self._lane,
                now=now,
                shared_next=self._shared_next,
                normal_next=self._normal_next,
                wanted=self._expected,
                deadline=self._deadline,
                slowdown=self._current_slowdown(now),
            )
            if isinstance(plan, TooLate):
                raise TransientError(
                    TransientKind.RATE_LIMITED,
                    f"account rate limit: next free slot in {plan.first - now:.1f}s, after this invocation ends",
                    retry_after=plan.first - now,
                )
            if isinstance(plan, Wait):
                return plan.until
            if self._claim(plan):
                self._slots.extend(plan.slots)
                return None
        raise TransientError(TransientKind.RATE_LIMITED, "rate limiter: too much contention", retry_after=1.0)

    def _claim(self, plan: Reservation) -> bool:
        """One conditional UpdateItem: True when the item still held what we planned from."""
        sets = [f"{SHARED} = :shared"]
        conditions = [_unchanged(SHARED, ":known_shared", self._shared_next)]
        values: dict[str, Any] = {":shared": {"N": repr(plan.shared_next)}}
        if self._shared_next is not None:
            values[":known_shared"] = {"N": repr(self._shared_next)}
        if plan.normal_next is not None:
            sets.append(f"{NORMAL} = :normal")
            conditions.append(_unchanged(NORMAL, ":known_normal", self._normal_next))
            values[":normal"] = {"N": repr(plan.normal_next)}
            if self._normal_next is not None:
                values[":known_normal"] = {"N": repr(self._normal_next)}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConditionalCheckFailedException":
                # Another container moved a slot: learn the current state and plan again.
                old_item: Any = exc.response.get("Item") or {}
                self._remember(old_item)
                return False
            raise TransientError(TransientKind.DEPENDENCY, f"rate limiter: {error.get('Code')}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"rate limiter: {exc}") from None
        self._shared_next = plan.shared_next
        if plan.normal_next is not None:
            self._normal_next = plan.normal_next
        return True


def _unchanged(attribute: str, placeholder: str, known: float | None) -> str:
    return f"attribute_not_exists({attribute})" if known is None else f"{attribute} = {placeholder}"
