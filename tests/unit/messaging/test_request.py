import base64

import pytest

from messaging.errors import PermanentError, RejectCode
from messaging.request import parse_send_request, peek_idempotency_key
from messaging.settings import Limits

LIMITS = Limits(media_bucket="media-bucket", media_prefix="mms/")
VALID = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Your order has shipped"}


def rejection(data: object, limits: Limits = LIMITS) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        parse_send_request(data, limits)
    return caught.value


def test_minimal_sms_defaults_owner_to_from_and_builds_the_seed_shape() -> None:
    request = parse_send_request(VALID, LIMITS)
    assert request.owner == "+18018018011"
    assert request.message_type == "sms"
    assert request.vendor_payload() == {
        "To": [{"Number": "+18015737111"}],
        "From": "+18018018011",
        "Owner": "+18018018011",
        "Body": "Your order has shipped",
    }


def test_full_mms_request_keeps_every_field() -> None:
    b64 = base64.b64encode(b"\x89PNG....").decode()
    request = parse_send_request(
        {
            **VALID,
            "IdempotencyKey": "order-1",
            "Owner": "+18018018012",
            "CampaignId": "JCID-1",
            "MmsMedia": [{"MediaUrl": "https://example.com/a.png"}],
            "MmsBase64": [{"Base64": b64, "BaseType": "image/png"}],
            "MmsS3": [{"Bucket": "media-bucket", "Key": "mms/a.mp4"}],
        },
        LIMITS,
    )
    assert request.message_type == "mms"
    assert request.idempotency_key == "order-1"
    assert request.inline_media[0].size == 8
    payload = request.vendor_payload([("QUJD", "video/mp4")])
    assert payload["MmsBase64"] == [
        {"Base64": b64, "BaseType": "image/png"},
        {"Base64": "QUJD", "BaseType": "video/mp4"},
    ]
    assert payload["CampaignId"] == "JCID-1"
    assert payload["Owner"] == "+18018018012"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"To": [{"Number": "8015737111"}]}, "To[0].Number must be an E.164"),
        ({"To": []}, "To must not be empty"),
        ({"From": "+1 801 801 8011"}, "From must be an E.164"),
        ({"Owner": "owner"}, "Owner must be an E.164"),
        ({"Body": 42}, "Body must be a string"),
        ({"Body": "   "}, "Body must not be empty"),
        ({"Body": "x" * 1601}, "Body has 1601 characters; at most 1600"),
        ({"CampaignId": ""}, "CampaignId must be 1-128 characters"),
        ({"IdempotencyKey": ""}, "IdempotencyKey must be 1-256 characters"),
        ({"Colour": "red", "Priority": 1}, "unknown field(s): Colour, Priority"),
        ({"To": [{"Number": "+18015737111", "Name": "Ann"}]}, "To[0] has unknown field(s): Name"),
        ({"MmsMedia": [{"MediaUrl": "ftp://x/y"}]}, "MmsMedia[0].MediaUrl must be an absolute http(s) URL"),
        ({"MmsBase64": [{"Base64": "not base64!", "BaseType": "image/png"}]}, "MmsBase64[0].Base64"),
        ({"MmsBase64": [{"Base64": "QUJD", "BaseType": "png"}]}, "MmsBase64[0].BaseType must be a MIME"),
        ({"MmsS3": [{"Bucket": "media-bucket"}]}, "MmsS3[0].Key is required"),
        ({"To": [{"Number": "+18015737111"}, {"Number": "+18015737112"}]}, "at most 1 per message"),
    ],
)
def test_each_invalid_field_is_named(change: dict, expected: str) -> None:
    error = rejection({**VALID, **change})
    assert error.code == RejectCode.VALIDATION_ERROR
    assert expected in error.message


def test_missing_required_fields_are_all_reported_at_once() -> None:
    error = rejection({"CampaignId": "JCID-1"})
    for field in ("To is required", "From is required", "Body is required"):
        assert field in error.message


def test_body_limit_and_recipient_limit_are_configurable() -> None:
    limits = Limits(body_max_chars=10, max_recipients=2)
    assert "at most 10" in rejection({**VALID, "Body": "x" * 11}, limits).message
    two = {**VALID, "Body": "hi", "To": [{"Number": "+18015737111"}, {"Number": "+18015737112"}]}
    assert parse_send_request(two, limits).to == ("+18015737111", "+18015737112")


def test_media_count_limit() -> None:
    media = [{"MediaUrl": f"https://example.com/{i}.png"} for i in range(11)]
    assert "11 media items; at most 10" in rejection({**VALID, "MmsMedia": media}).message


def test_inline_media_over_the_byte_budget_is_too_large() -> None:
    b64 = base64.b64encode(b"x" * 2048).decode()
    error = rejection({**VALID, "MmsBase64": [{"Base64": b64, "BaseType": "image/png"}]}, Limits(max_media_bytes=1024))
    assert error.code == RejectCode.MEDIA_TOO_LARGE


@pytest.mark.parametrize(
    ("bucket", "key"),
    [("other-bucket", "mms/a.png"), ("media-bucket", "private/a.png"), ("media-bucket", "mmsx/a.png")],
)
def test_s3_media_outside_the_allowed_location_is_refused(bucket: str, key: str) -> None:
    error = rejection({**VALID, "MmsS3": [{"Bucket": bucket, "Key": key}]})
    assert error.code == RejectCode.MEDIA_NOT_ALLOWED
    assert "s3://media-bucket/mms/*" in error.message


def test_no_media_bucket_configured_means_no_s3_media_at_all() -> None:
    error = rejection({**VALID, "MmsS3": [{"Bucket": "media-bucket", "Key": "mms/a.png"}]}, Limits())
    assert error.code == RejectCode.MEDIA_NOT_ALLOWED


def test_fingerprint_changes_with_the_payload_but_not_the_key() -> None:
    first = parse_send_request({**VALID, "IdempotencyKey": "k"}, LIMITS).fingerprint()
    same = parse_send_request({**VALID, "IdempotencyKey": "other"}, LIMITS).fingerprint()
    changed = parse_send_request({**VALID, "Body": "different"}, LIMITS).fingerprint()
    assert first == same
    assert first != changed


def test_peek_idempotency_key_only_returns_usable_keys() -> None:
    assert peek_idempotency_key({"IdempotencyKey": "order-1"}) == "order-1"
    assert peek_idempotency_key({"IdempotencyKey": 5}) is None
    assert peek_idempotency_key(["IdempotencyKey"]) is None


def test_body_never_appears_in_the_repr() -> None:
    request = parse_send_request({**VALID, "Body": "secret-body-text"}, LIMITS)
    assert "secret-body-text" not in repr(request)
