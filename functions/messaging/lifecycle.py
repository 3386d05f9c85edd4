"""The status lifecycle of a result row (DESIGN.md section 3): statuses, ranks, who may replace whom."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    SCHEDULED = "SCHEDULED"
    SENT = "SENT"
    UNKNOWN = "UNKNOWN"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    UNDELIVERABLE = "UNDELIVERABLE"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


# Who may overwrite whom: a write lands only on a higher `StatusRank`, or the same rank with a newer
# `UpdatedAt` (the conditional write in the row store enforces it).
# 0: refused before any send attempt (bad input): never hides a row the send path wrote.
# 1: the outcome of the send (SENT, or REJECTED by the vendor).
# 2: final states decided later by status tracking.
RANK_INPUT_REJECTED = 0
RANK_SEND_OUTCOME = 1
RANK_FINAL = 2
# A SCHEDULED row (DESIGN.md section 9: nothing sent yet) ranks with the rejections before any send: the
# later send's outcome (SENT, REJECTED, EXPIRED) replaces it, and it never hides a row a send wrote.
RANK_SCHEDULED = RANK_INPUT_REJECTED


def may_replace(current_rank: int, current_updated_at: str, new_rank: int, new_updated_at: str) -> bool:
    """The lifecycle rule, for stores that apply it in code (the DynamoDB store applies it as a condition)."""
    return current_rank < new_rank or (current_rank == new_rank and current_updated_at < new_updated_at)


# The ladder of DESIGN.md section 3. Status tracking (tracker, poller, sweep) writes its rows with
# StatusRank = RANK_FINAL, so a replayed send outcome never hides them; among tracking writes the
# ladder below decides, as a condition on the current Status.
LADDER_RANK: dict[Status, int] = {
    Status.SCHEDULED: 0,
    Status.SENT: 1,
    Status.UNKNOWN: 2,
    Status.DELIVERED: 3,
    Status.FAILED: 3,
    Status.UNDELIVERABLE: 3,
    Status.REJECTED: 3,
    Status.EXPIRED: 3,
    Status.CANCELLED: 3,
}
VENDOR_FINAL = frozenset({Status.DELIVERED, Status.FAILED, Status.UNDELIVERABLE})


def may_transition(current: Status, new: Status) -> bool:
    """A row only moves up the ladder; within one rank the first writer wins.

    A real vendor final status replaces UNKNOWN (UNKNOWN ranks below the finals, so that is the
    ladder itself). Duplicates and out-of-order receipts therefore change nothing.
    """
    return LADDER_RANK[current] < LADDER_RANK[new]


def statuses_replaceable_by(new: Status) -> tuple[Status, ...]:
    """Every current Status a write of `new` may replace (the store turns this into its condition)."""
    return tuple(status for status in Status if may_transition(status, new))
