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


def may_replace(current_rank: int, current_updated_at: str, new_rank: int, new_updated_at: str) -> bool:
    """The lifecycle rule, for stores that apply it in code (the DynamoDB store applies it as a condition)."""
    return current_rank < new_rank or (current_rank == new_rank and current_updated_at < new_updated_at)
