"""The shared account budget: a backlog beyond the limit and a 429 storm lose nothing and DLQ nothing."""

from __future__ import annotations

import pytest

from tests.integration.helpers import LogCapture, Stack, sms

pytestmark = pytest.mark.integration


def test_backlog_beyond_the_limit_is_paced_requeued_and_never_dead_lettered(stack: Stack, logs: LogCapture) -> None:
    stack.sandbox.set_rate_limit(120)  # the vendor's sliding minute, token requests included
    stack.configure(TELEGENT_RATE_LIMIT_PER_MINUTE="120", TELEGENT_RATE_LIMIT_BURST="1")
    # As deployed: the visibility timeout outlasts an invocation, so no message is seen twice at once.
    stack.world.client("sqs").set_queue_attributes(
        QueueUrl=stack.world.queue_url, Attributes={"VisibilityTimeout": "12"}
    )
    ids = stack.send(*[sms(f"backlog-{i}", To=[{"Number": f"+1801555{i:04d}"}]) for i in range(30)])
    # 6 s functions with a 3.5 s guard: each invocation can only wait ~2.5 s for slots (2 per second),
    # so most records of a batch are put back for later, again and again.
    stack.drain(max_seconds=90, function_timeout_seconds=6, concurrency=2)
    rows = stack.rows()
    assert {rows[f"backlog-{i}"]["Status"] for i in range(30)} == {"SENT"}
    outbound = stack.sandbox.requests("outbound")
    assert [r["status"] for r in outbound].count(200) == 30  # each sent exactly once
    assert all(r["status"] != 429 for r in stack.sandbox.requests())  # the vendor never had to throttle
    assert stack.dlq() == []
    sent_from_copies = {row["SourceMessageId"] for row in rows.values()} - set(ids)
    assert sent_from_copies, "expected some records to be put back for later"
    # Throttled records were put back, not failed. The only failures allowed are duplicate deliveries
    # seen while their twin is being sent (SQS is at-least-once; moto's receive can race too).
    lines = logs.lines()
    failures = [line["failure_class"] for line in lines if line["message"] == "transient failure, will retry"]
    put_back = [line for line in lines if line["message"] == "throttled: put back on the queue"]
    assert set(failures) <= {"RateLimited", "InProgress"}
    assert len(put_back) == failures.count("RateLimited") > 0


def test_429_storm_is_survived_with_nothing_lost_or_sent_twice(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", 429, retry_after=1, count=15)
    stack.send(*[sms(f"storm-{i}", To=[{"Number": f"+1801666{i:04d}"}]) for i in range(10)])
    stack.drain(max_seconds=90)
    rows = stack.rows()
    assert {rows[f"storm-{i}"]["Status"] for i in range(10)} == {"SENT"}
    accepted = [m["request"]["To"][0]["Number"] for m in stack.outbound()]
    assert len(accepted) == 10
    assert len(set(accepted)) == 10
    assert stack.dlq() == []
    statuses = [r["status"] for r in stack.sandbox.requests("outbound")]
    assert statuses.count(429) == 15
