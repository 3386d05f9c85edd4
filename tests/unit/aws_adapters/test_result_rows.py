"""The row store never lets a value DynamoDB cannot hold fail the row (issue 8, defects 2 and 5)."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_adapters.result_rows import DynamoResultStore
from aws_adapters.s3_objects import S3PayloadOffload
from messaging.errors import TransientError
from messaging.lifecycle import RANK_SEND_OUTCOME, Status
from messaging.rows import ResultRow

SENT = ResultRow(
    "k", Status.SENT, RANK_SEND_OUTCOME, datetime(2026, 12, 1, tzinfo=UTC), "m1", 1, to=("+18015737111",),
    message_id="TMID-1", vendor_status="Queued", cost=Decimal("0.0045"), campaign_id="C-1",
)  # fmt: skip


def validation_error() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}},  # type: ignore[typeddict-item]
        "PutItem",
    )


class FakeDynamo:
    def __init__(self, refuse: int = 0, error: Exception | None = None) -> None:
        self.refuse = refuse
        self.error = error
        self.puts: list[dict[str, Any]] = []

    def put_item(self, **request: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        if self.refuse:
            self.refuse -= 1
            raise validation_error()
        self.puts.append(request["Item"])
        return {}


def test_an_unstorable_number_is_left_out_of_the_row_not_failing_it() -> None:
    row = replace(SENT)
    object.__setattr__(row, "cost", Decimal("NaN"))  # past the row's own bounds (defence in depth)
    client = FakeDynamo()
    assert DynamoResultStore("messages", client, 90).record(row)
    (item,) = client.puts
    assert "Cost" not in item
    assert item["MessageId"] == {"S": "TMID-1"}


def test_a_row_dynamodb_refuses_is_written_without_the_vendors_details() -> None:
    client = FakeDynamo(refuse=1)
    assert DynamoResultStore("messages", client, 90).record(SENT)
    (item,) = client.puts
    assert item["Status"] == {"S": "SENT"}
    assert item["To"] == {"S": "+18015737111"}
    assert not {"MessageId", "VendorStatus", "Cost", "CampaignId"} & set(item)


def test_a_row_refused_twice_is_a_transient_failure() -> None:
    with pytest.raises(TransientError, match="ValidationException"):
        DynamoResultStore("messages", FakeDynamo(refuse=2), 90).record(SENT)


def test_other_failures_stay_transient() -> None:
    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")  # type: ignore[typeddict-item]
    with pytest.raises(TransientError, match="ProvisionedThroughputExceededException"):
        DynamoResultStore("messages", FakeDynamo(error=throttled), 90).record(SENT)


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = Body
        return {}


def test_an_offloaded_body_is_named_by_its_content_under_the_dlq_prefix() -> None:
    s3 = FakeS3()
    offload = S3PayloadOffload(s3, "media")
    pointer = offload('{"Body": "é"}')
    assert pointer == offload('{"Body": "é"}')  # the same body, the same object
    kind, location = json.loads(pointer)
    assert kind == "software.amazon.payloadoffloading.PayloadS3Pointer"
    assert location["s3BucketName"] == "media"
    assert location["s3Key"].startswith("dlq-payloads/")
    assert s3.objects[("media", location["s3Key"])] == '{"Body": "é"}'.encode()
