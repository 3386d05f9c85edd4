"""Reconciling an ambiguous send before sending again (DESIGN.md section 4b): the I/O around the
decisions in messaging.ambiguity.

Runs inside the send lock (the Powertools idempotency action), so only one receive of a key does
this at a time. `before_send` says whether the request may be sent now; `ambiguous` records an
ambiguous send and returns the error the record is retried with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from messaging import names
from messaging.ambiguity import (
    SEARCH_MAX_PAGES,
    SEARCH_PAGE_SIZE,
    Attempt,
    Earlier,
    ReconcileRules,
    SearchOutcome,
    Step,
    VendorMessage,
    after_search,
    attempt_to_reconcile,
    before_search,
    body_hash,
    more_pages,
    ours_in_order,
)
from messaging.errors import PermanentError, TransientError, TransientKind, UnrecordedAmbiguity
from messaging.ports import AttemptStore, Telemetry, VendorClient
from messaging.redaction import mask_number
from observability import logger


@dataclass(frozen=True)
class Prior:
    """What an earlier attempt means for this send."""

    attempt: Attempt | None = None  # the ambiguous attempt this send follows; None: a first send
    found: VendorMessage | None = None  # the search found it: reconciled, nothing is sent
    given_up: str | None = None  # AMBIGUOUS_POLICY=dlq after the max wait: nothing is sent


class MemoryAttemptStore:
    """Attempts in memory (unit tests and local tools): what the send path recorded, per key."""

    def __init__(self) -> None:
        self.attempts: dict[str, Attempt] = {}
        self.claims: dict[str, str] = {}  # MessageId -> the request whose row holds it

    def earlier(self, key: str) -> Earlier | None:
        attempt = self.attempts.get(key)
        return Earlier(attempt) if attempt is not None else None

    def save(self, attempt: Attempt) -> None:
        self.attempts[attempt.request_id] = attempt

    def claimed_by(self, message_id: str) -> str | None:
        return self.claims.get(message_id)


def before_send(
    key: str,
    sender: str,
    to: tuple[str, ...],
    body: str,
    *,
    attempts: AttemptStore,
    vendor: VendorClient,
    rules: ReconcileRules,
    clock: Callable[[], datetime],
    telemetry: Telemetry,
) -> Prior:
    """Reconcile what an earlier receive may have sent. Raises TransientError(RECONCILING) when the
    request must wait (too early to search, or no search answer yet): it is not sent then."""
    now = clock().timestamp()
    attempt = attempt_to_reconcile(attempts.earlier(key), key, sender, to, body, now)
    if attempt is None:
        return Prior()
    decision = before_search(attempt, now, rules)
    if decision.step == Step.SEARCH:
        outcome = search_for(attempt, vendor, telemetry, attempts)
        decision = after_search(attempt, outcome, clock().timestamp(), rules)
    context = {"ambiguous_attempts": attempt.count, "interrupted": attempt.interrupted, "to": mask_number(to[0])}
    if decision.step == Step.RECONCILED and decision.found is not None:
        telemetry.count(names.METRIC_AMBIGUOUS_RECONCILED)
        logger.info(
            "ambiguous send reconciled: the vendor has it, not sent again",
            extra={**context, "message_id": decision.found.message_id},
        )
        return Prior(attempt, found=decision.found)
    if decision.step == Step.RESEND:
        telemetry.count(names.METRIC_AMBIGUOUS_RESENT)
        logger.warning("ambiguous send: sending again", extra={**context, "reason": decision.reason})
        return Prior(attempt)
    if decision.step == Step.GIVE_UP:
        telemetry.count(names.METRIC_AMBIGUOUS_UNRESOLVED)
        logger.error("ambiguous send unresolved: not sent again", extra={**context, "reason": decision.reason})
        return Prior(attempt, given_up=decision.reason)
    raise TransientError(TransientKind.RECONCILING, decision.reason, retry_after=decision.delay_seconds)


def search_for(
    attempt: Attempt, vendor: VendorClient, telemetry: Telemetry, claims: AttemptStore | None = None
) -> SearchOutcome:
    """Our message in the search answer for our first recipient, reading a few pages at most. A match
    whose MessageId another request's row already holds is that request's identical message."""
    for page_number in range(1, SEARCH_MAX_PAGES + 1):
        try:
            telemetry.count(names.METRIC_AMBIGUOUS_SEARCHES)
            page = vendor.search(attempt.to[0], page_number, SEARCH_PAGE_SIZE)
        except (TransientError, PermanentError) as failure:
            reason = failure.message
            return SearchOutcome.no_answer(
                f"search failed: {reason}", failure.retry_after if isinstance(failure, TransientError) else None
            )
        for candidate in ours_in_order(attempt, page.messages):
            try:
                owner = claims.claimed_by(candidate.message_id) if claims is not None else None
            except TransientError as failure:
                return SearchOutcome.no_answer(f"could not check who owns a match: {failure.message}")
            if owner is None or owner == attempt.request_id:
                return SearchOutcome.match(candidate)
        if not more_pages(page_number, page):
            return SearchOutcome.nothing()
    return SearchOutcome.no_answer(f"more than {SEARCH_MAX_PAGES} pages of messages for the number")


def ambiguous(
    error: TransientError,
    prior: Attempt | None,
    key: str,
    sender: str,
    to: tuple[str, ...],
    body: str,
    started: datetime,
    ended: datetime,
    *,
    attempts: AttemptStore,
    rules: ReconcileRules,
) -> TransientError:
    """Record the ambiguous send durably; the error to retry the record with (not before the search delay)."""
    start, end = started.timestamp(), ended.timestamp()
    attempt = Attempt(key, sender, to, body_hash(body), start, end) if prior is None else prior.again(start, end)
    try:
        attempts.save(attempt)
    except TransientError as failure:
        # The send lock is kept (not released): when it expires the next receive treats this one as
        # interrupted mid-send and reconciles over its whole invocation.
        return UnrecordedAmbiguity(f"{error.message}; and recording the attempt failed: {failure.message}")
    return TransientError(
        TransientKind.AMBIGUOUS,
        f"{error.message} (attempt {attempt.count} recorded: the retry searches before sending again)",
        retry_after=max(1.0, rules.search_delay_seconds),
    )
