"""Send-time options through moto server + the Telegent sandbox + the real handler (DESIGN.md section 9):
SendAt by delayed requeue and by a real EventBridge Scheduler schedule, validity before and after a real
rate-limit wait, dry runs, segments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from messaging.rows import now_utc
from messaging.send_options import format_instant, schedule_name
from sender.wiring import get_dependencies
from tests.integration.helpers import Stack, sms

pytestmark = pytest.mark.integration


def idempotency_items(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.world.client("dynamodb").scan(TableName=stack.world.idempotency_table)["Items"])


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_send_at_a_few_seconds_ahead_waits_on_the_queue_and_is_sent_once_at_its_time(stack: Stack) -> None:
    send_at = now_utc() + timedelta(seconds=3)
    stack.send(sms("soon-1", SendAt=format_instant(send_at)))
    summary = stack.drain()
    assert summary.records == 2  # the first copy, put back with a delay; the delayed copy, sent
    (message,) = stack.outbound()
    assert message["received_at"] >= send_at.timestamp()  # never early
    assert set(message["request"]) == {"To", "From", "Owner", "Body"}
    row = stack.rows()["soon-1"]
    assert (row["Status"], row["SendAt"]) == ("SENT", format_instant(send_at).replace("Z", "") + "Z")
    assert stack.world.client("scheduler").list_schedules(GroupName=stack.world.schedule_group)["Schedules"] == []


def test_a_send_at_twenty_minutes_ahead_is_scheduled_and_its_firing_sends_exactly_once(stack: Stack) -> None:
    send_at = (now_utc() + timedelta(minutes=20)).replace(microsecond=0)
    original = sms(SendAt=format_instant(send_at), ValiditySeconds=600)  # no key: the SQS id is the key
    [message_id] = stack.send(original)
    stack.drain()
    assert stack.outbound() == []
    row = stack.rows()[message_id]
    assert (row["Status"], row["StatusRank"]) == ("SCHEDULED", 0)
    assert row["SendAt"] == send_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert idempotency_items(stack) == []  # scheduling took no idempotency record

    scheduler = stack.world.client("scheduler")
    schedule = scheduler.get_schedule(Name=schedule_name(message_id), GroupName=stack.world.schedule_group)
    assert schedule["ScheduleExpression"] == f"at({send_at.replace(tzinfo=None).isoformat()})"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == stack.world.queue_arn
    assert schedule["Target"]["RoleArn"] == stack.world.scheduler_role_arn
    fired_body = json.loads(schedule["Target"]["Input"])
    first_enqueued = parse(fired_body.pop("FirstEnqueuedAt"))
    assert fired_body == {**original, "IdempotencyKey": message_id}
    assert abs((first_enqueued - parse(row["CreatedAt"])).total_seconds()) < 5

    # Twenty minutes later: Scheduler puts its input on the queue and SQS delivers it twice; a copy of the
    # original comes back too (keyed by the first message id, as a requeued or redriven copy is). The
    # sender's clock is moved to the SendAt to stand for the wait.
    deps = get_dependencies()
    deps.clock = lambda: now_utc() + timedelta(minutes=20)
    stack.send(schedule["Target"]["Input"], schedule["Target"]["Input"])
    stack.send(original, OriginalMessageId=message_id)
    stack.drain()
    (message,) = stack.outbound()
    assert message["request"]["Body"] == original["Body"]
    assert "IdempotencyKey" not in message["request"]
    row = stack.rows()[message_id]
    assert (row["Status"], row["MessageId"]) == ("SENT", message["message_id"])


def test_a_request_past_its_valid_until_is_expired_without_a_send_or_dlq_copy(stack: Stack) -> None:
    stack.send(sms("stale-1", ValidUntil=format_instant(now_utc() - timedelta(seconds=1))))
    stack.drain()
    row = stack.rows()["stale-1"]
    assert (row["Status"], row["ErrorCode"]) == ("EXPIRED", "VALIDITY_EXPIRED")
    assert stack.outbound() == []
    assert stack.dlq() == []


def test_a_validity_that_ends_while_waiting_for_a_rate_limit_slot_is_expired_and_not_sent(stack: Stack) -> None:
    # 12 a minute, one at a time: a slot every ~5 s across every container (the shared limiter).
    stack.configure(TELEGENT_RATE_LIMIT_PER_MINUTE="12", TELEGENT_RATE_LIMIT_BURST="1")
    stack.send(sms("first-1"))  # takes a token slot and a send slot
    stack.drain()
    stack.send(sms("patient-1"), sms("short-1", ValiditySeconds=2))  # the next slots are ~5 and ~10 s away
    stack.drain(max_seconds=60)
    rows = stack.rows()
    assert rows["patient-1"]["Status"] == "SENT"
    assert (rows["short-1"]["Status"], rows["short-1"]["ErrorCode"]) == ("EXPIRED", "VALIDITY_EXPIRED")
    assert "rate-limit slot" in rows["short-1"]["ErrorMessage"]
    assert sorted(m["request"]["To"][0]["Number"] for m in stack.outbound()) == ["+18015737111"] * 2
    assert stack.dlq() == []


def test_a_dry_run_leaves_no_idempotency_record_and_makes_no_vendor_request(stack: Stack) -> None:
    stack.world.client("s3").put_object(Bucket=stack.world.media_bucket, Key="mms/pass.png", Body=b"x" * 2048)
    media = {"MmsS3": [{"Bucket": stack.world.media_bucket, "Key": "mms/pass.png", "BaseType": "image/png"}]}
    stack.send(sms("try-1", DryRun=True, Body="Gate B12 \u2013 boarding now", **media))
    stack.drain()
    assert stack.sandbox.requests() == []  # not even a token
    assert idempotency_items(stack) == []
    assert stack.dlq() == []
    rows = stack.rows()
    assert "try-1" not in rows
    row = rows["DRYRUN#try-1"]
    assert (row["Status"], row["WouldBe"], row["Plan"]) == ("DRY_RUN", "SENT", "SEND_NOW")
    assert (row["Encoding"], row["Segments"], row["MediaSizes"]) == ("UCS-2", 1, [2048])
    assert row["ExpiresAt"] - int(datetime.now(UTC).timestamp()) in range(86_300, 86_401)

    # The real request afterwards is sent once.
    stack.send(sms("try-1", Body="Gate B12 \u2013 boarding now", **media))
    stack.drain()
    assert len(stack.outbound()) == 1
    assert stack.rows()["try-1"]["Status"] == "SENT"


def test_a_dry_run_that_would_fail_says_why_in_its_row_only(stack: Stack) -> None:
    media = {"MmsS3": [{"Bucket": stack.world.media_bucket, "Key": "mms/missing.png"}]}
    stack.send(sms("try-2", DryRun=True, **media))
    stack.drain()
    row = stack.rows()["DRYRUN#try-2"]
    assert (row["WouldBe"], row["ErrorCode"]) == ("REJECTED", "MEDIA_NOT_FOUND")
    assert "try-2" not in stack.rows()
    assert stack.dlq() == []
    assert stack.sandbox.requests() == []


def test_segments_are_recorded_and_too_many_are_rejected(stack: Stack) -> None:
    stack.configure(MAX_SEGMENTS="3")
    stack.send(sms("long-1", Body="a" * 459), sms("longer-1", Body="a" * 460))
    stack.drain()
    rows = stack.rows()
    assert (rows["long-1"]["Status"], rows["long-1"]["Segments"], rows["long-1"]["Encoding"]) == ("SENT", 3, "GSM-7")
    assert (rows["longer-1"]["Status"], rows["longer-1"]["ErrorCode"]) == ("REJECTED", "TOO_MANY_SEGMENTS")
    assert rows["longer-1"]["Segments"] == 4
    (copy,) = stack.dlq()
    assert copy["message_attributes"]["ErrorCode"] == "TOO_MANY_SEGMENTS"
    assert len(stack.outbound()) == 1
