"""The shared limiter against an in-memory stand-in for its one DynamoDB item: pacing, both lanes, 429s."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_adapters.rate_limiter import SharedRateLimiter
from messaging.errors import TransientError, TransientKind
from messaging.lanes import Lane

_TOKEN = re.compile(r"\(|\)|attribute_not_exists\(\w+\)|\w+ (?:=|<) :\w+|AND|OR")


class FakeTable:
    """UpdateItem with real compare-and-set: evaluates the limiter's conditions (attribute_not_exists,
    `a = :v`, `a < :v`, AND, OR, parentheses) and applies `SET a = :v, ...`."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.item: dict[str, Any] = {}
        self.calls = 0
        self.clock = clock
        self.history: list[dict[str, float]] = []  # the item after each successful update, "at" its time

    def _value(self, name: str) -> float | None:
        return float(self.item[name]["N"]) if name in self.item else None

    def _holds(self, condition: str, values: dict[str, Any]) -> bool:
        tokens = _TOKEN.findall(condition)
        assert "".join(tokens).replace(" ", "") == condition.replace(" ", ""), condition

        def atom(token: str) -> bool:
            if token.startswith("attribute_not_exists("):
                return token[len("attribute_not_exists(") : -1] not in self.item
            name, op, placeholder = token.split()
            current, given = self._value(name), float(values[placeholder]["N"])
            return current is not None and (current == given if op == "=" else current < given)

        position = 0

        def expression() -> bool:
            nonlocal position
            result = term()
            while position < len(tokens) and tokens[position] == "OR":
                position += 1
                result = term() or result
            return result

        def term() -> bool:
            nonlocal position
            result = factor()
            while position < len(tokens) and tokens[position] == "AND":
                position += 1
                result = factor() and result
            return result

        def factor() -> bool:
            nonlocal position
            token = tokens[position]
            position += 1
            if token == "(":
                result = expression()
                position += 1  # ")"
                return result
            return atom(token)

        return expression()

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        values = request["ExpressionAttributeValues"]
        if not self._holds(request["ConditionExpression"], values):
            error = {"Error": {"Code": "ConditionalCheckFailedException"}, "Item": dict(self.item)}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]
        for assignment in request["UpdateExpression"].removeprefix("SET ").split(","):
            name, placeholder = (part.strip() for part in assignment.split("="))
            self.item[name] = values[placeholder]
        state = {name: float(value["N"]) for name, value in self.item.items()}
        self.history.append({**state, "at": self.clock() if self.clock else 0.0})
        return {"Attributes": dict(self.item)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(
    table: FakeTable, clock: Clock, per_minute: int = 60, burst: int = 1, reserve: float = 0.2
) -> SharedRateLimiter:
    return SharedRateLimiter("rl", table, per_minute, burst, reserve=reserve, clock=clock, sleep=clock.sleep)


def send_times(rl: SharedRateLimiter, clock: Clock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        rl.acquire()
        times.append(clock.now)
    return times


def test_the_priority_lane_paces_at_the_full_rate_with_one_reservation_per_invocation() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=60)
    rl.begin(10, deadline=clock.now + 60, lane=Lane.PRIORITY)
    times = send_times(rl, clock, 10)
    assert times == pytest.approx([1000.0 + 1.01 * i for i in range(10)])
    assert table.calls == 1
    assert "normal_next" not in table.item  # the normal lane's pace is not touched


def test_the_normal_lane_paces_at_the_rate_minus_the_reserve() -> None:
    clock = Clock()
    table = FakeTable(clock)
    rl = limiter(table, clock, per_minute=600, reserve=0.2)
    rl.begin(100, deadline=clock.now + 600)
    times = send_times(rl, clock, 100)
    rate = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert 0.95 * 480 <= rate <= 480
    # Just in time, a few slots per update: never more than the lead ahead on the shared budget.
    assert 10 < table.calls < 50
    ahead = rl.budget.lead() + rl.budget.shared.interval
    assert all(state["next_slot"] - state["at"] <= ahead for state in table.history)
    assert max(state["next_slot"] - state["at"] for state in table.history) > 0.5 * ahead


def test_two_containers_share_one_budget() -> None:
    table, clock = FakeTable(), Clock()
    a, b = limiter(table, clock), limiter(table, clock)
    a.begin(5, deadline=clock.now + 60, lane=Lane.PRIORITY)
    b.begin(5, deadline=clock.now + 60, lane=Lane.PRIORITY)
    a.acquire()
    b.acquire()  # loses the race once, learns the shared state, reserves after a's slots
    assert table.calls == 3
    slots = sorted([*a._slots, *b._slots, 1000.0, 1000.0 + 5 * 1.01])
    assert slots == pytest.approx([1000.0 + 1.01 * i for i in range(10)])


def test_a_priority_request_waits_little_behind_a_normal_backlog_of_several_containers() -> None:
    table, clock = FakeTable(), Clock()
    normal = [limiter(table, clock, per_minute=50) for _ in range(4)]
    for rl in normal:
        rl.begin(10, deadline=clock.now + 300)
    for _ in range(30):  # the containers take turns, each sending as soon as its slot comes
        for rl in normal:
            rl.acquire()
    priority = limiter(table, clock, per_minute=50)
    priority.begin(1, deadline=clock.now + 60, lane=Lane.PRIORITY)
    asked = clock.now
    priority.acquire()
    assert clock.now - asked <= priority.budget.priority_wait_bound()
    assert priority.budget.priority_wait_bound() < 3.0  # at 50/min: one interval plus the lead


def test_the_normal_lane_waits_for_priority_slots_already_reserved() -> None:
    table, clock = FakeTable(), Clock()
    priority, normal = limiter(table, clock), limiter(table, clock)
    priority.begin(10, deadline=clock.now + 60, lane=Lane.PRIORITY)
    priority.acquire()  # reserves 10 slots: 1000 .. 1009.09
    normal.begin(1, deadline=clock.now + 60)
    normal.acquire()
    assert clock.now == pytest.approx(1000.0 + 10 * 1.01)


def test_any_sixty_seconds_hold_at_most_the_budget_with_both_lanes_and_a_burst() -> None:
    table, clock = FakeTable(), Clock()
    normal, priority = limiter(table, clock, per_minute=30, burst=5), limiter(table, clock, per_minute=30, burst=5)
    times: list[float] = []
    for round_ in range(12):
        rl, lane = (priority, Lane.PRIORITY) if round_ % 3 == 0 else (normal, Lane.NORMAL)
        rl.begin(10, deadline=clock.now + 300, lane=lane)
        times += send_times(rl, clock, 10)
    assert times[:5] == [1000.0] * 5  # the burst goes at once
    for start in times:
        assert sum(1 for t in times if start <= t < start + 60) <= 30


def test_no_slot_before_the_deadline_is_rate_limited_with_the_wait() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=60)
    rl.begin(100, deadline=clock.now + 5, lane=Lane.PRIORITY)
    send_times(rl, clock, 5)  # slots at +0 .. +4.04 fit the deadline
    rl.begin(1, deadline=clock.now + 0.5, lane=Lane.PRIORITY)
    with pytest.raises(TransientError) as caught:
        rl.acquire()
    assert caught.value.kind == TransientKind.RATE_LIMITED
    assert caught.value.retry_after == pytest.approx(1.01)
    rl.begin(1, deadline=clock.now + 0.5)  # the normal lane too
    with pytest.raises(TransientError):
        rl.acquire()


def test_vendor_429_pauses_everyone_and_slows_the_pace() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock, per_minute=60)
    rl.begin(2, deadline=clock.now + 60, lane=Lane.PRIORITY)
    rl.acquire()
    rl.penalize(retry_after=10)
    other = limiter(table, clock, per_minute=60)
    other.begin(3, deadline=clock.now + 60, lane=Lane.PRIORITY)
    times = send_times(other, clock, 3)
    assert times[0] == pytest.approx(1010.0)  # nobody sends before Retry-After
    assert times[2] - times[1] == pytest.approx(1.5 * 1.01)  # 1.5x slower after a 429


def test_a_recreated_table_is_learnt_not_fought() -> None:
    table, clock = FakeTable(), Clock()
    rl = limiter(table, clock)
    rl.begin(1, deadline=clock.now + 60)
    rl.acquire()
    table.item.clear()  # the item is gone (table recreated, or TTL'd by hand)
    rl.begin(1, deadline=clock.now + 60)
    rl.acquire()
    assert "next_slot" in table.item


def test_a_bad_reserve_is_refused_when_the_limiter_is_built() -> None:
    with pytest.raises(ValueError, match="reserve"):
        limiter(FakeTable(), Clock(), reserve=1.0)
