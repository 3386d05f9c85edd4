"""Lane budget math (DESIGN.md section 11): the normal lane at most 1 - PRIORITY_RESERVE of the rate,
the priority lane all of it, and a priority request never far behind normal-lane reservations.

The simulations below play several "containers" against one shared state with `LaneBudget.plan`,
exactly as the limiter does against its DynamoDB item, on a virtual clock."""

from __future__ import annotations

import heapq
import math

import pytest

from messaging.lanes import (
    JITTER_MARGIN,
    Lane,
    LaneBudget,
    Reservation,
    TooLate,
    Wait,
    default_validity_seconds,
    invocation_lane,
    lane_of,
)

PRIORITY_ARN = "arn:aws:sqs:us-east-1:000000000000:telegent-priority"
NORMAL_ARN = "arn:aws:sqs:us-east-1:000000000000:telegent-requests"


class Shared:
    """The limiter item: both next free slots."""

    def __init__(self) -> None:
        self.shared_next: float | None = None
        self.normal_next: float | None = None

    def plan(self, budget: LaneBudget, lane: Lane, now: float, wanted: int, deadline: float = math.inf):
        plan = budget.plan(
            lane,
            now=now,
            shared_next=self.shared_next,
            normal_next=self.normal_next,
            wanted=wanted,
            deadline=deadline,
        )
        if isinstance(plan, Reservation):
            assert self.shared_next is None or plan.shared_next > self.shared_next  # never moves back
            self.shared_next = plan.shared_next
            if plan.normal_next is not None:
                self.normal_next = plan.normal_next
        return plan


def drain(
    budget: LaneBudget, state: Shared, containers: int, messages: int, priority_at: tuple[float, ...] | list[float] = ()
):
    """`containers` normal containers drain `messages` (each sending as soon as its slot comes, 10 planned
    per invocation); priority requests arrive at `priority_at`. Returns (normal send times, priority waits)."""
    events: list[tuple[float, int, str]] = [(0.0, i, "normal") for i in range(containers)]
    events += [(at, 1000 + i, "priority") for i, at in enumerate(priority_at)]
    heapq.heapify(events)
    normal_sent: list[float] = []
    priority_waits: list[float] = []
    remaining = messages
    while events:
        now, who, lane = heapq.heappop(events)
        if lane == "priority":
            plan = state.plan(budget, Lane.PRIORITY, now, 1)
            assert isinstance(plan, Reservation)
            priority_waits.append(max(0.0, plan.slots[0] - now))
            continue
        if remaining <= 0:
            continue
        plan = state.plan(budget, Lane.NORMAL, now, min(10, remaining))
        if isinstance(plan, Wait):
            assert plan.until > now
            heapq.heappush(events, (plan.until, who, lane))
            continue
        assert isinstance(plan, Reservation)
        sends = [max(now, slot) for slot in plan.slots]
        normal_sent += sends
        remaining -= len(sends)
        heapq.heappush(events, (sends[-1], who, lane))  # the container sends, then plans again
    return sorted(normal_sent), priority_waits


def busiest_minute(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 60:
            start += 1
        best = max(best, end - start + 1)
    return best


# ---------------------------------------------------------------- lanes


def test_the_lane_is_the_queue_the_record_came_from() -> None:
    assert lane_of(PRIORITY_ARN, PRIORITY_ARN) == Lane.PRIORITY
    assert lane_of(NORMAL_ARN, PRIORITY_ARN) == Lane.NORMAL
    assert lane_of(PRIORITY_ARN, None) == Lane.NORMAL  # no priority queue configured
    assert lane_of("", "") == Lane.NORMAL
    assert invocation_lane([PRIORITY_ARN, PRIORITY_ARN], PRIORITY_ARN) == Lane.PRIORITY
    assert invocation_lane([PRIORITY_ARN, NORMAL_ARN], PRIORITY_ARN) == Lane.NORMAL
    assert invocation_lane([], PRIORITY_ARN) == Lane.NORMAL


def test_only_the_priority_lane_gets_a_default_validity() -> None:
    assert default_validity_seconds(Lane.PRIORITY, 600) == 600
    assert default_validity_seconds(Lane.NORMAL, 600) is None


# ---------------------------------------------------------------- the budget


def test_the_normal_lane_paces_at_the_rate_minus_the_reserve() -> None:
    budget = LaneBudget(600, reserve=0.2)
    assert budget.shared.interval == pytest.approx(JITTER_MARGIN * 60 / 600)
    assert budget.normal.interval == pytest.approx(JITTER_MARGIN * 60 / 480)
    assert LaneBudget(600, reserve=0.0).normal.interval == pytest.approx(budget.shared.interval)


@pytest.mark.parametrize("reserve", [-0.1, 1.0, 1.5])
def test_a_reserve_outside_0_to_1_is_refused(reserve: float) -> None:
    with pytest.raises(ValueError, match="reserve"):
        LaneBudget(50, reserve=reserve)


@pytest.mark.parametrize(("rate", "containers"), [(50, 1), (50, 4), (600, 3)])
def test_a_normal_backlog_gets_at_most_and_nearly_its_share(rate: int, containers: int) -> None:
    budget = LaneBudget(rate, reserve=0.2)
    sent, _ = drain(budget, Shared(), containers, messages=rate * 3)
    achieved = (len(sent) - 1) / (sent[-1] - sent[0]) * 60
    assert 0.95 * 0.8 * rate <= achieved <= 0.8 * rate
    assert busiest_minute(sent) <= math.ceil(0.8 * rate)


def test_the_priority_lane_alone_gets_the_whole_rate() -> None:
    budget, state = LaneBudget(600, reserve=0.2), Shared()
    slots: list[float] = []
    now = 0.0
    while len(slots) < 1800:
        plan = state.plan(budget, Lane.PRIORITY, now, 10)
        assert isinstance(plan, Reservation)
        slots += plan.slots
        now = plan.slots[-1]
    achieved = (len(slots) - 1) / (slots[-1] - slots[0]) * 60
    assert 0.98 * 600 <= achieved <= 600
    assert busiest_minute(slots) <= 600


@pytest.mark.parametrize(("rate", "containers"), [(50, 1), (50, 5), (600, 3), (600, 10)])
def test_a_priority_request_waits_a_few_seconds_at_most_behind_a_normal_backlog(rate: int, containers: int) -> None:
    budget = LaneBudget(rate, reserve=0.2)
    arrivals = [7.3 + 13.1 * i for i in range(20)]
    _, waits = drain(budget, Shared(), containers, messages=rate * 2, priority_at=arrivals)
    assert len(waits) == 20
    assert max(waits) <= budget.priority_wait_bound() + 1e-9
    assert budget.priority_wait_bound() <= 2 * JITTER_MARGIN * 60 / rate + 1.0  # "a few seconds" at 50/min


def test_both_lanes_together_never_exceed_the_account_budget() -> None:
    # Priority traffic in bursts of 10 every 5 s on top of a normal backlog.
    budget, state2 = LaneBudget(600, reserve=0.2), Shared()
    normal: list[float] = []
    priority: list[float] = []
    now = 0.0
    next_priority = 0.0
    while len(normal) < 600:
        if now >= next_priority:
            plan = state2.plan(budget, Lane.PRIORITY, now, 10)
            assert isinstance(plan, Reservation)
            priority += plan.slots
            next_priority += 5.0
        plan = state2.plan(budget, Lane.NORMAL, now, 10)
        if isinstance(plan, Wait):
            now = min(plan.until, next_priority)
            continue
        assert isinstance(plan, Reservation)
        normal += [max(now, slot) for slot in plan.slots]
        now = normal[-1]
    assert busiest_minute(normal + priority) <= 600
    assert busiest_minute(normal) <= 480


def test_priority_reservations_come_first_and_normal_waits_for_them() -> None:
    budget, state = LaneBudget(60, reserve=0.2), Shared()
    priority = state.plan(budget, Lane.PRIORITY, 100.0, 10)
    assert isinstance(priority, Reservation)
    assert priority.slots == pytest.approx([100.0 + 1.01 * i for i in range(10)])
    plan = state.plan(budget, Lane.NORMAL, 100.0, 10)
    assert isinstance(plan, Wait)
    assert plan.until == pytest.approx(100.0 + 10 * 1.01 - budget.lead())
    after = state.plan(budget, Lane.NORMAL, plan.until, 10)
    assert isinstance(after, Reservation)
    assert after.slots[0] == pytest.approx(100.0 + 10 * 1.01)


def test_the_normal_lane_holds_shared_slots_only_a_lead_ahead() -> None:
    budget, state = LaneBudget(600, reserve=0.2), Shared()
    plan = state.plan(budget, Lane.NORMAL, 0.0, 10)
    assert isinstance(plan, Reservation)
    assert 1 < len(plan.slots) < 10  # a few slots, not the whole batch
    assert plan.slots[-1] <= budget.lead()
    assert plan.shared_next <= budget.lead() + budget.shared.interval


def test_no_slot_before_the_deadline_is_too_late_with_the_earliest_slot() -> None:
    budget, state = LaneBudget(60, reserve=0.0), Shared()
    state.plan(budget, Lane.PRIORITY, 0.0, 5)
    late = state.plan(budget, Lane.PRIORITY, 0.0, 1, deadline=2.0)
    assert isinstance(late, TooLate)
    assert late.first == pytest.approx(5 * 1.01)
    assert isinstance(state.plan(budget, Lane.NORMAL, 0.0, 1, deadline=2.0), TooLate)


def test_a_burst_goes_at_once_in_both_lanes() -> None:
    budget = LaneBudget(100, burst=10, reserve=0.2)
    plan = Shared().plan(budget, Lane.PRIORITY, 50.0, 10)
    assert isinstance(plan, Reservation)
    assert sum(1 for slot in plan.slots if slot <= 50.0) == 10
    normal = Shared().plan(budget, Lane.NORMAL, 50.0, 10)
    assert isinstance(normal, Reservation)
    assert sum(1 for slot in normal.slots if slot <= 50.0) == 8  # floor(10 x 0.8)


def test_a_slowdown_stretches_both_paces() -> None:
    budget = LaneBudget(60, reserve=0.2)
    plan = budget.plan(Lane.PRIORITY, now=0.0, shared_next=None, normal_next=None, wanted=3, deadline=100, slowdown=2)
    assert isinstance(plan, Reservation)
    assert plan.slots[1] - plan.slots[0] == pytest.approx(2 * 1.01)
