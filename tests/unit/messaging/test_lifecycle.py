from __future__ import annotations

import itertools

import pytest

from messaging.lifecycle import LADDER_RANK, VENDOR_FINAL, Status, may_transition, statuses_replaceable_by

PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "new"), PAIRS)
def test_every_pair_moves_only_up_the_ladder(current: Status, new: Status) -> None:
    assert may_transition(current, new) == (LADDER_RANK[current] < LADDER_RANK[new])


@pytest.mark.parametrize("final", sorted(VENDOR_FINAL))
def test_a_late_vendor_final_replaces_unknown(final: Status) -> None:
    assert may_transition(Status.UNKNOWN, final)
    assert may_transition(Status.SENT, final)


@pytest.mark.parametrize(("first", "second"), list(itertools.product(sorted(VENDOR_FINAL), repeat=2)))
def test_first_final_wins(first: Status, second: Status) -> None:
    assert not may_transition(first, second)


def test_never_downgraded() -> None:
    for final in VENDOR_FINAL:
        assert not may_transition(final, Status.UNKNOWN)
        assert not may_transition(final, Status.SENT)
    assert not may_transition(Status.UNKNOWN, Status.SENT)
    assert not may_transition(Status.SENT, Status.SENT)


def test_replaceable_sets() -> None:
    assert set(statuses_replaceable_by(Status.DELIVERED)) == {Status.SCHEDULED, Status.SENT, Status.UNKNOWN}
    assert set(statuses_replaceable_by(Status.UNKNOWN)) == {Status.SCHEDULED, Status.SENT}
