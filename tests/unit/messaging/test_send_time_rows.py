"""What the send-time options add to rows, settings and status events (DESIGN.md sections 3, 5, 8, 9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from messaging.lanes import Lane
from messaging.lifecycle import RANK_SCHEDULED, RANK_SEND_OUTCOME, Status, may_replace
from messaging.rows import DryRunRow, ResultRow
from messaging.settings import ConfigurationError, Settings
from messaging.status_events import status_event_detail

NOW = datetime(2030, 1, 31, 9, 30, tzinfo=UTC)
LATER = datetime(2030, 2, 1, 9, 30, tzinfo=UTC)
REQUIRED_ENV = {
    "TELEGENT_SECRET_ID": "s",
    "MESSAGES_TABLE": "m",
    "IDEMPOTENCY_TABLE": "i",
    "DLQ_URL": "https://sqs/dlq",
}


def test_a_row_carries_encoding_segments_send_at_valid_until_and_priority_through_a_replay() -> None:
    row = ResultRow(
        "k",
        Status.SCHEDULED,
        RANK_SCHEDULED,
        NOW,
        "m1",
        1,
        encoding="UCS-2",
        segments=3,
        send_at=LATER,
        valid_until=LATER,
        priority="high",
    )
    attributes = row.attributes(ttl_days=90)
    assert (attributes["Encoding"], attributes["Segments"], attributes["Priority"]) == ("UCS-2", 3, "high")
    assert attributes["SendAt"] == attributes["ValidUntil"] == "2030-02-01T09:30:00.000Z"
    assert ResultRow.from_record(json.loads(json.dumps(row.to_record()))) == row


def test_an_outcome_stored_before_these_fields_existed_still_replays() -> None:
    old = ResultRow("k", Status.SENT, RANK_SEND_OUTCOME, NOW, "m1", 1).to_record()
    for name in ("encoding", "segments", "send_at", "valid_until", "priority"):
        del old[name]
    assert ResultRow.from_record(old).segments is None


def test_a_scheduled_row_is_replaced_by_the_later_send_and_never_hides_one() -> None:
    scheduled_at, sent_at = "2030-01-31T09:30:00.000Z", "2030-01-31T09:50:00.000Z"
    assert may_replace(RANK_SCHEDULED, scheduled_at, RANK_SEND_OUTCOME, sent_at)
    assert not may_replace(RANK_SEND_OUTCOME, sent_at, RANK_SCHEDULED, "2030-01-31T10:00:00.000Z")


def test_a_dry_run_row_lives_under_its_own_key_for_a_day() -> None:
    row = DryRunRow(
        key="order-1",
        updated_at=NOW,
        source_message_id="m1",
        would="SENT",
        plan="SEND_NOW",
        to=("+18015737111",),
        encoding="GSM-7",
        segments=1,
        media_sizes=(100, 20),
    )
    attributes = row.attributes()
    assert row.request_id == "DRYRUN#order-1"
    assert attributes["Status"] == "DRY_RUN"
    assert attributes["ExpiresAt"] == int(NOW.timestamp()) + 86_400
    assert (attributes["MediaSizes"], attributes["MediaBytes"]) == ([100, 20], 120)
    assert "ErrorCode" not in attributes
    assert "StatusRank" not in attributes  # outside the lifecycle ladder


def test_a_dry_run_row_publishes_no_status_event() -> None:
    new = {"RequestId": "DRYRUN#order-1", "Status": "DRY_RUN", "Segments": 1}
    assert status_event_detail(None, new) is None
    assert status_event_detail(None, {"RequestId": "order-1", "Status": "SCHEDULED"}) is not None


def test_send_time_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED_ENV,
            "SCHEDULE_GROUP_NAME": "group",
            "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
            "QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:requests",
            "MAX_SEGMENTS": "4",
            "SMART_ENCODING": "true",
            "DEFAULT_VALIDITY_SECONDS": "3600",
            "SENDAT_DELAY_MAX_SECONDS": "5",
        }
    )
    assert settings.schedule_group_name == "group"
    assert settings.queue_arn == "arn:aws:sqs:us-east-1:123456789012:requests"
    assert settings.limits.max_segments == 4
    assert settings.limits.smart_encoding is True
    assert settings.default_validity_seconds(Lane.NORMAL) == 3600
    assert settings.default_validity_seconds(Lane.PRIORITY) == 600
    assert settings.sendat_delay_max_seconds == 5


def test_send_time_settings_default_to_the_design() -> None:
    settings = Settings.from_env(REQUIRED_ENV)
    assert settings.limits.max_segments == 10
    assert settings.limits.smart_encoding is False
    assert settings.default_validity_seconds(Lane.NORMAL) is None
    assert settings.sendat_delay_max_seconds == 900
    assert settings.schedule_group_name is None
    # SQS cannot delay longer than 15 minutes: a larger value is cut to it.
    assert Settings.from_env({**REQUIRED_ENV, "SENDAT_DELAY_MAX_SECONDS": "3600"}).sendat_delay_max_seconds == 900


def test_a_malformed_smart_encoding_flag_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SMART_ENCODING must be true or false"):
        Settings.from_env({**REQUIRED_ENV, "SMART_ENCODING": "maybe"})
