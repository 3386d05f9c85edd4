import json

import pytest

from messaging.envelopes import S3_POINTER_CLASS, unwrap
from messaging.errors import PermanentError, RejectCode

REQUEST = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "hi"}


def no_s3(bucket: str, key: str) -> bytes:
    raise AssertionError("no S3 read expected")


def test_plain_request() -> None:
    result = unwrap(json.dumps(REQUEST), no_s3)
    assert result.request == REQUEST
    assert result.envelopes == ()


def test_eventbridge_event_detail_is_the_request() -> None:
    event = {"version": "0", "id": "1", "detail-type": "telegent.sms.send", "source": "orders", "detail": REQUEST}
    result = unwrap(json.dumps(event), no_s3)
    assert result.request == REQUEST
    assert result.envelopes == ("eventbridge",)


def test_sns_notification_message_is_parsed() -> None:
    note = {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": json.dumps(REQUEST)}
    assert unwrap(json.dumps(note), no_s3).request == REQUEST


def test_sns_wrapping_an_eventbridge_event() -> None:
    event = {"detail-type": "x", "source": "y", "detail": REQUEST}
    note = {"Type": "Notification", "TopicArn": "arn", "Message": json.dumps(event)}
    result = unwrap(json.dumps(note), no_s3)
    assert result.envelopes == ("sns", "eventbridge")
    assert result.request == REQUEST


def test_extended_client_pointer_is_loaded_from_s3() -> None:
    reads: list[tuple[str, str]] = []

    def load(bucket: str, key: str) -> bytes:
        reads.append((bucket, key))
        return json.dumps(REQUEST).encode()

    pointer = [S3_POINTER_CLASS, {"s3BucketName": "media-bucket", "s3Key": "mms/payload-1"}]
    assert unwrap(json.dumps(pointer), load).request == REQUEST
    assert reads == [("media-bucket", "mms/payload-1")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", RejectCode.INVALID_JSON),
        ('"just a string"', RejectCode.UNKNOWN_ENVELOPE),
        ('{"hello": "world"}', RejectCode.UNKNOWN_ENVELOPE),
        ('{"Type": "Notification", "TopicArn": "a", "Message": "not json"}', RejectCode.INVALID_JSON),
        (json.dumps(["some.other.Pointer", {"s3BucketName": "b", "s3Key": "k"}]), RejectCode.UNKNOWN_ENVELOPE),
    ],
)
def test_anything_else_is_refused_with_a_reason(body: str, code: RejectCode) -> None:
    with pytest.raises(PermanentError) as caught:
        unwrap(body, no_s3)
    assert caught.value.code == code


def test_nesting_is_bounded() -> None:
    data: object = REQUEST
    for _ in range(5):
        data = {"detail-type": "x", "source": "y", "detail": data}
    with pytest.raises(PermanentError) as caught:
        unwrap(json.dumps(data), no_s3)
    assert "nested envelopes" in caught.value.message


# ---------------------------------------------------------------- issue 8: strict, total decoding


def decode_refusal(body: str | bytes, load=no_s3) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        unwrap(body, load)
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError inside json.loads before the fix
        '{"To": ' + "[" * 5000 + "]" * 5000 + "}",
        json.dumps({"detail-type": "x", "source": "y", "detail": "[" * 50_000}),
    ],
)
def test_deep_nesting_is_invalid_json_not_a_recursion_error(body: str) -> None:
    error = decode_refusal(body)
    assert error.code == RejectCode.INVALID_JSON


def test_nesting_within_the_decoder_limit_is_still_bounded() -> None:
    """40 levels decode fine in Python, but nothing we accept is nested like that."""
    deep: object = "x"
    for _ in range(40):
        deep = [deep]
    error = decode_refusal(json.dumps({**REQUEST, "Extra": deep}))
    assert error.code == RejectCode.INVALID_JSON
    assert "nested deeper than 32" in error.message


def test_an_sns_message_nested_too_deeply_is_named() -> None:
    note = {"Type": "Notification", "TopicArn": "arn", "Message": "[" * 10_000 + "]" * 10_000}
    error = decode_refusal(json.dumps(note))
    assert error.code == RejectCode.INVALID_JSON
    assert error.message.startswith("the SNS Message is nested too deeply")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": NaN}', "NaN is not a JSON number"),
        ('{"Body": "hi", "To": Infinity}', "Infinity is not a JSON number"),
        ('{"Body": "hi", "To": -Infinity}', "-Infinity is not a JSON number"),
        ('{"Body": "hi", "To": 1e400}', "outside the range of a double"),
        ('{"Body": "hi", "To": 123456789012345678901234567890}', "beyond +/-9007199254740991"),
        ('{"Body": "hi", "To": ' + "9" * 5000 + "}", "beyond"),
        ('{"Body": "a", "To": [], "Body": "b"}', "the key Body appears more than once"),
        ('{"Body": "hi \\ud800", "To": []}', "unpaired surrogate"),
        ('{"Body": "hi", "To": [], "\\udc00": 1}', "unpaired surrogate"),
    ],
)
def test_json_no_other_parser_agrees_on_is_refused(body: str, reason: str) -> None:
    """I-JSON (RFC 7493): these decode in Python but not alike elsewhere; refused with the reason."""
    error = decode_refusal(body)
    assert error.code == RejectCode.INVALID_JSON
    assert reason in error.message


def test_paired_surrogate_escapes_and_safe_numbers_decode() -> None:
    body = (
        '{"To": [{"Number": "+18015737111"}], "From": "+18018018011", '
        '"Body": "\\ud83d\\ude00", "N": [1.5, -3, 9007199254740991]}'
    )
    assert unwrap(body, no_s3).request["Body"] == "\U0001f600"


def test_syntax_errors_say_where() -> None:
    error = decode_refusal('{"Body": "hi",}')
    assert error.code == RejectCode.INVALID_JSON
    assert "line 1 column" in error.message


def test_an_s3_payload_that_is_not_text_is_invalid_json() -> None:
    pointer = [S3_POINTER_CLASS, {"s3BucketName": "media-bucket", "s3Key": "mms/payload-1"}]
    error = decode_refusal(json.dumps(pointer), lambda bucket, key: b"\xff\xfe\x00garbage\xff")
    assert error.code == RejectCode.INVALID_JSON
    assert error.message.startswith("the S3 payload is not valid JSON")


@pytest.mark.parametrize(
    ("pointer", "reason"),
    [
        ({"s3BucketName": "media-bucket", "s3Key": "mms/pay\nload"}, "s3Key must not contain tabs or line breaks"),
        ({"s3BucketName": "media-bucket", "s3Key": "mms/\x00"}, "s3Key contains a control character"),
        ({"s3BucketName": "Bad Bucket", "s3Key": "mms/payload"}, "s3BucketName must be an S3 bucket name"),
        ({"s3BucketName": "media-bucket", "s3Key": ""}, "s3Key must not be empty"),
    ],
)
def test_a_malformed_pointer_is_refused_before_any_read(pointer: dict, reason: str) -> None:
    error = decode_refusal(json.dumps([S3_POINTER_CLASS, pointer]))  # no_s3: a read would fail the test
    assert error.code == RejectCode.VALIDATION_ERROR
    assert reason in error.message
