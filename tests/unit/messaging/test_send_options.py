"""SendAt plans, validity deadlines, schedule names and expressions (DESIGN.md section 9)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from messaging.send_options import (
    SendAction,
    SendPlan,
    at_expression,
    check_validity_fields,
    first_enqueued_at_from_sqs,
    format_instant,
    is_expired,
    parse_instant,
    parse_validity_seconds,
    plan_send_at,
    schedule_name,
    validity_deadline,
)

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)
SCHEDULER_NAME = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
AT_EXPRESSION = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")

# ---- parse_instant -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-14T12:00:00Z", NOW),
        ("2025-03-14T12:00:00z", NOW),
        ("2025-03-14T14:00:00+02:00", NOW),
        ("2025-03-14T07:00:00-05:00", NOW),
        ("2025-03-14T17:30:00+05:30", NOW),
        ("2025-03-14T14:00:00+0200", NOW),
        ("2025-03-14T14:00:00+02", NOW),
        ("2025-03-14T12:00:00+00:00", NOW),
        ("2025-03-14T12:00:00-00:00", NOW),
        ("2025-03-14 12:00:00Z", NOW),
        ("2025-03-14T12:00Z", NOW),
        ("  2025-03-14T12:00:00Z\n", NOW),
        ("2025-03-14T12:00:00.5Z", NOW + timedelta(milliseconds=500)),
        ("2025-03-14T12:00:00.123Z", NOW + timedelta(milliseconds=123)),
        ("2025-03-14T12:00:00,123456Z", NOW + timedelta(microseconds=123456)),
        ("2025-03-14T12:00:00.1234569Z", NOW + timedelta(microseconds=123456)),  # truncated beyond micro
        ("2025-03-15T01:00:00+13:00", NOW),
        ("2025-03-14T00:30:00+00:30", datetime(2025, 3, 14, 0, 0, tzinfo=UTC)),
        ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("2025-01-01T00:30:00+01:00", datetime(2024, 12, 31, 23, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant_accepts_offsets_and_returns_utc(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC
    assert parsed.utcoffset() == timedelta(0)


def test_parse_instant_converts_the_wall_clock() -> None:
    parsed = parse_instant("2025-03-14T14:00:00+02:00")
    assert (parsed.hour, parsed.minute) == (12, 0)


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-14T12:00:00",
        "2025-03-14T12:00",
        "2025-03-14 12:00:00.250",
    ],
)
def test_parse_instant_rejects_naive_times_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"SendAt .* has no UTC offset: add Z or \+hh:mm"):
        parse_instant(text, field="SendAt")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "2025-03-14",  # a date alone is not a moment
        "12:00:00Z",
        "2025-03-14T12Z",
        "2025-3-14T12:00:00Z",
        "20250314T120000Z",  # basic format: not accepted
        "2025-W11-5T12:00:00Z",  # week date
        "2025-03-14T12:00:00 Z",
        "2025-03-14T12:00:00+2:00",
        "2025-03-14T12:00:00+02:00:00",
        "2025-03-14T12:00:00Z+02:00",
        "2025-03-14T12:00:00.Z",
        "2025-03-14T12:00:00UTC",
        "2025-03-14T12:00:00+02:00[Europe/Paris]",
        "\u0662\u0660\u0662\u0665-03-14T12:00:00Z",  # Arabic-Indic digits, which int() would accept
        "2025-02-29T12:00:00Z",  # not a leap year
        "2025-13-01T12:00:00Z",
        "2025-03-32T12:00:00Z",
        "2025-03-14T24:00:00Z",
        "2025-03-14T12:60:00Z",
        "2025-03-14T23:59:60Z",  # leap second: datetime cannot hold it
        "2025-03-14T12:00:00+24:00",
        "2025-03-14T12:00:00+02:60",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    ],
)
def test_parse_instant_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="ValidUntil"):
        parse_instant(text, field="ValidUntil")


@pytest.mark.parametrize("value", [None, 1741953600, 1741953600.0, True, ["2025-03-14T12:00:00Z"], b"2025"])
def test_parse_instant_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match="must be an ISO 8601 string"):
        parse_instant(value)


@pytest.mark.parametrize(
    "moment",
    [
        NOW,
        NOW + timedelta(milliseconds=7),
        datetime(2025, 3, 14, 14, 0, 0, 250000, tzinfo=timezone(timedelta(hours=2))),
        datetime(33, 1, 2, 3, 4, 5, tzinfo=UTC),
    ],
)
def test_format_instant_round_trips(moment: datetime) -> None:
    text = format_instant(moment)
    assert text.endswith("Z")
    assert parse_instant(text) == moment


def test_format_instant_shapes() -> None:
    assert format_instant(NOW) == "2025-03-14T12:00:00Z"
    assert format_instant(NOW + timedelta(microseconds=123999)) == "2025-03-14T12:00:00.123Z"
    assert format_instant(datetime(33, 1, 2, tzinfo=UTC)) == "0033-01-02T00:00:00Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_instant(datetime(2025, 3, 14))


# ---- plan_send_at --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (-timedelta(days=400), SendPlan.send_now()),
        (-SECOND, SendPlan.send_now()),
        (timedelta(0), SendPlan.send_now()),
        (timedelta(milliseconds=500), SendPlan.send_now()),
        (SECOND, SendPlan.send_now()),
        (SECOND + MICRO, SendPlan.delay(2)),
        (timedelta(seconds=3), SendPlan.delay(3)),
        (timedelta(seconds=3, microseconds=1), SendPlan.delay(4)),
        (timedelta(seconds=59, milliseconds=1), SendPlan.delay(60)),
        (timedelta(minutes=15) - MICRO, SendPlan.delay(900)),
        (timedelta(minutes=15), SendPlan.delay(900)),
        (timedelta(minutes=15) + MICRO, SendPlan.schedule(NOW + timedelta(minutes=15) + MICRO)),
        (timedelta(minutes=15, seconds=1), SendPlan.schedule(NOW + timedelta(minutes=15, seconds=1))),
        (timedelta(days=30), SendPlan.schedule(NOW + timedelta(days=30))),
        (timedelta(days=365), SendPlan.schedule(NOW + timedelta(days=365))),
    ],
    ids=str,
)
def test_plan_send_at(ahead: timedelta, expected: SendPlan) -> None:
    assert plan_send_at(NOW + ahead, NOW) == expected


@pytest.mark.parametrize("ahead", [timedelta(days=365) + MICRO, timedelta(days=366), timedelta(days=3650)])
def test_plan_send_at_rejects_more_than_365_days_ahead(ahead: timedelta) -> None:
    plan = plan_send_at(NOW + ahead, NOW)
    assert plan.action is SendAction.REJECT
    assert plan.reason is not None
    assert "365 days" in plan.reason
    assert (plan.delay_seconds, plan.at) == (None, None)


def test_plan_send_at_without_send_at_sends_now() -> None:
    assert plan_send_at(None, NOW) == SendPlan.send_now()


def test_plan_send_at_compares_instants_not_wall_clocks() -> None:
    # 14:00:03 at +02:00 is 3 s after 12:00:00Z.
    plan = plan_send_at(parse_instant("2025-03-14T14:00:03+02:00"), NOW)
    assert plan == SendPlan.delay(3)
    plan = plan_send_at(parse_instant("2025-03-14T14:30:00+02:00"), NOW)
    assert plan.action is SendAction.SCHEDULE
    assert plan.at == datetime(2025, 3, 14, 12, 30, tzinfo=UTC)
    assert plan.at is not None
    assert plan.at.tzinfo is UTC


def test_plan_fields_follow_the_action() -> None:
    assert SendPlan.delay(5) == SendPlan(SendAction.DELAY, delay_seconds=5)
    assert SendPlan.schedule(NOW).at == NOW
    for bad in (0, 901, -1, True, 1.5):
        with pytest.raises(ValueError, match=r"1\.\.900"):
            SendPlan.delay(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        SendPlan.schedule(datetime(2025, 3, 14))


def test_plan_send_at_refuses_naive_datetimes() -> None:
    naive = datetime(2025, 3, 14, 12, 0)
    with pytest.raises(ValueError, match="now must be a timezone-aware"):
        plan_send_at(NOW, naive)
    with pytest.raises(ValueError, match="send_at must be a timezone-aware"):
        plan_send_at(naive, NOW)


# ---- validity ------------------------------------------------------------------------------------------------


def test_validity_seconds_count_from_first_enqueued_at_across_requeues() -> None:
    first_enqueued = first_enqueued_at_from_sqs("1741953600000")  # 2025-03-14T12:00:00Z
    assert first_enqueued == NOW
    deadline = validity_deadline(None, 300, first_enqueued)
    assert deadline == NOW + timedelta(minutes=5)
    assert not is_expired(deadline, NOW)
    # The requeued copy, received 10 minutes later, carries FirstEnqueuedAt: it has expired.
    carried = parse_instant(format_instant(first_enqueued))
    requeued_deadline = validity_deadline(None, 300, carried)
    assert is_expired(requeued_deadline, NOW + timedelta(minutes=10))
    # Counting from the copy's own SentTimestamp instead would wrongly still allow it.
    copy_sent = NOW + timedelta(minutes=10)
    assert not is_expired(validity_deadline(None, 300, copy_sent), NOW + timedelta(minutes=10))


def test_valid_until_wins_over_validity_seconds_and_the_default() -> None:
    valid_until = parse_instant("2025-03-14T15:00:00+02:00")  # 13:00Z
    assert validity_deadline(valid_until, None, NOW, 60) == NOW + timedelta(hours=1)
    assert validity_deadline(valid_until, 60, NOW, 60) == NOW + timedelta(hours=1)
    deadline = validity_deadline(valid_until, None, NOW)
    assert deadline is not None
    assert deadline.tzinfo is UTC


def test_default_validity_applies_only_without_request_fields() -> None:
    assert validity_deadline(None, None, NOW, 3600) == NOW + timedelta(hours=1)
    assert validity_deadline(None, 60, NOW, 3600) == NOW + timedelta(minutes=1)
    assert validity_deadline(None, None, NOW, None) is None
    assert validity_deadline(None, None, NOW) is None


def test_a_valid_until_in_the_past_is_expired_at_once() -> None:
    deadline = validity_deadline(NOW - SECOND, None, NOW)
    assert is_expired(deadline, NOW)


def test_is_expired_boundaries() -> None:
    assert not is_expired(None, NOW)
    assert not is_expired(NOW, NOW - MICRO)
    assert is_expired(NOW, NOW)  # the deadline itself is already too late
    assert is_expired(NOW, NOW + MICRO)
    # Aware datetimes in other zones compare as instants.
    assert is_expired(NOW, datetime(2025, 3, 14, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_expired(NOW, datetime(2025, 3, 14))


def test_both_validity_fields_are_rejected_by_the_check() -> None:
    with pytest.raises(ValueError, match="ValidUntil or ValiditySeconds, not both"):
        check_validity_fields("2025-03-14T13:00:00Z", 300)
    check_validity_fields("2025-03-14T13:00:00Z", None)
    check_validity_fields(None, 300)
    check_validity_fields(None, None)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (300, 300), (300.0, 300), (86_400 * 365, 31_536_000)])
def test_parse_validity_seconds_accepts_positive_whole_numbers(value: object, expected: int) -> None:
    parsed = parse_validity_seconds(value)
    assert parsed == expected
    assert type(parsed) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "positive"),
        (-5, "positive"),
        (-5.0, "positive"),
        (1.5, "whole number"),
        (float("nan"), "whole number"),
        (float("inf"), "whole number"),
        ("300", "whole number"),
        (True, "whole number"),
        (None, "whole number"),
        ([300], "whole number"),
    ],
)
def test_parse_validity_seconds_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"ValiditySeconds must be .*{message}"):
        parse_validity_seconds(value)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_validity_deadline_rejects_bad_seconds(bad: object) -> None:
    with pytest.raises(ValueError, match="ValiditySeconds"):
        validity_deadline(None, bad, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="default validity seconds"):
        validity_deadline(None, None, NOW, bad)  # type: ignore[arg-type]


def test_validity_deadline_rejects_an_absurd_validity() -> None:
    with pytest.raises(ValueError, match="too large"):
        validity_deadline(None, 10**15, NOW)


def test_validity_deadline_refuses_naive_datetimes() -> None:
    naive = datetime(2025, 3, 14, 12, 0)
    with pytest.raises(ValueError, match="first_enqueued_at"):
        validity_deadline(None, 60, naive)
    with pytest.raises(ValueError, match="valid_until"):
        validity_deadline(naive, None, NOW)


# ---- SQS SentTimestamp ---------------------------------------------------------------------------------------


def test_first_enqueued_at_from_sqs() -> None:
    assert first_enqueued_at_from_sqs("1741953600000") == NOW
    assert first_enqueued_at_from_sqs(1741953600123) == NOW + timedelta(milliseconds=123)
    assert first_enqueued_at_from_sqs("0") == datetime(1970, 1, 1, tzinfo=UTC)
    assert first_enqueued_at_from_sqs("1741953600000").tzinfo is UTC


@pytest.mark.parametrize("bad", ["", "abc", "-1", -1, "1.5e12", " 1741953600000", "\u0661\u0662", True, 1.7e12, None])
def test_first_enqueued_at_from_sqs_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="SentTimestamp"):
        first_enqueued_at_from_sqs(bad)  # type: ignore[arg-type]


def test_first_enqueued_at_from_sqs_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        first_enqueued_at_from_sqs("9" * 20)


# ---- schedule names and expressions --------------------------------------------------------------------------

KEYS = [
    "order-1234-shipped",
    "a",
    "",
    "x" * 64,
    "x" * 256,
    "x" * 255 + "y",
    "Bestellung größe 5 \u2013 été ✓",
    "注文-1234",
    "📦📦📦",
    "with spaces/and:colons@and#hash",
    "a.b_c-d",
    "---",
    "7d4f1c3e-2b7a-4e0f-9c8e-0a1b2c3d4e5f",
    "\ud83d lone surrogate",
]


@pytest.mark.parametrize("key", KEYS)
def test_schedule_name_is_a_valid_scheduler_name(key: str) -> None:
    name = schedule_name(key)
    assert SCHEDULER_NAME.fullmatch(name), name
    assert name.startswith("sms-")
    assert schedule_name(key) == name  # deterministic


def test_schedule_names_are_distinct_for_distinct_keys() -> None:
    names = [schedule_name(key) for key in KEYS]
    assert len(set(names)) == len(KEYS)
    # Keys that only differ after the readable part, or in characters the readable part replaces.
    assert schedule_name("x" * 100 + "1") != schedule_name("x" * 100 + "2")
    assert schedule_name("order/1") != schedule_name("order:1")
    assert schedule_name("été") != schedule_name("ete")
    assert schedule_name("Order-1") != schedule_name("order-1")


def test_schedule_name_shape() -> None:
    name = schedule_name("order-1234-shipped")
    assert re.fullmatch(r"sms-order-1234-shipped-[0-9a-f]{32}", name)
    assert re.fullmatch(r"sms-[0-9a-f]{32}", schedule_name("📦"))
    assert len(schedule_name("x" * 1000)) == 64
    assert schedule_name("x" * 1000).startswith("sms-" + "x" * 27 + "-")
    # A known value pins the algorithm: changing it would orphan schedules made before a deploy.
    digest = hashlib.sha256(b"order-1234-shipped").hexdigest()[:32]
    assert schedule_name("order-1234-shipped") == f"sms-order-1234-shipped-{digest}"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (NOW, "at(2025-03-14T12:00:00)"),
        (NOW + MICRO, "at(2025-03-14T12:00:01)"),
        (NOW + timedelta(milliseconds=999), "at(2025-03-14T12:00:01)"),
        (datetime(2025, 12, 31, 23, 59, 59, 1, tzinfo=UTC), "at(2026-01-01T00:00:00)"),
        (datetime(2025, 3, 14, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))), "at(2025-03-14T12:00:00)"),
        (datetime(2025, 3, 14, 19, 30, tzinfo=timezone(timedelta(hours=-5))), "at(2025-03-15T00:30:00)"),
    ],
)
def test_at_expression_is_utc_and_rounds_seconds_up(moment: datetime, expected: str) -> None:
    expression = at_expression(moment)
    assert expression == expected
    assert AT_EXPRESSION.fullmatch(expression)


def test_at_expression_for_a_plan_never_fires_early() -> None:
    send_at = parse_instant("2025-06-01T09:30:00.250+02:00")
    plan = plan_send_at(send_at, NOW)
    assert plan.at is not None
    assert at_expression(plan.at) == "at(2025-06-01T07:30:01)"


def test_at_expression_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        at_expression(datetime(2025, 3, 14, 12, 0))
