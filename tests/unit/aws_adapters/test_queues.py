import base64
from typing import Any

import pytest

from aws_adapters.queues import SqsQueueControl, queue_name_and_account


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
