"""Result rows: their attributes, and the JSON form a replay rebuilds them from."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from messaging.lifecycle import RANK_INPUT_REJECTED, RANK_SEND_OUTCOME, Status, may_replace
from messaging.rows import ERROR_MESSAGE_MAX, ResultRow, created_day, storable_number

SENT = ResultRow(
    "key-1", Status.SENT, RANK_SEND_OUTCOME, datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=UTC), "m1", 2,
    to=("+18015737111",), sender="+18018018011", campaign_id="C-1", message_type="sms", message_id="TMID-1",
    vendor_status="Queued", cost=Decimal("0.0045"),
)  # fmt: skip


def test_the_stored_json_form_rebuilds_the_same_row() -> None:
    assert ResultRow.from_record(json.loads(json.dumps(SENT.to_record()))) == SENT


def test_attributes_leave_out_empty_values_and_name_the_state() -> None:
    attributes = SENT.attributes(ttl_days=90)
    assert attributes["Status"] == "SENT"
    assert attributes["StatusRank"] == RANK_SEND_OUTCOME
    assert attributes["UpdatedAt"] == attributes["CreatedAt"] == "2026-12-01T12:00:00.123Z"
    assert attributes["To"] == "+18015737111"
    assert attributes["Cost"] == Decimal("0.0045")
    assert attributes["ExpiresAt"] == int(datetime(2027, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp())
    assert "ErrorCode" not in attributes
    assert SENT.attribute_values(90)["ErrorCode"] is None  # named, so a store can remove it
    assert attributes["CreatedDay"] == "2026-12-01"


def test_created_day_is_the_utc_day_of_created_at() -> None:
    late_in_denver = datetime(2026, 12, 1, 23, 30, tzinfo=timezone(timedelta(hours=-7)))
    assert created_day(late_in_denver) == "2026-12-02"
    row = ResultRow("k", Status.SENT, RANK_SEND_OUTCOME, late_in_denver, "m1", 1)
    attributes = row.attributes(ttl_days=90)
    assert attributes["CreatedAt"] == "2026-12-02T06:30:00.000Z"
    assert attributes["CreatedDay"] == "2026-12-02"


def test_the_lifecycle_rule() -> None:
    earlier, later = "2026-12-01T12:00:00.000Z", "2026-12-01T12:00:01.000Z"
    assert may_replace(RANK_INPUT_REJECTED, later, RANK_SEND_OUTCOME, earlier)  # a higher rank always wins
    assert not may_replace(RANK_SEND_OUTCOME, earlier, RANK_INPUT_REJECTED, later)  # never a lower one
    assert may_replace(RANK_SEND_OUTCOME, earlier, RANK_SEND_OUTCOME, later)  # same rank: the newer decision
    assert not may_replace(RANK_SEND_OUTCOME, later, RANK_SEND_OUTCOME, later)  # ... and a replay changes nothing


# ---------------------------------------------------------------- bounded rows (issue 8, defects 2 and 5)


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "1e126",
        "1e-131",
        "1e-400",
        "9." + "9" * 40 + "e125",
    ],
)
def test_numbers_dynamodb_cannot_hold_are_dropped(text: str) -> None:
    assert storable_number(Decimal(text)) is None


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0.0045", Decimal("0.0045")),
        ("-0.5", Decimal("-0.5")),
        ("0E-1000", Decimal(0)),
        ("1e-130", Decimal("1e-130")),
        ("9.99e125", Decimal("9.99e125")),
        ("0." + "1" * 50, Decimal("0." + "1" * 38)),  # rounded to 38 significant digits
    ],
)
def test_storable_numbers_are_kept_within_38_digits(text: str, stored: Decimal) -> None:
    assert storable_number(Decimal(text)) == stored


def test_numbers_kept_serialise_with_the_dynamodb_context() -> None:
    """Whatever storable_number keeps, boto3's serialiser (DynamoDB's own limits) accepts as is."""
    import random

    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    rng = random.Random(8)
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 60)))
        value = Decimal(f"{rng.choice('-+')}{digits[0]}.{digits[1:] or '0'}E{rng.randint(-200, 200)}")
        kept = storable_number(value)
        if kept is not None:
            serializer.serialize(kept)


def test_a_row_never_carries_an_unstorable_cost_nor_an_unbounded_text() -> None:
    row = ResultRow(
        "k", Status.REJECTED, RANK_SEND_OUTCOME, datetime(2026, 12, 1, tzinfo=UTC), "m1", 1,
        cost=Decimal("NaN"), error_code="E" * 5000, error_message="x" * 500_000, vendor_status="v" * 5000,
        message_id="T" * 5000,
    )  # fmt: skip
    assert row.cost is None
    assert len(row.error_message or "") == ERROR_MESSAGE_MAX
    assert (row.error_message or "").endswith("…")
    assert len(row.error_code or "") <= 256
    assert len(row.vendor_status or "") <= 256
    assert row.message_id is None  # an id cut short would name another message
    assert len(json.dumps(row.to_record())) < 4000  # the stored outcome is bounded too
    assert ResultRow.from_record(json.loads(json.dumps(row.to_record()))) == row
