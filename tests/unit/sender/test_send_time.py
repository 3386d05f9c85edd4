"""Send-time options in the send path (DESIGN.md section 9) with in-memory collaborators: SendAt (send now,
delayed requeue, one-time schedule, too far), validity (before the vendor call, after the rate-limit slot,
across requeues and schedules), dry runs, segments and smart encoding."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from messaging.errors import TransientError, TransientKind
from messaging.lanes import Lane
from messaging.optouts import OptOutCheck
from messaging.ports import S3Object
from messaging.send_options import format_instant, schedule_name
from sender.pipeline import begin_invocation, handle_record
from tests.unit.fakes import MEDIA_BUCKET, World, make_world, sqs_record

START = datetime.fromtimestamp(1_800_000_000, tz=UTC)  # the SentTimestamp of sqs_record's copies
PRIORITY_ARN = "arn:aws:sqs:us-east-1:000000000000:telegent-sms-priority"
SMS = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Your order has shipped"}
PLENTY_OF_TIME = lambda: 60_000  # noqa: E731


class Clock:
    """Set by the test; each read moves on a millisecond, so every write is newer than the last."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def world() -> World:
    w = make_world()
    w.deps.clock = Clock(START)
    return w


def clock(world: World) -> Clock:
    assert isinstance(world.deps.clock, Clock)
    return world.deps.clock


def at(**delta: float) -> str:
    return format_instant(START + timedelta(**delta))


def record(body: Any, message_id: str = "m-1", receive_count: int = 1, **attributes: str) -> dict[str, Any]:
    event = sqs_record(body, message_id, receive_count)
    event["messageAttributes"] = {name: {"stringValue": v, "dataType": "String"} for name, v in attributes.items()}
    return event


def run(world: World, event: dict[str, Any]) -> None:
    handle_record(event, world.deps, PLENTY_OF_TIME)


def fired(world: World, key: str, message_id: str) -> dict[str, Any]:
    """The copy EventBridge Scheduler puts on the queue: its input as the body, no message attributes."""
    _at, body, _target = world.schedules.created[schedule_name(key)]
    return record(json.loads(body), message_id)


# ---------------------------------------------------------------- SendAt


@pytest.mark.parametrize("send_at", [at(hours=-1), at(), at(seconds=1)])
def test_a_send_at_now_or_past_is_sent_at_once_and_never_reaches_the_vendor(world: World, send_at: str) -> None:
    run(world, record({**SMS, "IdempotencyKey": "now", "SendAt": send_at, "Priority": "normal"}))
    assert world.results.rows["now"]["Status"] == "SENT"
    assert world.results.rows["now"]["SendAt"] == send_at.replace("Z", ".000Z")
    assert world.results.rows["now"]["Priority"] == "normal"
    (payload,) = world.vendor.sent
    assert set(payload) == {"To", "From", "Owner", "Body"}  # none of ours is forwarded


def test_a_send_at_within_the_delay_limit_is_requeued_with_that_delay_and_takes_no_record(world: World) -> None:
    event = record({**SMS, "SendAt": at(seconds=120)}, message_id="m-first")
    run(world, event)
    assert world.vendor.sent == []
    ((body, attributes, delay),) = world.queues.requeued
    assert body == event["body"]  # the same body
    assert 119 <= delay <= 120  # a few ms of the clock went by: never early (rounded up)
    assert attributes["OriginalMessageId"]["stringValue"] == "m-first"
    assert attributes["FirstEnqueuedAt"]["stringValue"] == "2027-01-15T08:00:00.000Z"  # START
    row = world.results.rows["m-first"]
    assert (row["Status"], row["StatusRank"], row["SendAt"]) == ("SCHEDULED", 0, at(seconds=120).replace("Z", ".000Z"))
    assert world.once.records == {}  # the later send is the one that counts
    assert world.metrics.counts["SendAtDelayed"] == 1

    # The delayed copy arrives when it is due: sent, and SENT replaces SCHEDULED.
    clock(world).advance(seconds=120)
    copy = record(json.loads(body), "m-copy", **{k: v["stringValue"] for k, v in attributes.items()})
    run(world, copy)
    assert len(world.vendor.sent) == 1
    assert world.results.rows["m-first"]["Status"] == "SENT"
    assert "m-copy" not in world.results.rows  # keyed by the first message id


def test_a_later_send_at_is_scheduled_with_the_key_and_first_enqueued_at_and_takes_no_record(world: World) -> None:
    run(world, record({**SMS, "SendAt": at(minutes=20), "ValiditySeconds": 300}, message_id="m-sched"))
    assert world.vendor.sent == []
    ((name, (when, body, target)),) = world.schedules.created.items()
    assert name == schedule_name("m-sched")
    assert when == START + timedelta(minutes=20)
    assert target is None  # the request queue (QUEUE_ARN)
    assert json.loads(body) == {
        **SMS,
        "SendAt": at(minutes=20),
        "ValiditySeconds": 300,
        "IdempotencyKey": "m-sched",  # the SQS message id: the producer gave no key
        "FirstEnqueuedAt": "2027-01-15T08:00:00Z",
    }
    row = world.results.rows["m-sched"]
    assert (row["Status"], row["Encoding"], row["Segments"]) == ("SCHEDULED", "GSM-7", 1)
    # Validity counts from when it is due (its SendAt), not from when it was queued.
    assert row["ValidUntil"] == format_instant(START + timedelta(minutes=25)).replace("Z", ".000Z")
    assert world.once.records == {}
    assert world.metrics.counts["Scheduled"] == 1


def test_a_redelivery_finds_its_schedule_and_the_fired_copy_plus_a_redelivery_send_once(world: World) -> None:
    original = record({**SMS, "SendAt": at(minutes=20)}, message_id="m-orig")
    run(world, original)
    run(world, record({**SMS, "SendAt": at(minutes=20)}, message_id="m-orig", receive_count=2))
    assert world.schedules.calls == 2
    assert len(world.schedules.created) == 1
    assert world.metrics.counts["Scheduled"] == 1

    clock(world).advance(minutes=20)
    run(world, fired(world, "m-orig", "m-fired"))
    run(world, fired(world, "m-orig", "m-fired"))  # SQS delivers the fired copy twice
    run(world, record({**SMS, "SendAt": at(minutes=20)}, message_id="m-orig", receive_count=3))  # and the original
    assert len(world.vendor.sent) == 1
    assert world.results.rows["m-orig"]["Status"] == "SENT"
    assert world.results.rows["m-orig"]["SourceMessageId"] == "m-fired"
    assert world.metrics.counts["DuplicatesSkipped"] == 2


def test_a_cancelled_schedule_is_never_sent_nor_scheduled_again_by_a_late_copy(world: World) -> None:
    run(world, record({**SMS, "SendAt": at(minutes=20)}, message_id="m-c"))
    input_body = fired(world, "m-c", "m-fired")
    # `telegent-sms schedule cancel`: the schedule is deleted, then the row becomes CANCELLED.
    world.schedules.cancel(schedule_name("m-c"))
    world.results.rows["m-c"].update(Status="CANCELLED", StatusRank=2)
    run(world, record({**SMS, "SendAt": at(minutes=20)}, message_id="m-c", receive_count=2))  # late redelivery
    assert world.schedules.created == {}
    clock(world).advance(minutes=20)
    run(world, input_body)  # a copy fired just before the cancel
    assert world.vendor.sent == []
    assert world.results.rows["m-c"]["Status"] == "CANCELLED"


def test_a_plain_send_reads_no_row(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "plain-1"}))
    assert world.results.status_reads == 0
    assert len(world.vendor.sent) == 1


def test_a_copy_fired_a_few_seconds_early_waits_those_seconds_on_the_queue(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "early", "SendAt": at(minutes=20)}))
    clock(world).advance(minutes=20, seconds=-4)
    run(world, fired(world, "early", "m-fired"))
    assert world.vendor.sent == []
    ((_body, _attributes, delay),) = world.queues.requeued
    assert 3 <= delay <= 4


def test_the_send_at_delay_limit_is_configurable(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, sendat_delay_max_seconds=10)
    run(world, record({**SMS, "IdempotencyKey": "soon", "SendAt": at(seconds=30)}))
    assert world.queues.requeued == []
    assert schedule_name("soon") in world.schedules.created


def test_a_send_at_more_than_a_year_ahead_is_rejected_as_bad_input(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "far", "SendAt": at(days=366)}))
    row = world.results.rows["far"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "SEND_AT_TOO_FAR")
    assert "more than 365 days ahead" in row["ErrorMessage"]
    assert (row["Encoding"], row["Segments"]) == ("GSM-7", 1)
    ((_body, reasons),) = world.dlq.messages
    assert reasons["ErrorCode"] == "SEND_AT_TOO_FAR"
    assert world.schedules.created == {}


@pytest.mark.parametrize(
    ("send_at", "reason"),
    [
        ("2027-01-15T09:00:00", "SendAt has no UTC offset"),
        ("next tuesday", "SendAt must be an ISO 8601 date-time with a UTC offset"),
        (1800000000, "SendAt must be an ISO 8601 date-time string"),
    ],
)
def test_a_malformed_send_at_is_rejected_with_the_reason(world: World, send_at: object, reason: str) -> None:
    run(world, record({**SMS, "IdempotencyKey": "bad-at", "SendAt": send_at}))
    row = world.results.rows["bad-at"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "VALIDATION_ERROR")
    assert reason in row["ErrorMessage"]
    assert world.dlq.messages[0][1]["ErrorCode"] == "VALIDATION_ERROR"


def test_a_send_at_beyond_the_delay_without_scheduling_configured_is_retried(world: World) -> None:
    world.deps.schedules = None
    with pytest.raises(TransientError) as raised:
        run(world, record({**SMS, "SendAt": at(hours=2)}))
    assert raised.value.kind == TransientKind.CONFIG
    assert world.vendor.sent == []


def test_a_request_too_large_for_a_schedule_is_rejected_not_lost(world: World) -> None:
    media = base64.b64encode(b"x" * 200_000).decode()
    big = {**SMS, "IdempotencyKey": "big", "SendAt": at(days=1), "MmsBase64": [{"Base64": media, "BaseType": "a/b"}]}
    run(world, record(big))
    assert world.results.rows["big"]["ErrorCode"] == "NOT_SCHEDULABLE"
    assert world.dlq.messages[0][1]["ErrorCode"] == "NOT_SCHEDULABLE"


def test_a_priority_request_is_scheduled_onto_the_priority_queue(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, priority_queue_arn=PRIORITY_ARN)
    event = record({**SMS, "IdempotencyKey": "prio", "SendAt": at(hours=1)})
    event["eventSourceARN"] = PRIORITY_ARN
    run(world, event)
    assert world.schedules.created[schedule_name("prio")][2] == PRIORITY_ARN


# ---------------------------------------------------------------- validity


def test_a_request_past_its_valid_until_expires_without_a_send_or_dlq_copy_and_a_duplicate_sees_it(
    world: World,
) -> None:
    run(world, record({**SMS, "IdempotencyKey": "otp", "ValidUntil": at(seconds=-1)}, message_id="m-1"))
    row = world.results.rows["otp"]
    assert (row["Status"], row["ErrorCode"]) == ("EXPIRED", "VALIDITY_EXPIRED")
    assert (row["Encoding"], row["Segments"]) == ("GSM-7", 1)
    assert world.vendor.sent == []
    assert world.dlq.messages == []
    assert world.metrics.counts["Expired"] == 1
    assert "MessagesRejected" not in world.metrics.counts
    # EXPIRED is the key's outcome: a later duplicate is not sent either.
    run(world, record({**SMS, "IdempotencyKey": "otp", "ValidUntil": at(hours=1)}, message_id="m-2"))
    assert world.vendor.sent == []
    assert world.results.rows["otp"]["Status"] == "EXPIRED"


def test_validity_seconds_count_from_the_first_copy_across_requeues(world: World) -> None:
    first = format_instant(START - timedelta(seconds=100))
    run(world, record({**SMS, "IdempotencyKey": "a", "ValiditySeconds": 60}, "m-a", FirstEnqueuedAt=first))
    run(world, record({**SMS, "IdempotencyKey": "b", "ValiditySeconds": 200}, "m-b", FirstEnqueuedAt=first))
    assert world.results.rows["a"]["Status"] == "EXPIRED"
    assert world.results.rows["b"]["Status"] == "SENT"
    assert world.results.rows["b"]["ValidUntil"] == format_instant(START + timedelta(seconds=100)).replace("Z", ".000Z")


def test_a_scheduled_copy_counts_validity_from_its_send_at_and_first_enqueued_at_from_its_body(world: World) -> None:
    long_ago = format_instant(START - timedelta(days=1))
    body = {**SMS, "IdempotencyKey": "k", "SendAt": at(seconds=-5), "ValiditySeconds": 60, "FirstEnqueuedAt": long_ago}
    run(world, record(body))
    row = world.results.rows["k"]
    assert row["Status"] == "SENT"
    assert row["ValidUntil"] == format_instant(START + timedelta(seconds=55)).replace("Z", ".000Z")


def test_a_first_enqueued_at_in_the_future_cannot_renew_a_validity(world: World) -> None:
    later = format_instant(START + timedelta(days=1))
    first = format_instant(START - timedelta(seconds=100))
    body = {**SMS, "IdempotencyKey": "k", "ValiditySeconds": 60, "FirstEnqueuedAt": later}
    run(world, record(body, FirstEnqueuedAt=first))
    assert world.results.rows["k"]["Status"] == "EXPIRED"


def test_a_valid_until_before_its_send_at_expires_at_once_without_schedule_or_record(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "never", "SendAt": at(hours=2), "ValidUntil": at(hours=1)}))
    row = world.results.rows["never"]
    assert (row["Status"], row["ErrorCode"]) == ("EXPIRED", "VALIDITY_EXPIRED")
    assert world.schedules.created == {}
    assert world.once.records == {}
    assert world.dlq.messages == []
    assert world.metrics.counts["Expired"] == 1


def test_a_validity_that_ends_while_waiting_for_a_rate_limit_slot_sends_nothing(world: World) -> None:
    deadline = START + timedelta(seconds=30)
    world.vendor.slot_time = lambda: deadline.timestamp() + 0.5  # the slot comes half a second too late
    run(world, record({**SMS, "IdempotencyKey": "late-slot", "ValidUntil": format_instant(deadline)}))
    assert world.vendor.not_afters == [deadline.timestamp()]
    assert world.vendor.sent == []
    row = world.results.rows["late-slot"]
    assert (row["Status"], row["ErrorCode"]) == ("EXPIRED", "VALIDITY_EXPIRED")
    assert "rate-limit slot" in row["ErrorMessage"]
    assert world.dlq.messages == []


def test_the_vendor_gets_no_deadline_for_a_request_without_a_validity(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "free"}))
    assert world.vendor.not_afters == [None]


def test_the_stack_default_validity_applies_to_requests_without_one(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, validity_seconds_default=30)
    first = format_instant(START - timedelta(seconds=60))
    run(world, record({**SMS, "IdempotencyKey": "stale"}, "m-1", FirstEnqueuedAt=first))
    run(world, record({**SMS, "IdempotencyKey": "own", "ValiditySeconds": 120}, "m-2", FirstEnqueuedAt=first))
    assert world.results.rows["stale"]["Status"] == "EXPIRED"
    assert world.results.rows["own"]["Status"] == "SENT"


def test_the_priority_lane_default_validity_is_600_seconds(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, priority_queue_arn=PRIORITY_ARN)
    first = format_instant(START - timedelta(seconds=601))
    event = record({**SMS, "IdempotencyKey": "late-otp"}, FirstEnqueuedAt=first)
    event["eventSourceARN"] = PRIORITY_ARN
    run(world, event)
    assert world.results.rows["late-otp"]["Status"] == "EXPIRED"
    normal = record({**SMS, "IdempotencyKey": "late-normal"}, "m-2", FirstEnqueuedAt=first)
    run(world, normal)
    assert world.results.rows["late-normal"]["Status"] == "SENT"


# ---------------------------------------------------------------- dry runs


def test_a_dry_run_writes_only_its_own_row_and_sends_nothing(world: World) -> None:
    body = {**SMS, "IdempotencyKey": "try-1", "DryRun": True, "Body": "Price: 5€ — today only…"}
    run(world, record(body))
    assert world.vendor.sent == []
    assert world.once.records == {}  # no idempotency record: the real request is sent later
    assert world.dlq.messages == []
    assert "try-1" not in world.results.rows
    row = world.results.rows["DRYRUN#try-1"]
    assert (row["Status"], row["WouldBe"], row["Plan"]) == ("DRY_RUN", "SENT", "SEND_NOW")
    assert (row["Encoding"], row["Segments"]) == ("UCS-2", 1)
    assert row["ExpiresAt"] - int(START.timestamp()) in range(86_400, 86_402)
    assert world.metrics.counts["DryRuns"] == 1
    # The real request afterwards is sent.
    run(world, record({**body, "DryRun": False}, "m-2"))
    assert len(world.vendor.sent) == 1
    assert world.results.rows["try-1"]["Status"] == "SENT"


def test_a_dry_run_checks_s3_media_without_reading_it(world: World) -> None:
    world.objects.objects[(MEDIA_BUCKET, "mms/a.png")] = S3Object(b"\x89PNG" + b"x" * 96, "image/png")
    media = {
        "MmsS3": [{"Bucket": MEDIA_BUCKET, "Key": "mms/a.png"}],
        "MmsBase64": [{"Base64": "QUJD", "BaseType": "a/b"}],
    }
    run(world, record({**SMS, "IdempotencyKey": "try-mms", "DryRun": True, **media}))
    row = world.results.rows["DRYRUN#try-mms"]
    assert (row["WouldBe"], row["MessageType"], row["MediaSizes"], row["MediaBytes"]) == ("SENT", "mms", [3, 100], 103)
    assert world.objects.heads == [(MEDIA_BUCKET, "mms/a.png")]
    assert world.objects.reads == []


@pytest.mark.parametrize(
    ("change", "would", "code"),
    [
        ({"MmsS3": [{"Bucket": MEDIA_BUCKET, "Key": "mms/missing.png"}]}, "REJECTED", "MEDIA_NOT_FOUND"),
        ({"MmsS3": [{"Bucket": "elsewhere", "Key": "mms/a.png"}]}, "REJECTED", "MEDIA_NOT_ALLOWED"),
        ({"To": [{"Number": "8015737111"}]}, "REJECTED", "VALIDATION_ERROR"),
        ({"Body": "x" * 1531}, "REJECTED", "TOO_MANY_SEGMENTS"),
        ({"ValidUntil": at(seconds=-1)}, "EXPIRED", "VALIDITY_EXPIRED"),
        ({"SendAt": at(days=400)}, "REJECTED", "SEND_AT_TOO_FAR"),
        ({"SendAt": at(days=2), "ValidUntil": at(days=1)}, "EXPIRED", "VALIDITY_EXPIRED"),
    ],
)
def test_a_dry_run_that_would_fail_says_why_without_a_rejected_row_or_dlq_copy(
    world: World, change: dict[str, Any], would: str, code: str
) -> None:
    run(world, record({**SMS, "IdempotencyKey": "try-bad", "DryRun": True, **change}))
    row = world.results.rows["DRYRUN#try-bad"]
    assert (row["Status"], row["WouldBe"], row["ErrorCode"]) == ("DRY_RUN", would, code)
    assert row["ErrorMessage"]
    assert "try-bad" not in world.results.rows
    assert world.dlq.messages == []
    assert world.vendor.sent == []


def test_a_dry_run_of_a_later_send_at_reports_the_schedule_without_creating_it(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "try-later", "DryRun": True, "SendAt": at(days=2)}))
    row = world.results.rows["DRYRUN#try-later"]
    assert (row["WouldBe"], row["Plan"], row["SendAt"]) == ("SCHEDULED", "SCHEDULE", at(days=2).replace("Z", ".000Z"))
    assert world.schedules.calls == 0
    assert world.queues.requeued == []


def test_a_dry_run_checks_the_opt_out_table(world: World) -> None:
    class OptedOut:
        def opted_out(self, numbers: Collection[str]) -> set[str]:
            return set(numbers)

    world.deps.optouts = OptOutCheck(OptedOut())  # type: ignore[arg-type]
    run(world, record({**SMS, "IdempotencyKey": "try-stop", "DryRun": True}))
    row = world.results.rows["DRYRUN#try-stop"]
    assert (row["WouldBe"], row["ErrorCode"]) == ("REJECTED", "OPTED_OUT")


def test_dry_runs_and_later_send_ats_take_no_rate_limit_slot(world: World) -> None:
    class Budget:
        expected: list[int] = []

        def begin(self, expected_requests: int, deadline: float, lane: Lane = Lane.NORMAL) -> None:
            self.expected.append(expected_requests)

        def acquire(self) -> None:
            raise AssertionError("no vendor request here")

        def penalize(self, retry_after: float | None) -> None:
            return None

    budget = Budget()
    world.deps.limiter = budget
    records = [
        record({**SMS, "DryRun": True}, "m-1"),
        record({**SMS, "SendAt": at(minutes=5)}, "m-2"),
        record({"version": "0", "detail-type": "x", "source": "y", "detail": {**SMS, "SendAt": at(days=2)}}, "m-3"),
        record({**SMS, "SendAt": at(seconds=-10)}, "m-4"),
        record({**SMS, "SendAt": "not a time"}, "m-5"),
        record("not json", "m-6"),
        record(SMS, "m-7"),
    ]
    begin_invocation(records, world.deps, 60_000)
    assert budget.expected == [4]  # m-4, m-5 and m-6 (refused later, but not peeked as a non-send), m-7


# ---------------------------------------------------------------- segments and smart encoding


def test_every_sent_row_has_encoding_and_segments_and_the_metric_counts_segments(world: World) -> None:
    run(world, record({**SMS, "IdempotencyKey": "long", "Body": "a" * 161}, "m-1"))
    run(world, record({**SMS, "IdempotencyKey": "emoji", "Body": "hi 👋"}, "m-2"))
    assert (world.results.rows["long"]["Encoding"], world.results.rows["long"]["Segments"]) == ("GSM-7", 2)
    assert (world.results.rows["emoji"]["Encoding"], world.results.rows["emoji"]["Segments"]) == ("UCS-2", 1)
    assert world.metrics.values["Segments"] == [(2, "Count"), (1, "Count")]


def test_more_than_max_segments_is_rejected_with_encoding_and_segments_on_the_row(world: World) -> None:
    world.deps.settings = replace(world.deps.settings, limits=replace(world.deps.settings.limits, max_segments=2))
    run(world, record({**SMS, "IdempotencyKey": "too-long", "Body": "a" * 307}))
    row = world.results.rows["too-long"]
    assert (row["Status"], row["ErrorCode"], row["Encoding"], row["Segments"]) == (
        "REJECTED",
        "TOO_MANY_SEGMENTS",
        "GSM-7",
        3,
    )
    assert "at most 2 (MAX_SEGMENTS)" in row["ErrorMessage"]
    assert world.dlq.messages[0][1]["ErrorCode"] == "TOO_MANY_SEGMENTS"
    assert world.vendor.sent == []


def test_smart_encoding_sends_the_replaced_body_and_records_what_was_sent(world: World) -> None:
    typographic = "Don\u2019t miss it \u2014 \u201ctoday\u201d only\u2026"
    world.deps.settings = replace(world.deps.settings, limits=replace(world.deps.settings.limits, smart_encoding=True))
    run(world, record({**SMS, "IdempotencyKey": "smart", "Body": typographic}))
    assert world.vendor.sent[0]["Body"] == 'Don\'t miss it - "today" only...'
    row = world.results.rows["smart"]
    assert (row["Encoding"], row["Segments"]) == ("GSM-7", 1)


def test_without_smart_encoding_the_body_goes_out_as_written(world: World) -> None:
    typographic = "Don\u2019t miss it \u2014 \u201ctoday\u201d only\u2026"
    run(world, record({**SMS, "IdempotencyKey": "plain", "Body": typographic}))
    assert world.vendor.sent[0]["Body"] == typographic
    assert world.results.rows["plain"]["Encoding"] == "UCS-2"
