"""Result rows: their attributes, and the JSON form a replay rebuilds them from."""

import json
from datetime import UTC, datetime
from decimal import Decimal

from messaging.lifecycle import RANK_INPUT_REJECTED, RANK_SEND_OUTCOME, Status, may_replace
from messaging.rows import ResultRow

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


def test_the_lifecycle_rule() -> None:
    earlier, later = "2026-12-01T12:00:00.000Z", "2026-12-01T12:00:01.000Z"
    assert may_replace(RANK_INPUT_REJECTED, later, RANK_SEND_OUTCOME, earlier)  # a higher rank always wins
    assert not may_replace(RANK_SEND_OUTCOME, earlier, RANK_INPUT_REJECTED, later)  # never a lower one
    assert may_replace(RANK_SEND_OUTCOME, earlier, RANK_SEND_OUTCOME, later)  # same rank: the newer decision
    assert not may_replace(RANK_SEND_OUTCOME, later, RANK_SEND_OUTCOME, later)  # ... and a replay changes nothing
