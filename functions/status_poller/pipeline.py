"""One poller run: sweep rows past the tracking window, look up due rows within the budget share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from messaging import names
from messaging.errors import TransientError, TransientKind
from messaging.lanes import Lane
from messaging.lifecycle import Status
from messaging.ports import RequestBudget, StatusLookup, StatusStore, TrackingTelemetry
from messaging.receipts import map_vendor_status
from messaging.status_writes import write_status
from messaging.tracking import PollCandidate, StatusUpdate, TrackingSettings, next_poll_at, timed_out
from observability import logger

SOURCE_POLL = "poll"
SOURCE_SWEEP = "sweep"
MIN_ROWS_PER_RUN = 100


class CappedBudget:
    """The shared limiter, but at most `cap` vendor requests (token requests included) per run."""

    def __init__(self, inner: RequestBudget, cap: int) -> None:
        self._inner = inner
        self.cap = cap
        self.used = 0

    def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
        # Polls are background work: the normal lane's share, never ahead of a priority send (DESIGN 11).
        self.used = 0
        self._inner.begin(min(expected_requests, self.cap), deadline, lane)

    def acquire(self) -> None:
        if self.used >= self.cap:
            raise TransientError(TransientKind.RATE_LIMITED, f"poller budget share spent ({self.cap} requests)")
        self.used += 1
        self._inner.acquire()

    def penalize(self, retry_after: float | None) -> None:
        self._inner.penalize(retry_after)


@dataclass
class PollerDeps:
    store: StatusStore
    lookup: StatusLookup
    budget: CappedBudget
    settings: TrackingSettings
    telemetry: TrackingTelemetry
    clock: Callable[[], datetime]


@dataclass
class RunSummary:
    polled: int = 0
    found_final: int = 0
    rescheduled: int = 0
    swept: int = 0
    skipped: int = 0
    budget_spent: bool = False
    errors: list[str] = field(default_factory=list)


def run(deps: PollerDeps, deadline: float) -> RunSummary:
    summary = RunSummary()
    now = deps.clock()
    deps.budget.begin(deps.budget.cap, deadline)
    candidates = deps.store.due_for_poll(now, max(MIN_ROWS_PER_RUN, deps.budget.cap * 5))
    for candidate in candidates:
        if candidate.status != Status.SENT or candidate.sent_at is None:
            summary.skipped += 1
            continue
        if timed_out(candidate.sent_at, now, deps.settings):
            _sweep(candidate, deps, summary)
            continue
        if summary.budget_spent or not candidate.message_id:
            summary.skipped += 1
            continue
        try:
            _poll(candidate, candidate.message_id, candidate.sent_at, deps, summary)
        except TransientError as error:
            if error.kind == TransientKind.RATE_LIMITED:
                summary.budget_spent = True
            else:
                summary.errors.append(error.kind.value)
                logger.warning("details lookup failed", extra={"reason": error.message, "kind": error.kind.value})
                if error.kind in (TransientKind.THROTTLED, TransientKind.AUTH, TransientKind.CONFIG):
                    summary.budget_spent = True  # no point asking again in this run
    logger.info("poller run", extra=summary.__dict__)
    return summary


def _sweep(candidate: PollCandidate, deps: PollerDeps, summary: RunSummary) -> None:
    now = deps.clock()
    update = StatusUpdate(status=Status.UNKNOWN, source=SOURCE_SWEEP, status_at=now, written_at=now)
    if write_status(deps.store, candidate.request_id, update, deps.telemetry):
        summary.swept += 1


def _poll(candidate: PollCandidate, message_id: str, sent_at: datetime, deps: PollerDeps, summary: RunSummary) -> None:
    details = deps.lookup.details(message_id)
    deps.telemetry.count(names.METRIC_STATUS_POLLS)
    summary.polled += 1
    now = deps.clock()
    status = map_vendor_status(details.vendor_status) if details else None
    if details and status in (Status.DELIVERED, Status.FAILED, Status.UNDELIVERABLE):
        update = StatusUpdate(
            status=status,
            source=SOURCE_POLL,
            status_at=details.status_at or now,
            written_at=now,
            vendor_status=details.vendor_status,
        )
        write_status(deps.store, candidate.request_id, update, deps.telemetry)
        summary.found_final += 1
        return
    if details and details.vendor_status:
        deps.store.refresh_vendor_status(candidate.request_id, details.vendor_status, details.status_at or now)
    polls = candidate.poll_count + 1
    if deps.store.reschedule_poll(candidate.request_id, next_poll_at(sent_at, polls, now, deps.settings), polls):
        summary.rescheduled += 1
