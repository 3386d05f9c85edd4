"""Ambiguous sends (DESIGN.md section 4b): reconcile with Telegent's search, never resend blind. Pure.

A send is ambiguous when the vendor may have accepted it without us learning so (408/500/502/504,
read timeout, dropped connection, a call cut off by its deadline, 2xx without a MessageId).
Telegent has no idempotency key, so the attempt is recorded (time, From, To, a hash of the Body)
and the next receive asks `GET /message/search?phoneNumber=<To>` before it sends again:

- a matching outbound message (same From, same Body, To among its recipients, created since the
  attempt) is ours: the row becomes SENT with its MessageId, nothing is sent;
- the search answers and nothing matches: send again, once per ambiguous attempt;
- no answer (search failed, throttled, or more pages than we read): retry later without sending;
  after `max_minutes` without an answer the policy decides: resend, or give up (DLQ
  AMBIGUOUS_UNRESOLVED) for senders who prefer a missed message to a duplicate.

The search may lag the send (indexing), so nothing is searched before `search_delay_seconds`
after the attempt ended.

This module decides; sender.reconcile does the I/O and aws_adapters.attempts stores attempts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

# The vendor's clock and ours may disagree: a message created up to this long before the attempt
# started still counts as created "since the attempt".
CLOCK_SKEW_SECONDS = 300.0
# An earlier receive that stopped mid-send (crash, timeout) may have sent at any time during its
# invocation; Lambda runs 900 s at most, so its send started at most this long before its lock expired.
LONGEST_INVOCATION_SECONDS = 900.0
# Search paging: how many results to ask for per page and how many pages to read at most. A
# number with more messages than that since the attempt gives no answer (retried, then the policy).
SEARCH_PAGE_SIZE = 100
SEARCH_MAX_PAGES = 3
# Waiting for a search that failed: between these bounds, half the time since the attempt ended.
RETRY_MIN_SECONDS = 1
RETRY_MAX_SECONDS = 300


def body_hash(body: str) -> str:
    """What an attempt keeps of the Body: the Body itself is not stored (PII)."""
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


class Policy(StrEnum):
    """What to do when the search has given no answer for `max_minutes` (AMBIGUOUS_POLICY)."""

    RESEND = "resend"
    DLQ = "dlq"


@dataclass(frozen=True)
class ReconcileRules:
    search_delay_seconds: float = 20.0
    max_minutes: float = 30.0
    policy: Policy = Policy.RESEND


@dataclass(frozen=True)
class Attempt:
    """A send of `request_id` that may have been accepted."""

    request_id: str
    sender: str
    to: tuple[str, ...]
    body_hash: str
    started_at: float  # epoch seconds: the vendor cannot have created our message before this
    ended_at: float  # epoch seconds: when the call ended; the search delay and max wait count from here
    count: int = 1  # ambiguous attempts of this request so far
    interrupted: bool = False  # not recorded by the send: an earlier receive stopped mid-send

    def again(self, started_at: float, ended_at: float) -> Attempt:
        """The resend after an empty search was ambiguous too: the window keeps its start."""
        return replace(
            self,
            started_at=min(self.started_at, started_at),
            ended_at=ended_at,
            count=self.count + 1,
            interrupted=False,
        )


def interrupted_attempt(
    request_id: str, sender: str, to: tuple[str, ...], body: str, lock_expired_at: float, now: float
) -> Attempt:
    """An earlier receive took the send lock and never released it: it may have sent before its
    invocation ended (at the latest when the lock expired, at the earliest 900 s before that)."""
    ended = min(now, lock_expired_at)
    return Attempt(
        request_id=request_id,
        sender=sender,
        to=to,
        body_hash=body_hash(body),
        started_at=lock_expired_at - LONGEST_INVOCATION_SECONDS,
        ended_at=ended,
        interrupted=True,
    )


@dataclass(frozen=True)
class Earlier:
    """What an earlier receive of the same key left behind, when it left anything."""

    attempt: Attempt | None = None  # an ambiguous send it recorded
    lock_expired_at: float | None = None  # it never released the send lock (crash, timeout): when the lock expired


def attempt_to_reconcile(
    earlier: Earlier | None, request_id: str, sender: str, to: tuple[str, ...], body: str, now: float
) -> Attempt | None:
    """The attempt the next send must reconcile first, or None when nothing may have gone out.

    A recorded attempt is reconciled; an earlier receive that stopped mid-send without recording
    anything may have sent too, over its whole invocation, so it counts as an attempt of its own.
    """
    if earlier is None:
        return None
    if earlier.lock_expired_at is None:
        return earlier.attempt
    stopped = interrupted_attempt(request_id, sender, to, body, earlier.lock_expired_at, now)
    if earlier.attempt is None:
        return stopped
    # A receive that was reconciling (or resending) the recorded attempt stopped: search both windows.
    return replace(
        earlier.attempt.again(stopped.started_at, max(earlier.attempt.ended_at, stopped.ended_at)),
        interrupted=True,
    )


@dataclass(frozen=True)
class VendorMessage:
    """One message of a search answer, read tolerantly (any field may be missing)."""

    message_id: str
    direction: str | None = None
    sender: str | None = None
    to: tuple[str, ...] = ()
    body: str | None = field(default=None, repr=False)
    created_at: datetime | None = None  # timezone-aware when known
    status: str | None = None
    cost: Decimal | None = None
    message_type: str | None = None


@dataclass(frozen=True)
class SearchPage:
    messages: tuple[VendorMessage, ...]
    pages: int | None = None  # ResultsPages, when the vendor says


def is_ours(attempt: Attempt, message: VendorMessage) -> bool:
    """Outbound, from our From, to our To, with our Body, created since the attempt (when it says when)."""
    if message.direction is not None and message.direction.strip().lower() != "outbound":
        return False
    if message.sender != attempt.sender or message.body is None:
        return False
    if message.to and not set(attempt.to) <= set(message.to):
        return False
    if body_hash(message.body) != attempt.body_hash:
        return False
    created = message.created_at
    return created is None or created.timestamp() >= attempt.started_at - CLOCK_SKEW_SECONDS


def ours_in_order(attempt: Attempt, messages: Iterable[VendorMessage]) -> list[VendorMessage]:
    """The messages that may be ours, earliest first (those without a time after those with one).

    Another request may have sent the very same Body to the same number: the caller skips any whose
    MessageId a result row of another request already holds."""
    candidates = [message for message in messages if is_ours(attempt, message)]
    return sorted(candidates, key=lambda m: (m.created_at is None, m.created_at.timestamp() if m.created_at else 0.0))


def find_ours(attempt: Attempt, messages: Iterable[VendorMessage]) -> VendorMessage | None:
    """The earliest message that may be ours."""
    candidates = ours_in_order(attempt, messages)
    return candidates[0] if candidates else None


def more_pages(page_number: int, page: SearchPage, page_size: int = SEARCH_PAGE_SIZE) -> bool:
    """Whether the answer continues after page `page_number` (1-based)."""
    if page.pages is not None:
        return page_number < page.pages
    return len(page.messages) >= page_size


# ---------------------------------------------------------------- decisions


class Step(StrEnum):
    WAIT = "wait"  # not now: retry after `delay_seconds`, send nothing
    SEARCH = "search"  # ask Telegent's search
    RECONCILED = "reconciled"  # found: row SENT with the found MessageId, send nothing
    RESEND = "resend"  # send again
    GIVE_UP = "give-up"  # policy dlq: row and DLQ copy AMBIGUOUS_UNRESOLVED, send nothing


@dataclass(frozen=True)
class Decision:
    step: Step
    reason: str
    delay_seconds: int | None = None
    found: VendorMessage | None = None


@dataclass(frozen=True)
class SearchOutcome:
    """What the search said: answered (with or without our message), or no answer."""

    answered: bool
    found: VendorMessage | None = None
    retry_after: float | None = None  # the vendor's Retry-After, when it gave no answer
    problem: str = ""

    @classmethod
    def match(cls, found: VendorMessage) -> SearchOutcome:
        return cls(True, found)

    @classmethod
    def nothing(cls) -> SearchOutcome:
        return cls(True)

    @classmethod
    def no_answer(cls, problem: str, retry_after: float | None = None) -> SearchOutcome:
        return cls(False, None, retry_after, problem)


def before_search(attempt: Attempt, now: float, rules: ReconcileRules) -> Decision:
    """Too early (the search may not show the message yet) or time to search."""
    searchable_at = attempt.ended_at + rules.search_delay_seconds
    if now < searchable_at:
        return Decision(
            Step.WAIT,
            f"the search may lag the send: waiting {rules.search_delay_seconds:g} s after the attempt",
            delay_seconds=max(RETRY_MIN_SECONDS, math.ceil(searchable_at - now)),
        )
    return Decision(Step.SEARCH, "searching for the ambiguous attempt")


def after_search(attempt: Attempt, outcome: SearchOutcome, now: float, rules: ReconcileRules) -> Decision:
    if outcome.answered and outcome.found is not None:
        return Decision(Step.RECONCILED, "the search found the message: it was sent", found=outcome.found)
    if outcome.answered:
        return Decision(Step.RESEND, "the search found no such message: sending again")
    give_up_at = attempt.ended_at + rules.max_minutes * 60
    if now >= give_up_at:
        if rules.policy == Policy.DLQ:
            return Decision(
                Step.GIVE_UP,
                f"no search answer within {rules.max_minutes:g} minutes ({outcome.problem}); policy dlq",
            )
        return Decision(
            Step.RESEND,
            f"no search answer within {rules.max_minutes:g} minutes ({outcome.problem}); policy resend",
        )
    elapsed = max(0.0, now - attempt.ended_at)
    wait = outcome.retry_after if outcome.retry_after is not None else max(rules.search_delay_seconds, elapsed / 2)
    wait = min(wait, RETRY_MAX_SECONDS, give_up_at - now)
    return Decision(
        Step.WAIT,
        f"no search answer ({outcome.problem}): not sent again, retried later",
        delay_seconds=max(RETRY_MIN_SECONDS, math.ceil(wait)),
    )
