"""The priority lane (DESIGN.md section 11): a record's lane, and how the two lanes share one budget.

Pure: no clock, no AWS. The shared limiter (aws_adapters/rate_limiter.py) keeps two GCRA "next free
slot" values on its one DynamoDB item and asks `LaneBudget.plan` what to reserve:

- `shared_next`: the whole account's budget (TELEGENT_RATE_LIMIT_PER_MINUTE, burst). Every vendor
  request of either lane takes a slot from it.
- `normal_next`: the normal lane's own pace, `1 - PRIORITY_RESERVE` of the rate. A normal request
  must pass both; a priority request only the shared one, so it may use the whole budget.

The normal lane never holds shared slots more than `lead` seconds ahead of now (it reserves just in
time, a few slots at most). A priority request therefore waits at most `lead` plus one interval
behind a normal backlog, however many normal containers run; the priority lane's own reservations
are not limited that way (priority comes first).

Why the interval is 60 / (rate - burst + 1), stretched by 1 %: the vendor counts requests in a sliding
minute, so a burst plus a full minute at the steady rate must still fit the budget, with room for
network jitter between our clock and theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from messaging import names

JITTER_MARGIN = 1.01
# The normal lane reserves shared slots at most this far ahead of now. In a normal backlog the shared
# budget is taken about this far ahead all the time, so it is what a priority request waits (plus one
# interval). It only has to cover the limiter's own UpdateItem (milliseconds) for the normal lane to
# lose no slot: a normal request reserves this long before its slot, then waits for it.
LEAD_SECONDS = 0.5


class Lane(StrEnum):
    NORMAL = "normal"
    PRIORITY = "priority"


def lane_of(event_source_arn: str | None, priority_queue_arn: str | None) -> Lane:
    """A record's lane: the priority lane when it came from PRIORITY_QUEUE_ARN, else the normal lane
    (a `Priority: "high"` body on the normal queue is sent normally)."""
    if priority_queue_arn and event_source_arn == priority_queue_arn:
        return Lane.PRIORITY
    return Lane.NORMAL


def invocation_lane(event_source_arns: list[str], priority_queue_arn: str | None) -> Lane:
    """The lane whose budget an invocation draws on. Lambda gives one invocation the records of one
    event source mapping; a mixed batch (only possible by hand) counts as normal."""
    if event_source_arns and all(lane_of(arn, priority_queue_arn) == Lane.PRIORITY for arn in event_source_arns):
        return Lane.PRIORITY
    return Lane.NORMAL


def default_validity_seconds(lane: Lane, priority_validity_seconds: int | None) -> int | None:
    """The validity a request of `lane` gets when it names none (DESIGN.md 11: a late OTP is worthless);
    None: no validity, the request may wait MAX_MESSAGE_AGE_HOURS."""
    return priority_validity_seconds if lane == Lane.PRIORITY else None


@dataclass(frozen=True)
class Pace:
    """One GCRA: `per_minute` requests in any sliding minute, `burst` of them at once."""

    per_minute: float
    burst: int

    @property
    def interval(self) -> float:
        return JITTER_MARGIN * 60.0 / max(self.per_minute - self.burst + 1, 1e-9)

    def tolerance(self, slowdown: float = 1.0) -> float:
        return (self.burst - 1) * self.interval * slowdown


@dataclass(frozen=True)
class Reservation:
    slots: tuple[float, ...]  # epoch seconds at which each reserved request may go
    shared_next: float  # the shared item's new next free slot
    normal_next: float | None  # the normal lane's new next free slot (None: not touched)


@dataclass(frozen=True)
class Wait:
    """Nothing reserved yet: the normal lane's next slots are beyond its lead (held by the priority lane,
    or its own pace); they are claimed at `until`."""

    until: float  # ask again at this moment


@dataclass(frozen=True)
class TooLate:
    """No slot before the deadline; `first` is the earliest there is."""

    first: float


Plan = Reservation | Wait | TooLate


@dataclass(frozen=True)
class LaneBudget:
    per_minute: int
    burst: int = 1
    reserve: float = names.DEFAULT_PRIORITY_RESERVE

    def __post_init__(self) -> None:
        if self.per_minute < 1:
            raise ValueError("the rate limit must be at least 1 per minute")
        if not 0.0 <= self.reserve < 1.0:
            raise ValueError(f"the priority reserve must be at least 0 and below 1, got {self.reserve}")
        object.__setattr__(self, "burst", max(1, min(self.burst, self.per_minute)))

    @property
    def shared(self) -> Pace:
        return Pace(float(self.per_minute), self.burst)

    @property
    def normal(self) -> Pace:
        share = 1.0 - self.reserve
        return Pace(self.per_minute * share, max(1, math.floor(self.burst * share)))

    def lead(self) -> float:
        """How far ahead the normal lane may hold shared slots (the same whatever the pace)."""
        return LEAD_SECONDS

    def priority_wait_bound(self, slowdown: float = 1.0) -> float:
        """The longest a priority request waits behind normal-lane reservations (its own lane's queue aside)."""
        return self.lead() + self.shared.interval * slowdown

    def plan(
        self,
        lane: Lane,
        *,
        now: float,
        shared_next: float | None,
        normal_next: float | None,
        wanted: int,
        deadline: float,
        slowdown: float = 1.0,
    ) -> Plan:
        """What to reserve for up to `wanted` requests of `lane`, none after `deadline`."""
        shared = self.shared
        step = shared.interval * slowdown
        shared_first = max(shared_next if shared_next is not None else -math.inf, now - shared.tolerance(slowdown))
        if lane == Lane.PRIORITY:
            if shared_first > deadline:
                return TooLate(shared_first)
            count = _count(wanted, _fitting(deadline, max(shared_first, now), step))
            slots = tuple(shared_first + i * step for i in range(count))
            return Reservation(slots, shared_first + count * step, None)

        normal = self.normal
        normal_step = normal.interval * slowdown
        normal_first = max(normal_next if normal_next is not None else -math.inf, now - normal.tolerance(slowdown))
        start = max(shared_first, normal_first)
        if start > deadline:
            return TooLate(start)
        lead = self.lead()
        # One claim should carry the slots the lead can hold (fewer conditional writes and races between
        # containers): wait until that many fit, which is never after the first of them.
        fill = max(1, min(wanted, int(lead // normal_step)))
        ready_at = start + (fill - 1) * normal_step - lead
        if ready_at > now:
            return Wait(ready_at)
        by_lead = int((now + lead - start) // normal_step) + 1
        fitting = _fitting(deadline, max(start, now), normal_step)
        count = _count(wanted, min(by_lead, fitting))
        slots = tuple(start + i * normal_step for i in range(count))
        return Reservation(slots, slots[-1] + step, start + count * normal_step)


def _count(wanted: int, limit: int) -> int:
    return max(1, min(wanted, limit))


def _fitting(deadline: float, first: float, step: float) -> int:
    """How many slots `step` apart, from `first`, come before `deadline`."""
    if math.isinf(deadline):
        return 1_000_000
    return int((deadline - first) // step) + 1
