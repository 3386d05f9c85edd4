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
