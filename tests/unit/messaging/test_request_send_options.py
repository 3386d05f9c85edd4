"""The send-time fields of a request (DESIGN.md sections 2 and 9): strict, never forwarded to Telegent,
left out of the idempotency fingerprint; and the Body's segments, MAX_SEGMENTS and smart encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from messaging.errors import PermanentError, RejectCode
from messaging.request import TOP_LEVEL_FIELDS, parse_send_request, peek_dry_run
from messaging.settings import Limits

LIMITS = Limits(media_bucket="media-bucket", media_prefix="mms/")
VALID = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Your order has shipped"}
OPTIONS = {
    "SendAt": "2030-01-31T10:30:00+01:00",
    "ValiditySeconds": 600,
    "Priority": "high",
    "DryRun": True,
    "FirstEnqueuedAt": "2030-01-30T00:00:00.250Z",
}


def rejection(data: Any, limits: Limits = LIMITS) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        parse_send_request(data, limits)
    return caught.value


def test_every_send_time_field_is_read_and_none_reaches_the_vendor_or_the_fingerprint() -> None:
    request = parse_send_request({**VALID, **OPTIONS}, LIMITS)
    assert request.send_at == datetime(2030, 1, 31, 9, 30, tzinfo=UTC)
    assert request.validity_seconds == 600
    assert request.priority == "high"
    assert request.dry_run is True
    assert request.first_enqueued_at == datetime(2030, 1, 30, 0, 0, 0, 250_000, tzinfo=UTC)
    plain = parse_send_request(VALID, LIMITS)
    assert request.vendor_payload() == plain.vendor_payload()
    # A schedule's copy (with FirstEnqueuedAt) and a redelivery of the original are the same request.
    assert request.fingerprint() == plain.fingerprint()
    assert set(OPTIONS) <= TOP_LEVEL_FIELDS


def test_valid_until_is_read_with_its_offset() -> None:
    request = parse_send_request({**VALID, "ValidUntil": "2030-01-31T09:30:00-05:00"}, LIMITS)
    assert request.valid_until == datetime(2030, 1, 31, 14, 30, tzinfo=UTC)


def test_without_options_nothing_changes() -> None:
    request = parse_send_request(VALID, LIMITS)
    assert (request.send_at, request.valid_until, request.validity_seconds, request.priority) == (None,) * 4
    assert request.dry_run is False
    assert request.first_enqueued_at is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SendAt": "2030-01-31T09:30:00"}, "SendAt has no UTC offset"),
        ({"ValidUntil": "2030-01-31 09:30"}, "ValidUntil has no UTC offset"),
        ({"FirstEnqueuedAt": "2030-01-31T09:30:00.5"}, "FirstEnqueuedAt has no UTC offset"),
        ({"SendAt": "tomorrow"}, "SendAt must be an ISO 8601 date-time with a UTC offset"),
        ({"SendAt": "2030-02-30T09:30:00Z"}, "SendAt must be an ISO 8601 date-time with a UTC offset"),
        ({"SendAt": 1893456000}, "SendAt must be an ISO 8601 date-time string like 2030-01-31T09:30:00Z (got a"),
        ({"ValidUntil": "2030-01-31T09:30:00Z", "ValiditySeconds": 60}, "give ValidUntil or ValiditySeconds, not both"),
        ({"ValiditySeconds": 0}, "ValiditySeconds must be a positive whole number of seconds (got a number)"),
        ({"ValiditySeconds": -5}, "ValiditySeconds must be a positive whole number"),
        ({"ValiditySeconds": 1.5}, "ValiditySeconds must be a positive whole number"),
        ({"ValiditySeconds": "600"}, "ValiditySeconds must be a positive whole number of seconds (got a string)"),
        ({"ValiditySeconds": True}, "ValiditySeconds must be a positive whole number of seconds (got a boolean)"),
        ({"ValiditySeconds": 10**30}, "ValiditySeconds must be at most 31536000"),
        ({"Priority": "HIGH"}, 'Priority must be "high" or "normal"'),
        ({"Priority": 1}, 'Priority must be "high" or "normal" (got a number)'),
        ({"DryRun": "true"}, "DryRun must be true or false (got a string)"),
        ({"DryRun": 1}, "DryRun must be true or false (got a number)"),
    ],
)
def test_each_bad_send_time_field_is_named(change: dict[str, Any], expected: str) -> None:
    error = rejection({**VALID, **change})
    assert error.code == RejectCode.VALIDATION_ERROR
    assert expected in error.message


def test_an_integral_float_validity_is_accepted() -> None:
    assert parse_send_request({**VALID, "ValiditySeconds": 300.0}, LIMITS).validity_seconds == 300


def test_send_time_reasons_never_echo_the_value() -> None:
    error = rejection({**VALID, "SendAt": "secret-123456", "ValidUntil": "2030-01-31T09:30:00 +18015737111"})
    assert "secret" not in error.message
    assert "18015737111" not in error.message


def test_peek_dry_run_is_true_only_for_a_boolean_true_and_never_raises() -> None:
    class Hostile(dict):  # type: ignore[type-arg]
        def get(self, *args: object, **kwargs: object) -> object:
            raise RuntimeError("boom")

    assert peek_dry_run({"DryRun": True})
    assert not peek_dry_run({"DryRun": "true"})
    assert not peek_dry_run({"DryRun": 1})
    assert not peek_dry_run(["DryRun"])
    assert not peek_dry_run(Hostile())


# ---------------------------------------------------------------- segments


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 1530, "GSM-7", 10),
        ("€" * 80, "GSM-7", 1),  # extension characters count two septets
        ("é" * 70, "GSM-7", 1),  # in the basic table
        ("ж" * 70, "UCS-2", 1),
        ("ж" * 71, "UCS-2", 2),
        ("👋" * 35, "UCS-2", 1),  # an emoji counts two UTF-16 units
    ],
)
def test_the_request_knows_its_encoding_and_segments(body: str, encoding: str, segments: int) -> None:
    cost = parse_send_request({**VALID, "Body": body}, LIMITS).segments
    assert (cost.encoding, cost.segments) == (encoding, segments)


def test_more_than_max_segments_is_refused_with_its_own_code() -> None:
    assert parse_send_request({**VALID, "Body": "a" * 1530}, LIMITS).segments.segments == 10
    error = rejection({**VALID, "Body": "a" * 1531})
    assert error.code == RejectCode.TOO_MANY_SEGMENTS
    assert error.message == "Body is 11 segments (GSM-7, 1531 septets); at most 10 (MAX_SEGMENTS)"
    short = Limits(media_bucket="media-bucket", media_prefix="mms/", max_segments=1)
    assert rejection({**VALID, "Body": "ж" * 71}, short).message.startswith("Body is 2 segments (UCS-2, 71 UTF-16")


def test_smart_encoding_replaces_typographic_characters_only_when_the_body_then_fits_gsm7() -> None:
    smart = Limits(media_bucket="media-bucket", media_prefix="mms/", smart_encoding=True)
    typographic = "Don\u2019t miss \u201cthis\u201d \u2014 now\u2026"
    request = parse_send_request({**VALID, "Body": typographic}, smart)
    assert request.vendor_payload()["Body"] == 'Don\'t miss "this" - now...'
    assert request.body == typographic  # the producer's text, for the fingerprint
    assert (request.segments.encoding, request.segments.segments) == ("GSM-7", 1)
    with_emoji = parse_send_request({**VALID, "Body": typographic + " 👋"}, smart)
    assert with_emoji.vendor_payload()["Body"] == typographic + " 👋"  # still UCS-2: left as written
    assert with_emoji.segments.encoding == "UCS-2"
    off = parse_send_request({**VALID, "Body": typographic}, LIMITS)
    assert off.vendor_payload()["Body"] == typographic


def test_smart_encoding_counts_segments_of_the_body_as_sent() -> None:
    # 80 curly quotes: 80 UCS-2 units (2 segments) as written, 80 septets (1 segment) once replaced.
    body = "\u2019" * 80
    smart = Limits(media_bucket="media-bucket", media_prefix="mms/", smart_encoding=True, max_segments=1)
    assert parse_send_request({**VALID, "Body": body}, smart).segments.segments == 1
    assert rejection({**VALID, "Body": body}, Limits(max_segments=1)).code == RejectCode.TOO_MANY_SEGMENTS
