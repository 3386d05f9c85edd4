"""The SQS record as the send path reads it: its key and when the request first reached the queue."""

from datetime import UTC, datetime

import pytest

from sender.source_message import SourceMessage
from tests.unit.fakes import sqs_record


def source(**attributes: str) -> SourceMessage:
    record = sqs_record({}, "m-this")
    record["messageAttributes"] = {
        name: {"stringValue": value, "dataType": "String"} for name, value in attributes.items()
    }
    return SourceMessage.from_record(record)


def test_a_first_copy_was_first_enqueued_when_sqs_received_it() -> None:
    assert source().first_enqueued_at == datetime.fromtimestamp(1_800_000_000, tz=UTC)  # SentTimestamp
    assert source().default_key == "m-this"


@pytest.mark.parametrize(
    "value", ["2027-01-01T00:00:00.000Z", "2027-01-01T00:00:00+00:00", "2027-01-01T00:00:00", "1798761600000"]
)
def test_a_requeued_copy_keeps_the_first_time_in_any_usual_spelling(value: str) -> None:
    assert source(FirstEnqueuedAt=value).first_enqueued_at == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "yesterday", "99999999999999999999999", "2027-13-45T00:00:00Z"])
def test_an_unreadable_first_time_falls_back_to_this_copys_sent_time(value: str) -> None:
    assert source(FirstEnqueuedAt=value).first_enqueued_at == datetime.fromtimestamp(1_800_000_000, tz=UTC)


def test_without_any_time_there_is_no_age() -> None:
    record = sqs_record({}, "m")
    del record["attributes"]["SentTimestamp"]
    assert SourceMessage.from_record(record).first_enqueued_at is None
