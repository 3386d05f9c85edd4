"""The send's validity end (DESIGN.md section 9): checked once the rate-limit slot is granted, before the HTTP
request; the wait for the slot happens inside the client's call."""

from __future__ import annotations

import pytest

from messaging.errors import ValidityEnded
from messaging.lanes import Lane
from telegent.client import TelegentClient
from telegent.tokens import TokenCache
from tests.unit.telegent.test_client import BASE, NOW, PAYLOAD, Clock, Creds, FakePool


class SlowBudget:
    """A slot that comes `wait` seconds after it is asked for (the shared limiter sleeps until then)."""

    def __init__(self, clock: Clock, wait: float) -> None:
        self.clock = clock
        self.wait = wait
        self.acquired = 0

    def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
        return None

    def acquire(self) -> None:
        self.acquired += 1
        self.clock.now += self.wait

    def penalize(self, retry_after: float | None) -> None:
        return None


def vendor(pool: FakePool, clock: Clock, budget: SlowBudget) -> TelegentClient:
    return TelegentClient(BASE, Creds(), pool, TokenCache(clock), clock=clock, budget=budget)  # type: ignore[arg-type]


def test_a_slot_granted_after_the_validity_ended_sends_nothing() -> None:
    pool, clock = FakePool(), Clock()
    budget = SlowBudget(clock, wait=5)
    with pytest.raises(ValidityEnded, match="rate-limit slot"):
        vendor(pool, clock, budget).send(PAYLOAD, not_after=NOW + 8)  # token slot at +5, send slot at +10
    assert pool.count("tokens") == 1
    assert pool.count("outbound") == 0


def test_a_slot_granted_in_time_sends() -> None:
    pool, clock = FakePool(), Clock()
    budget = SlowBudget(clock, wait=5)
    assert vendor(pool, clock, budget).send(PAYLOAD, not_after=NOW + 10.5).message_id == "TMID-1"
    assert pool.count("outbound") == 1


def test_without_a_validity_the_wait_does_not_matter() -> None:
    pool, clock = FakePool(), Clock()
    assert vendor(pool, clock, SlowBudget(clock, wait=3600)).send(PAYLOAD).message_id == "TMID-1"
