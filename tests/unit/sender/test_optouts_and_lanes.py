"""The sender's opt-out check (DESIGN.md 10) and lane choice (DESIGN.md 11), with in-memory collaborators."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from messaging.errors import TransientError, TransientKind
from messaging.lanes import Lane
from messaging.optouts import OptOutCheck
from messaging.ports import OptOut
from sender.pipeline import begin_invocation, handle_record, record_lane
from sender.source_message import SourceMessage
from tests.unit.fakes import World, make_world, sqs_record

PRIORITY_ARN = "arn:aws:sqs:us-east-1:000000000000:telegent-sms-priority"
FROM = "+18018018011"
PLENTY_OF_TIME = lambda: 60_000  # noqa: E731


class FakeOptOuts:
    def __init__(self, numbers: set[str]) -> None:
        self.numbers = numbers
        self.reads: list[set[str]] = []
        self.failures = 0

    def opted_out(self, numbers: Collection[str]) -> set[str]:
        if self.failures:
            self.failures -= 1
            raise TransientError(TransientKind.DEPENDENCY, "opt-out table, reading opt-outs: ThrottlingException")
        self.reads.append(set(numbers))
        return self.numbers & set(numbers)

    def add(self, entry: OptOut) -> bool:
        raise AssertionError("the sender never writes opt-outs")

    def remove(self, number: str, at: datetime) -> bool:
        raise AssertionError("the sender never writes opt-outs")


class RecordingBudget:
    def __init__(self) -> None:
        self.lanes: list[Lane] = []

    def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
        self.lanes.append(lane)

    def acquire(self) -> None:
        return None

    def penalize(self, retry_after: float | None) -> None:
        return None


def sms(i: int) -> dict[str, Any]:
    return {"IdempotencyKey": f"k-{i}", "To": [{"Number": f"+1801555{i:04d}"}], "From": FROM, "Body": f"hello {i}"}


@pytest.fixture
def world() -> tuple[World, FakeOptOuts]:
    world = make_world()
    store = FakeOptOuts({"+18015550002", "+18015550005", "+18015550008"})
    world.deps.optouts = OptOutCheck(store)
    return world, store


def run_batch(world: World, records: list[Mapping[str, Any]]) -> None:
    begin_invocation(records, world.deps, 60_000)
    for record in records:
        handle_record(record, world.deps, PLENTY_OF_TIME)


def test_a_batch_of_ten_with_three_opted_out_sends_seven_after_one_read(world: tuple[World, FakeOptOuts]) -> None:
    w, store = world
    records: list[Mapping[str, Any]] = [sqs_record(sms(i), message_id=f"m{i}") for i in range(10)]
    run_batch(w, records)
    assert len(store.reads) == 1
    assert store.reads[0] == {f"+1801555{i:04d}" for i in range(10)}
    assert len(w.vendor.sent) == 7
    assert {p["To"][0]["Number"] for p in w.vendor.sent}.isdisjoint(store.numbers)
    for i in (2, 5, 8):
        row = w.results.rows[f"k-{i}"]
        assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "OPTED_OUT")
        assert row["To"] == f"+1801555{i:04d}"
    assert w.dlq.messages == []  # no DLQ copy for an opt-out
    assert w.metrics.counts["OptedOutSkipped"] == 3
    assert w.metrics.counts["MessagesSent"] == 7
    assert "MessagesRejected" not in w.metrics.counts  # not a bad request: no rejection alarm


def test_the_check_comes_after_validation(world: tuple[World, FakeOptOuts]) -> None:
    w, store = world
    bad = {**sms(2), "Body": ""}
    run_batch(w, [sqs_record(bad)])
    assert w.results.rows["k-2"]["ErrorCode"] == "VALIDATION_ERROR"  # an invalid request is refused as such
    assert store.reads == []  # its (peeked) number was never read: nothing asked


def test_an_opt_out_never_hides_a_send_already_made(world: tuple[World, FakeOptOuts]) -> None:
    w, store = world
    store.numbers.clear()
    run_batch(w, [sqs_record(sms(2), message_id="m1")])
    store.numbers.add("+18015550002")  # STOP arrives; then the producer's message comes again
    run_batch(w, [sqs_record(sms(2), message_id="m2")])
    assert len(w.vendor.sent) == 1
    assert w.results.rows["k-2"]["Status"] == "SENT"


def test_a_failed_read_retries_the_record_and_sends_nothing(world: tuple[World, FakeOptOuts]) -> None:
    w, store = world
    store.failures = 1
    records: list[Mapping[str, Any]] = [sqs_record(sms(1))]
    begin_invocation(records, w.deps, 60_000)
    with pytest.raises(TransientError):
        handle_record(records[0], w.deps, PLENTY_OF_TIME)
    assert w.vendor.sent == []
    assert "k-1" not in w.results.rows


def test_without_an_opt_out_table_nothing_is_read() -> None:
    w = make_world()
    run_batch(w, [sqs_record(sms(2))])
    assert len(w.vendor.sent) == 1


def test_the_invocation_budget_and_each_record_take_the_lane_of_their_queue() -> None:
    w = make_world()
    budget = RecordingBudget()
    w.deps.limiter = budget
    w.deps.settings = replace(w.deps.settings, priority_queue_arn=PRIORITY_ARN)
    priority = {**sqs_record(sms(1)), "eventSourceARN": PRIORITY_ARN}
    normal_high = sqs_record({**sms(2), "Priority": "high"})  # a high-priority body on the normal queue
    begin_invocation([priority], w.deps, 60_000)
    begin_invocation([normal_high], w.deps, 60_000)
    assert budget.lanes == [Lane.PRIORITY, Lane.NORMAL]
    assert record_lane(SourceMessage.from_record(priority), w.deps) == Lane.PRIORITY
    assert record_lane(SourceMessage.from_record(normal_high), w.deps) == Lane.NORMAL
    assert w.deps.settings.default_validity_seconds(Lane.PRIORITY) == 600
    assert w.deps.settings.default_validity_seconds(Lane.NORMAL) is None
