import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_adapters.queues import (
    SQS_MAX_MESSAGE_BYTES,
    SqsDeadLetterSink,
    SqsQueueControl,
    message_size,
    queue_name_and_account,
    sqs_text,
)
from messaging.errors import TransientError


class FakeSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_queue_url(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("get_queue_url", kwargs))
        return {"QueueUrl": f"https://sqs.test/{kwargs['QueueOwnerAWSAccountId']}/{kwargs['QueueName']}"}

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("send_message", kwargs))
        return {"MessageId": "new"}

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_queue_attributes", kwargs))
        return {"Attributes": {"RedrivePolicy": '{"deadLetterTargetArn": "arn", "maxReceiveCount": 5}'}}


ARN = "arn:aws:sqs:us-east-1:111122223333:requests"


def test_requeue_converts_lambda_attributes_back_and_caps_the_delay() -> None:
    sqs = FakeSqs()
    control = SqsQueueControl(sqs)
    attributes = {
        "Trace": {"stringValue": "abc", "dataType": "String"},
        "Blob": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "dataType": "Binary"},
    }
    control.requeue(ARN, "body", attributes, delay_seconds=5000)
    control.requeue(ARN, "body", {}, delay_seconds=3)
    sends = [kwargs for name, kwargs in sqs.calls if name == "send_message"]
    assert sends[0]["QueueUrl"] == "https://sqs.test/111122223333/requests"
    assert sends[0]["DelaySeconds"] == 900
    assert sends[0]["MessageAttributes"] == {
        "Trace": {"DataType": "String", "StringValue": "abc"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    assert sends[1]["DelaySeconds"] == 3
    assert [name for name, _ in sqs.calls].count("get_queue_url") == 1  # looked up once per container


def test_max_receive_count_is_read_once() -> None:
    sqs = FakeSqs()
    control = SqsQueueControl(sqs)
    assert control.max_receive_count(ARN) == 5
    assert control.max_receive_count(ARN) == 5
    assert [name for name, _ in sqs.calls].count("get_queue_attributes") == 1


def test_queue_arn_parsing() -> None:
    assert queue_name_and_account(ARN) == ("requests", "111122223333")
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        queue_name_and_account("arn:aws:sns:us-east-1:1:topic")


# ---------------------------------------------------------------- DLQ copies too large for SQS (issue 8, defect 5)

REASONS = {"Reason": "VALIDATION_ERROR: Body is too long", "ErrorCode": "VALIDATION_ERROR", "RequestId": "k"}


class Offloads:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, body: str) -> str:
        self.bodies.append(body)
        pointer = {"s3BucketName": "b", "s3Key": f"dlq-payloads/{len(self.bodies)}"}
        return json.dumps(["software.amazon.payloadoffloading.PayloadS3Pointer", pointer])


class SizeLimitedSqs(FakeSqs):
    """Refuses a message over `limit` bytes the way SQS does (a queue's MaximumMessageSize)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        if message_size(kwargs["MessageBody"], kwargs.get("MessageAttributes", {})) > self.limit:
            raise ClientError(
                {
                    "Error": {
                        "Code": "InvalidParameterValue",
                        "Message": "One or more parameters are invalid. Reason: "
                        f"Message must be shorter than {self.limit} bytes.",
                    }
                },  # type: ignore[typeddict-item]
                "SendMessage",
            )
        return super().send_message(**kwargs)


def sent_bodies(sqs: FakeSqs) -> list[str]:
    return [kwargs["MessageBody"] for name, kwargs in sqs.calls if name == "send_message"]


def test_a_copy_that_fits_keeps_its_body() -> None:
    sqs, offloads = SizeLimitedSqs(SQS_MAX_MESSAGE_BYTES), Offloads()
    SqsDeadLetterSink("dlq", sqs, offloads).copy("x" * 1000, REASONS)
    assert sent_bodies(sqs) == ["x" * 1000]
    assert offloads.bodies == []


def test_a_body_plus_attributes_over_1_mib_is_offloaded_before_sending() -> None:
    sqs, offloads = SizeLimitedSqs(SQS_MAX_MESSAGE_BYTES), Offloads()
    body = "é" * (SQS_MAX_MESSAGE_BYTES // 2 - 20)  # under 1 MiB alone, over it with the reasons (UTF-8 bytes)
    assert message_size(body, {}) <= SQS_MAX_MESSAGE_BYTES
    SqsDeadLetterSink("dlq", sqs, offloads).copy(body, REASONS)
    assert offloads.bodies == [body]
    (pointer,) = sent_bodies(sqs)
    assert json.loads(pointer)[1]["s3Key"] == "dlq-payloads/1"
    attributes = next(kwargs for name, kwargs in sqs.calls if name == "send_message")["MessageAttributes"]
    assert attributes["ErrorCode"]["StringValue"] == "VALIDATION_ERROR"  # the reasons stay on the copy


def test_a_queue_with_a_smaller_maximum_gets_the_pointer_on_the_second_try() -> None:
    sqs, offloads = SizeLimitedSqs(262_144), Offloads()
    SqsDeadLetterSink("dlq", sqs, offloads).copy("x" * 300_000, REASONS)
    assert len(offloads.bodies) == 1
    assert json.loads(sent_bodies(sqs)[-1])[0] == "software.amazon.payloadoffloading.PayloadS3Pointer"


def test_without_an_offload_an_oversized_copy_is_a_transient_failure_not_a_crash() -> None:
    sqs = SizeLimitedSqs(262_144)
    with pytest.raises(TransientError, match="copying to the DLQ failed: InvalidParameterValue"):
        SqsDeadLetterSink("dlq", sqs).copy("x" * 300_000, REASONS)


def test_message_size_counts_attribute_names_types_and_values() -> None:
    attributes = {
        "Reason": {"DataType": "String", "StringValue": "abc"},
        "B": {"DataType": "Binary", "BinaryValue": b"12"},
    }
    assert message_size("body", attributes) == 4 + (6 + 6 + 3) + (1 + 6 + 2)


def test_reasons_quoting_characters_sqs_refuses_are_cleaned() -> None:
    sqs = FakeSqs()
    SqsDeadLetterSink("dlq", sqs).copy("{}", {"ErrorMessage": "unknown field(s): a\x00b, \ud800"})
    attributes = next(kwargs for name, kwargs in sqs.calls if name == "send_message")["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "unknown field(s): a\ufffdb, \ufffd"
    assert sqs_text("tab\tnew\nline") == "tab\tnew\nline"
