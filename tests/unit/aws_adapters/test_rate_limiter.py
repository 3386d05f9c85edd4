"""The shared limiter's pacing math, against an in-memory stand-in for its one DynamoDB item."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_adapters.rate_limiter import SharedRateLimiter
from messaging.errors import TransientError, TransientKind


class FakeTable:
    """Implements the two conditional updates the limiter issues, with real compare-and-set."""

    def __init__(self) -> None:
        self.item: dict[str, Any] = {}
        self.calls = 0

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        values = request["ExpressionAttributeValues"]
        current = float(self.item["next_slot"]["N"]) if "next_slot" in self.item else None
        condition = request["ConditionExpression"]
        if ":pause" in values:
            ok = current is None or current < float(values[":pause"]["N"])
        elif ":known" in values:
            ok = current == float(values[":known"]["N"])
        else:
            ok = current is None
        if not ok:
            error = {"Error": {"Code": "ConditionalCheckFailedException"}, "Item": dict(self.item)}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]
        assert condition
        if ":pause" in values:
            self.item.update(next_slot=values[":pause"], slowdown=values[":slow"], slowdown_at=values[":now"])
        else:
            self.item["next_slot"] = values[":next"]
        return {"Attributes": dict(self.item)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sent: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(table: FakeTable, clock: Clock, per_minute: int = 60, burst: int = 1) -> SharedRateLimiter:
    return SharedRateLimiter("rl", table, per_minute, burst, clock=clock, sleep=clock.sleep)


def send_times(rl: SharedRateLimiter, clock: Clock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        rl.acquire()
        times.append(clock.now)
    return times


def test_paces_at_the_configured_rate_with_one_reservation_per_invocation() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=60)
    rl.begin(10, deadline=clock.now + 60)
    times = send_times(rl, clock, 10)
    assert times == pytest.approx([1000.0 + 1.01 * i for i in range(10)])
    assert table.calls == 1


def test_two_containers_share_one_budget() -> None:
    table, clock = FakeTable(), Clock()
    a, b = limiter(table, clock, per_minute=60), limiter(table, clock, per_minute=60)
    a.begin(5, deadline=clock.now + 60)
    b.begin(5, deadline=clock.now + 60)
    a.acquire()
    b.acquire()  # loses the race once, learns the shared state, reserves after a's slots
    assert table.calls == 3
    slots = sorted([*a._slots, *b._slots, 1000.0, 1000.0 + 5 * 1.01])
    assert slots == pytest.approx([1000.0 + 1.01 * i for i in range(10)])


def test_any_sixty_seconds_hold_at_most_the_budget_even_after_a_burst() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=30, burst=5)
    times: list[float] = []
    for _ in range(12):
        rl.begin(10, deadline=clock.now + 300)
        times += send_times(rl, clock, 10)
    assert times[:5] == [1000.0] * 5  # the burst goes at once
    for start in times:
        assert sum(1 for t in times if start <= t < start + 60) <= 30


def test_no_slot_before_the_deadline_is_rate_limited_with_the_wait() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=60)
    rl.begin(100, deadline=clock.now + 5)
    send_times(rl, clock, 5)  # slots at +0 .. +4.04 fit the deadline
    rl.begin(1, deadline=clock.now + 0.5)
    with pytest.raises(TransientError) as caught:
        rl.acquire()
    assert caught.value.kind == TransientKind.RATE_LIMITED
    assert caught.value.retry_after == pytest.approx(1.01)


def test_vendor_429_pauses_everyone_and_slows_the_pace() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=60)
    rl.begin(2, deadline=clock.now + 60)
    rl.acquire()
    rl.penalize(retry_after=10)
    other = limiter(table, clock, per_minute=60)
    other.begin(3, deadline=clock.now + 60)
    times = send_times(other, clock, 3)
    assert times[0] == pytest.approx(1010.0)  # nobody sends before Retry-After
    assert times[2] - times[1] == pytest.approx(1.5 * 1.01)  # 1.5x slower after a 429
