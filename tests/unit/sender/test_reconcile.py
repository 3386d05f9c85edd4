"""Ambiguous sends through the send path (DESIGN.md 4b), with in-memory collaborators and a clock we move."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from messaging.ambiguity import Policy, body_hash
from messaging.errors import TransientError, TransientKind, UnrecordedAmbiguity
from sender.pipeline import begin_invocation, handle_record
from sender.reconcile import MemoryAttemptStore
from tests.unit.fakes import World, make_world, sqs_record

SMS = {
    "IdempotencyKey": "order-1",
    "To": [{"Number": "+18015737111"}],
    "From": "+18018018011",
    "Body": "Your order has shipped",
}
PLENTY_OF_TIME = lambda: 60_000  # noqa: E731
T0 = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def world() -> World:
    world = make_world()
    world.deps.clock = Clock()
    return world


def clock(world: World) -> Clock:
    assert isinstance(world.deps.clock, Clock)
    return world.deps.clock


def attempts(world: World) -> MemoryAttemptStore:
    assert isinstance(world.deps.attempts, MemoryAttemptStore)
    return world.deps.attempts


def run(world: World, receive_count: int = 1) -> None:
    handle_record(sqs_record(SMS, f"m-{receive_count}", receive_count), world.deps, PLENTY_OF_TIME)


def ambiguous(message: str = "HTTP 502") -> TransientError:
    return TransientError(TransientKind.AMBIGUOUS, message)


def first_receive_is_ambiguous(world: World, *, accepted: bool) -> None:
    (world.vendor.lost_answers if accepted else world.vendor.failures).append(ambiguous())
    with pytest.raises(TransientError) as caught:
        run(world)
    assert caught.value.kind == TransientKind.AMBIGUOUS
    assert caught.value.retry_after == 20  # the retry comes back when the search may show it
    assert world.results.rows == {}


def test_an_ambiguous_send_is_recorded_before_the_record_is_retried(world: World) -> None:
    first_receive_is_ambiguous(world, accepted=True)
    attempt = attempts(world).attempts["order-1"]
    assert (attempt.sender, attempt.to, attempt.count) == ("+18018018011", ("+18015737111",), 1)
    assert attempt.body_hash == body_hash("Your order has shipped")
    assert attempt.started_at <= attempt.ended_at == T0.timestamp()
    assert world.metrics.counts["AmbiguousSends"] == 1


def test_too_early_to_search_waits_without_sending_or_burning_a_receive(world: World) -> None:
    first_receive_is_ambiguous(world, accepted=True)
    clock(world).advance(5)
    run(world, receive_count=2)  # put back on the queue for later, not failed
    assert world.vendor.searches == []
    assert len(world.vendor.sent) == 1
    ((_, _, delay),) = world.queues.requeued
    assert 15 <= delay <= 18  # the 15 s left, plus jitter
    assert world.metrics.counts["TransientFailureReconciling"] == 1


def test_accepted_then_lost_is_found_by_the_search_and_not_sent_again(world: World) -> None:
    first_receive_is_ambiguous(world, accepted=True)
    clock(world).advance(21)
    run(world, receive_count=2)
    assert len(world.vendor.sent) == 1  # nothing sent twice
    assert world.vendor.searches == [("+18015737111", 1)]
    row = world.results.rows["order-1"]
    assert (row["Status"], row["MessageId"], row["StatusSource"]) == ("SENT", "TMID-0001", "reconciled")
    assert row["VendorStatus"] == "Queued"
    assert "PollAt" in row
    assert world.metrics.counts["AmbiguousReconciled"] == 1
    assert "AmbiguousResent" not in world.metrics.counts


def test_lost_before_it_was_accepted_is_sent_once_after_an_empty_search(world: World) -> None:
    first_receive_is_ambiguous(world, accepted=False)
    clock(world).advance(21)
    run(world, receive_count=2)
    assert len(world.vendor.sent) == 1
    row = world.results.rows["order-1"]
    assert (row["Status"], row["StatusSource"]) == ("SENT", "sender")
    assert world.metrics.counts["AmbiguousResent"] == 1


def test_a_message_with_another_body_is_not_taken_for_ours(world: World) -> None:
    world.vendor.sent.append({"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "other"})
    first_receive_is_ambiguous(world, accepted=False)
    clock(world).advance(21)
    run(world, receive_count=2)
    assert world.results.rows["order-1"]["MessageId"] == "TMID-0002"
    assert len(world.vendor.sent) == 2


def test_a_resend_that_is_ambiguous_again_is_reconciled_again(world: World) -> None:
    first_receive_is_ambiguous(world, accepted=False)
    clock(world).advance(21)
    world.vendor.lost_answers.append(ambiguous("read timeout"))
    with pytest.raises(TransientError) as caught:
        run(world, receive_count=2)
    assert caught.value.kind == TransientKind.AMBIGUOUS
    second = attempts(world).attempts["order-1"]
    assert second.count == 2
    assert second.started_at < second.ended_at  # the window keeps the first attempt's start
    clock(world).advance(21)
    run(world, receive_count=3)
    assert len(world.vendor.sent) == 1  # the second one went out; found, not sent a third time
    assert world.results.rows["order-1"]["StatusSource"] == "reconciled"


def test_search_down_is_not_resent_until_the_max_wait_then_policy_resend(world: World) -> None:
    first_receive_is_ambiguous(world, accepted=False)
    for minute in (1, 10, 29):
        clock(world).now = T0 + timedelta(minutes=minute)
        world.vendor.search_failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
        run(world, receive_count=2)
        assert world.vendor.sent == []
        assert world.results.rows == {}
    assert len(world.queues.requeued) == 3
    clock(world).now = T0 + timedelta(minutes=31)
    world.vendor.search_failures.append(TransientError(TransientKind.THROTTLED, "HTTP 429", retry_after=5))
    run(world, receive_count=2)
    assert len(world.vendor.sent) == 1
    assert world.results.rows["order-1"]["Status"] == "SENT"
    assert world.metrics.counts["AmbiguousResent"] == 1


def test_search_down_past_the_max_wait_with_policy_dlq_gives_up_with_a_row_and_a_dlq_copy(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, ambiguous_policy=Policy.DLQ)
    first_receive_is_ambiguous(world, accepted=True)
    clock(world).now = T0 + timedelta(minutes=31)
    world.vendor.search_failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
    run(world, receive_count=2)
    assert len(world.vendor.sent) == 1  # only the first, ambiguous one
    row = world.results.rows["order-1"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "AMBIGUOUS_UNRESOLVED")
    assert "policy dlq" in row["ErrorMessage"]
    ((_, reasons),) = world.dlq.messages
    assert reasons["ErrorCode"] == "AMBIGUOUS_UNRESOLVED"
    assert world.metrics.counts["AmbiguousUnresolved"] == 1
    run(world, receive_count=3)  # a later copy replays the outcome: still nothing sent
    assert len(world.vendor.sent) == 1


def test_a_search_answer_after_the_max_wait_still_wins_over_the_policy(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, ambiguous_policy=Policy.DLQ)
    first_receive_is_ambiguous(world, accepted=True)
    clock(world).now = T0 + timedelta(hours=2)
    run(world, receive_count=2)
    assert world.results.rows["order-1"]["StatusSource"] == "reconciled"


class BrokenAttempts(MemoryAttemptStore):
    def save(self, attempt: object) -> None:
        raise TransientError(TransientKind.DEPENDENCY, "table unreachable")


def test_an_attempt_that_cannot_be_recorded_keeps_the_send_lock(world: World) -> None:
    world.deps.attempts = BrokenAttempts()
    world.vendor.lost_answers.append(ambiguous())
    with pytest.raises(UnrecordedAmbiguity) as caught:
        run(world)
    assert "recording the attempt failed" in caught.value.message


def test_no_earlier_attempt_sends_without_searching(world: World) -> None:
    run(world)
    assert world.vendor.searches == []
    assert world.results.rows["order-1"]["StatusSource"] == "sender"


def test_each_invocation_bounds_the_vendor_calls_by_its_remaining_time(world: World) -> None:
    begin_invocation([sqs_record(SMS)], world.deps, 30_000)
    assert world.vendor.deadlines == [T0.timestamp() + 29.0]  # 1 s kept to record the outcome


def test_an_identical_message_another_request_owns_is_not_taken_for_ours(world: World) -> None:
    """Another request sent the very same Body to the same number meanwhile: its row holds that MessageId."""
    first_receive_is_ambiguous(world, accepted=False)
    world.vendor.sent.append({"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": SMS["Body"]})
    attempts(world).claims["TMID-0001"] = "order-2"
    clock(world).advance(21)
    run(world, receive_count=2)
    assert len(world.vendor.sent) == 2  # ours was never sent: it is sent now
    row = world.results.rows["order-1"]
    assert (row["MessageId"], row["StatusSource"]) == ("TMID-0002", "sender")


def test_an_owner_lookup_that_fails_is_no_answer(world: World) -> None:
    class Unreachable(MemoryAttemptStore):
        def claimed_by(self, message_id: str) -> str | None:
            raise TransientError(TransientKind.DEPENDENCY, "index unreachable")

    store = Unreachable()
    world.deps.attempts = store
    first_receive_is_ambiguous(world, accepted=True)
    clock(world).advance(21)
    run(world, receive_count=2)
    assert len(world.vendor.sent) == 1
    assert world.results.rows == {}
    assert len(world.queues.requeued) == 1  # retried later, not sent again
