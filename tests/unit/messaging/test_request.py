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
    payload = request.vendor_payload([(bytearray(b"QUJD"), "video/mp4")])
    assert payload["MmsBase64"] == [
        {"Base64": b64, "BaseType": "image/png"},
        {"Base64": bytearray(b"QUJD"), "BaseType": "video/mp4"},
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
        ({"Colour": "red", "Urgency": 1}, "unknown field(s): Colour, Urgency"),
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


# ---------------------------------------------------------------- issue 8: strict and total parsing
# Each case below was accepted by the old parser (it reached the vendor) or crashed it with
# something other than PermanentError; `expected` is the field the reason must name.

PNG = base64.b64encode(b"\x89PNG....").decode()
BENGALI = "+1\u09ee\u09e6\u09e7\u09eb\u09ed\u09e9\u09ed\u09e7\u09e7\u09e7"  # +1 then Bengali digits
DEVANAGARI = "+1\u096e\u0966\u0967\u096b\u096d\u0969\u096d\u0967\u0967\u0967"


def with_media(**fields: object) -> dict:
    return {**VALID, **fields}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # Numbers: fullmatch (no trailing newline), ASCII digits only, 7-15 digits.
        ({"To": [{"Number": "+18015737111\n"}]}, "To[0].Number must be an E.164"),
        ({"To": [{"Number": BENGALI}]}, "To[0].Number must be an E.164"),
        ({"To": [{"Number": DEVANAGARI}]}, "To[0].Number must be an E.164"),
        ({"To": [{"Number": "+12"}]}, "To[0].Number must be an E.164"),
        ({"From": "+18018018011\n"}, "From must be an E.164"),
        ({"From": BENGALI}, "From must be an E.164"),
        ({"Owner": "+18018018011\n"}, "Owner must be an E.164"),
        ({"Owner": DEVANAGARI}, "Owner must be an E.164"),
        # To must be a non-empty array: null is not "absent" for a required field.
        ({"To": None}, "To is required"),
        # Base64: strict alphabet and padding, no line breaks, canonical.
        ({"MmsBase64": [{"Base64": "QUJDQUJ\n", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 is not valid base64"),
        ({"MmsBase64": [{"Base64": "QR==", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 is not valid base64"),
        ({"MmsBase64": [{"Base64": "QUI=", "BaseType": "image/png"}]}, None),  # canonical: accepted
        ({"MmsBase64": [{"Base64": "QUJ=", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 is not valid base64"),
        # MIME types: ASCII type/subtype, nothing after it.
        ({"MmsBase64": [{"Base64": PNG, "BaseType": "image/png\n"}]}, "MmsBase64[0].BaseType must be a MIME type"),
        ({"MmsBase64": [{"Base64": PNG, "BaseType": "image/p\u00f1g"}]}, "MmsBase64[0].BaseType must be a MIME type"),
        ({"MmsS3": [{"Bucket": "media-bucket", "Key": "mms/a.mp4", "BaseType": "video/mp4\n"}]}, "MmsS3[0].BaseType"),
        # URLs: parsed, http(s) with a host, no whitespace or control characters anywhere.
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a b.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://exa mple.com/a.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a\x00.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a\t.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a.png\n"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a\x7f.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a\u00a0.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/a\u2028.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com:99999/a.png"}]}, "host or port is malformed"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com:http/a.png"}]}, "host or port is malformed"),
        (
            {"MmsMedia": [{"MediaUrl": "http://:80/a.png"}]},
            "MmsMedia[0].MediaUrl must be an absolute http(s) URL with a host",
        ),
        ({"MmsMedia": [{"MediaUrl": "http://user@/a.png"}]}, "with a host"),
        ({"MmsMedia": [{"MediaUrl": "http://[::1/a.png"}]}, "MmsMedia[0].MediaUrl must be"),
        ({"MmsMedia": [{"MediaUrl": "http://[zz::1]/a.png"}]}, "MmsMedia[0].MediaUrl must be an absolute"),
        ({"MmsMedia": [{"MediaUrl": "http://exa%20mple.com/a.png"}]}, "not a valid host name"),
        ({"MmsMedia": [{"MediaUrl": "https://example.com/" + "a" * 5000}]}, "at most 4096 characters"),
        # Body: valid Unicode text, no control characters but tab, line feed, carriage return.
        ({"Body": "hi \ud800 there"}, "Body contains an unpaired surrogate (U+D800 at index 3)"),
        ({"Body": "\udfff"}, "Body contains an unpaired surrogate"),
        ({"Body": "hello\x00"}, "Body contains a control character (U+0000 at index 5)"),
        ({"Body": "\x1b[31mred"}, "Body contains a control character (U+001B"),
        ({"Body": "hi\x7f"}, "Body contains a control character (U+007F"),
        ({"Body": "hi\x85"}, "Body contains a control character (U+0085"),
        # Keys and campaign ids: printable.
        ({"CampaignId": "JCID\n1"}, "CampaignId must contain only printable characters"),
        ({"CampaignId": "JCID\x00"}, "CampaignId must contain only printable characters"),
        ({"CampaignId": "JCID-\ud83d"}, "CampaignId must contain only printable characters"),
        # S3 references: a real bucket name and a key without control characters.
        ({"MmsS3": [{"Bucket": "media-bucket", "Key": "mms/" + "a" * 1100}]}, "MmsS3[0].Key must be at most 1024"),
    ],
)
def test_strict_field_rules(change: dict, expected: str | None) -> None:
    if expected is None:
        parse_send_request({**VALID, **change}, LIMITS)
        return
    error = rejection({**VALID, **change})
    assert error.code == RejectCode.VALIDATION_ERROR
    assert expected in error.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"MmsBase64": 5}, "MmsBase64 must be an array"),
        ({"MmsBase64": True}, "MmsBase64 must be an array"),
        ({"MmsS3": 7}, "MmsS3 must be an array"),
        ({"To": [{"Number": "+18015737111", 1: 2, "x": 3}]}, "To[0] has unknown field(s): 1, x"),
        ({1: "one", None: "none", ("t",): "tuple"}, "unknown field(s): ('t',), 1, None"),
    ],
)
def test_wrong_types_are_named_and_never_crash(change: dict, expected: str) -> None:
    """The old parser raised TypeError (len() of a number, sorting mixed keys) or ValueError here."""
    error = rejection({**VALID, **change})
    assert error.code == RejectCode.VALIDATION_ERROR
    assert expected in error.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"To": [{"Number": "+1801573711122334"}]}, "To[0].Number must be an E.164"),
        ({"To": "+18015737111"}, "To must be an array"),
        ({"To": [None]}, "To[0] must be an object (got null)"),
        ({"To": [{}]}, "To[0].Number is required"),
        ({"MmsBase64": [{"Base64": "QUJD\nQUJD", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 is not valid base64"),
        ({"MmsBase64": [{"Base64": "QUJD QUJD", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 is not valid base64"),
        ({"MmsBase64": [{"Base64": "QU\u0661D", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 is not valid base64"),
        ({"MmsBase64": [{"Base64": "", "BaseType": "image/png"}]}, "MmsBase64[0].Base64 must not be empty"),
        ({"MmsBase64": [{"Base64": PNG, "BaseType": "image/png; q=1"}]}, "MmsBase64[0].BaseType must be a MIME type"),
        ({"MmsBase64": [{"Base64": PNG}]}, "MmsBase64[0].BaseType is required"),
        ({"MmsMedia": [{"MediaUrl": "javascript://example.com/%0Aalert(1)"}]}, "scheme must be http or https"),
        (
            {"MmsMedia": [{"MediaUrl": 42}]},
            "MmsMedia[0].MediaUrl must be an absolute http(s) URL string (got a number)",
        ),
        ({"Body": ["hi"]}, "Body must be a string (got an array)"),
        ({"Body": None}, "Body is required"),
        ({"Body": "\u2003\u3000"}, "Body must not be empty"),
        ({"IdempotencyKey": "order\n1"}, "IdempotencyKey must contain only printable characters"),
        ({"IdempotencyKey": "order-\ud800"}, "IdempotencyKey must contain only printable characters"),
        ({"IdempotencyKey": "k" * 257}, "IdempotencyKey must be 1-256 characters (got 257)"),
        ({"IdempotencyKey": 7}, "IdempotencyKey must be a string (got a number)"),
        ({"CampaignId": {"id": 1}}, "CampaignId must be a string (got an object)"),
        ({"MmsS3": [{"Bucket": "media-bucket", "Key": "mms/a\n.mp4"}]}, "MmsS3[0].Key must not contain tabs"),
        ({"MmsS3": [{"Bucket": "media-bucket", "Key": "mms/a\x00.mp4"}]}, "MmsS3[0].Key contains a control character"),
        ({"MmsS3": [{"Bucket": "media-bucket", "Key": "mms/\ud800.mp4"}]}, "MmsS3[0].Key contains an unpaired"),
        ({"MmsS3": [{"Bucket": "Media_Bucket", "Key": "mms/a.mp4"}]}, "MmsS3[0].Bucket must be an S3 bucket name"),
        ({"MmsS3": [{"Bucket": "media-bucket", "Key": 5}]}, "MmsS3[0].Key must be a string (got a number)"),
        ({"MmsS3": [{"Bucket": ["media-bucket"], "Key": "mms/a"}]}, "MmsS3[0].Bucket must be a string (got an array)"),
        ({"MmsS3": {"Bucket": "media-bucket", "Key": "mms/a"}}, "MmsS3 must be an array"),
        ({"MmsMedia": 1.5}, "MmsMedia must be an array"),
        ({"MmsBase64": [{"Base64": 12345, "BaseType": "image/png"}]}, "MmsBase64[0].Base64 must be a base64 string"),
        ({"MmsBase64": [{"Base64": False, "BaseType": 3}]}, "MmsBase64[0].BaseType must be a MIME type"),
        ({"MmsBase64": [{"Base64": {"a": 1}, "BaseType": "image/png"}]}, "(got an object)"),
        ({"MmsBase64": ["QUJD"]}, "MmsBase64[0] must be an object (got a string)"),
        ({"Colour\n\ud800": 1}, "unknown field(s): 'Colour\\n\\ud800'"),
    ],
)
def test_reasons_name_the_field_and_what_is_wrong(change: dict, expected: str) -> None:
    """Refused before too, but now the reason says which rule the named field breaks."""
    error = rejection({**VALID, **change})
    assert error.code == RejectCode.VALIDATION_ERROR
    assert expected in error.message


@pytest.mark.parametrize("data", [None, 1, 1.5, True, "text", [], [VALID], float("nan")])
def test_anything_but_an_object_is_a_validation_error(data: object) -> None:
    error = rejection(data)
    assert error.code == RejectCode.VALIDATION_ERROR
    assert "the request must be a JSON object" in error.message


def test_null_optional_fields_count_as_absent() -> None:
    request = parse_send_request(
        {**VALID, "Owner": None, "CampaignId": None, "IdempotencyKey": None, "MmsMedia": None}, LIMITS
    )
    assert request.owner == VALID["From"]
    assert (request.campaign_id, request.idempotency_key, request.message_type) == (None, None, "sms")


def test_base64_size_is_the_decoded_length() -> None:
    for raw in (b"", b"a", b"ab", b"abc", b"abcd", bytes(range(256))):
        if not raw:
            continue
        encoded = base64.b64encode(raw).decode()
        media = parse_send_request(with_media(MmsBase64=[{"Base64": encoded, "BaseType": "image/png"}]), LIMITS)
        assert media.inline_media[0].size == len(raw)


def test_body_may_hold_tabs_and_line_breaks_and_any_script() -> None:
    body = "Line 1\r\nLine 2\tcol \u09ee \U0001f600 \u00e9"
    assert parse_send_request({**VALID, "Body": body}, LIMITS).body == body


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",
        "HTTP://Example.COM:8080/a%20b.png?x=1&y=%7E#frag",
        "https://user:pass@cdn.example.com/a.png",
        "http://127.0.0.1:9000/bucket/a.png",
        "http://[::1]:8080/a.png",
        "https://my_host.example.com./a.png",
    ],
)
def test_well_formed_urls_are_accepted(url: str) -> None:
    assert parse_send_request({**VALID, "MmsMedia": [{"MediaUrl": url}]}, LIMITS).media_urls == (url,)


def test_problems_are_bounded_however_many_there_are() -> None:
    many = {**VALID, "To": [{"Number": "x"}] * 500, "MmsMedia": [{"MediaUrl": "x"}] * 500}
    error = rejection(many, Limits(max_recipients=1000, max_media_items=1000))
    assert error.message.count(";") == 10  # ten shown, then the count of the rest
    assert error.message.endswith("; and 990 more problem(s)")
    assert len(error.message) < 2000


def test_unknown_field_names_are_escaped_and_bounded() -> None:
    names = {f"x{i}\n": i for i in range(20)} | {"y" * 1000: 1}
    error = rejection({**VALID, **names})
    assert "\n" not in error.message
    assert "and 16 more" in error.message
    assert len(error.message) < 400


def test_reasons_never_echo_a_value() -> None:
    """Reasons reach rows, DLQ attributes and logs: a bad Body or number must not appear in them."""
    error = rejection(
        {
            "To": [{"Number": "+1801573711X"}],
            "From": "+18018018011\n",
            "Body": "secret code 123456\x00",
            "CampaignId": "camp\naign",
            "MmsMedia": [{"MediaUrl": "https://example.com/secret token"}],
        }
    )
    for value in ("1801573711", "secret", "123456", "camp", "token"):
        assert value not in error.message


def test_peek_idempotency_key_never_raises() -> None:
    class Hostile(dict):
        def get(self, *args: object, **kwargs: object) -> object:
            raise RuntimeError("boom")

    assert peek_idempotency_key(Hostile()) is None
    assert peek_idempotency_key({"IdempotencyKey": "order\ud800"}) is None
    assert peek_idempotency_key({"IdempotencyKey": "order\n1"}) is None
    assert peek_idempotency_key({"IdempotencyKey": "k" * 257}) is None
    assert peek_idempotency_key({"IdempotencyKey": ["k"]}) is None
    assert peek_idempotency_key(None) is None
