"""Faults on the wire (issue 8): moto server, the Telegent sandbox and the real handler via the runner.

Each test provokes one fault the way it happens in production (a table deleted, a vendor that
throttles for ever or echoes the Body, a body too large for the DLQ, a secret fixed by an
operator...) and checks that every message ends as a row, a retry or a DLQ copy with its reason,
and that nothing is sent twice.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from messaging import names
from sender import pipeline
from tests.integration.helpers import MAX_RECEIVE_COUNT, LogCapture, Stack, sms

pytestmark = pytest.mark.integration

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def redrive(stack: Stack, copy: dict[str, Any]) -> None:
    """What `aws sqs start-message-move-task` does: the DLQ message, body and attributes, back on the queue."""
    stack.send(copy["body"], **copy["message_attributes"])


def recreate_messages_table(stack: Stack) -> None:
    dynamodb = stack.world.client("dynamodb")
    dynamodb.create_table(
        TableName=stack.world.messages_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": names.MESSAGES_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": names.MESSAGES_MESSAGE_ID_ATTRIBUTE, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": names.MESSAGES_PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": names.MESSAGES_MESSAGE_ID_INDEX,
                "KeySchema": [{"AttributeName": names.MESSAGES_MESSAGE_ID_ATTRIBUTE, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=stack.world.messages_table)


def test_messages_table_gone_while_sending_sends_once_and_the_redrive_writes_the_row(stack: Stack) -> None:
    stack.world.client("dynamodb").delete_table(TableName=stack.world.messages_table)
    [first_id] = stack.send(sms())  # no IdempotencyKey: the SQS message id is the key
    stack.drain()
    assert len(stack.outbound()) == 1  # every retry replayed the stored outcome
    copy = only(stack.dlq())
    assert copy["message_attributes"]["ErrorCode"] == "RETRIES_EXHAUSTED"
    assert copy["message_attributes"]["OriginalMessageId"] == first_id
    assert copy["message_attributes"]["RequestId"] == first_id

    recreate_messages_table(stack)  # the operator fixes the table and redrives the DLQ
    stack.world.client("sqs").purge_queue(QueueUrl=stack.world.dlq_url)
    redrive(stack, copy)
    stack.drain()
    assert len(stack.outbound()) == 1  # still once: the redriven copy kept its key
    row = stack.rows()[first_id]
    assert row["Status"] == "SENT"
    assert row["MessageId"] == only(stack.outbound())["message_id"]


def test_an_unexpected_error_is_retried_then_settled_with_a_row_and_a_dlq_copy(
    stack: Stack, logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_parse = pipeline.parse_send_request

    def parse(data: Any, limits: Any) -> Any:
        if data.get("CampaignId") == "poison":
            raise TypeError("object of type 'int' has no len()")
        return real_parse(data, limits)

    monkeypatch.setattr(pipeline, "parse_send_request", parse)
    [message_id] = stack.send(sms("poison-1", CampaignId="poison"), sms("fine-1"))[:1]
    summary = stack.drain()
    assert summary.failures == MAX_RECEIVE_COUNT - 1  # retried, then settled on the last receive
    row = stack.rows()["poison-1"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "INTERNAL_ERROR")
    assert row["ErrorMessage"] == "TypeError: object of type 'int' has no len()"
    copy = only(stack.dlq())
    attributes = copy["message_attributes"]
    assert attributes["ErrorCode"] == "INTERNAL_ERROR"
    assert attributes["Reason"] == "INTERNAL_ERROR: TypeError: object of type 'int' has no len()"
    assert attributes["OriginalMessageId"] == message_id
    assert attributes["ReceiveCount"] == str(MAX_RECEIVE_COUNT)
    assert json.loads(copy["body"])["IdempotencyKey"] == "poison-1"
    assert stack.rows()["fine-1"]["Status"] == "SENT"  # the rest of the batch went on
    errors = [line for line in logs.lines() if line.get("error_type") == "TypeError" and "stack" in line]
    assert len(errors) == MAX_RECEIVE_COUNT  # one line with type and stack per receive
    assert "in parse" in errors[0]["stack"]


def test_a_vendor_that_throttles_for_ever_ends_in_the_dlq_as_throttled_too_long(stack: Stack) -> None:
    stack.configure(MAX_MESSAGE_AGE_HOURS=str(3 / 3600))  # three seconds
    stack.sandbox.add_fault("outbound", 429, retry_after=1, count=1000)
    [first_id] = stack.send(sms("patient-1"))
    summary = stack.drain(max_seconds=40)
    assert summary.failures == 0  # requeued (no receive burnt), then settled: never a redrive
    assert 2 <= len(stack.sandbox.requests("outbound")) <= 6
    assert stack.outbound() == []
    row = stack.rows()["patient-1"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "THROTTLED_TOO_LONG")
    copy = only(stack.dlq())
    assert copy["message_attributes"]["ErrorCode"] == "THROTTLED_TOO_LONG"
    assert copy["message_attributes"]["OriginalMessageId"] == first_id
    assert "FirstEnqueuedAt" not in copy["message_attributes"]  # a redrive starts a new wait


def test_the_age_metric_counts_from_the_first_copy(stack: Stack, capfd: pytest.CaptureFixture[str]) -> None:
    stack.sandbox.add_fault("outbound", 429, retry_after=2)
    stack.send(sms("aged-1"))
    stack.drain()
    assert stack.rows()["aged-1"]["Status"] == "SENT"
    ages = [
        float(age)
        for line in capfd.readouterr().out.splitlines()
        if line.startswith('{"_aws"') and "MessageAgeSeconds" in line
        for age in json.loads(line)["MessageAgeSeconds"]
    ]
    assert len(ages) == 2  # the first copy and the requeued one
    assert ages[1] >= 2  # the requeued copy is not younger than its Retry-After


def test_a_dlq_copy_over_the_sqs_limit_is_offloaded_and_its_redrive_is_read_back(stack: Stack) -> None:
    huge = sms("huge-1", Body="x" * 1_048_300)  # fits the queue alone; with the DLQ reasons it would not
    stack.send(huge)
    stack.drain()
    row = stack.rows()["huge-1"]
    assert row["ErrorCode"] == "VALIDATION_ERROR"
    copy = only(stack.dlq())
    kind, location = json.loads(copy["body"])
    assert kind == POINTER_CLASS
    assert location["s3BucketName"] == stack.world.media_bucket
    assert location["s3Key"].startswith("dlq-payloads/")
    stored = stack.world.client("s3").get_object(Bucket=location["s3BucketName"], Key=location["s3Key"])
    assert json.loads(stored["Body"].read()) == huge
    assert copy["message_attributes"]["ErrorCode"] == "VALIDATION_ERROR"

    stack.world.client("sqs").purge_queue(QueueUrl=stack.world.dlq_url)
    redrive(stack, copy)
    stack.drain()
    # Unwrapped from dlq-payloads/ (allowed for pointers): the same request, judged the same way.
    again = only(stack.dlq())
    assert again["message_attributes"]["ErrorCode"] == "VALIDATION_ERROR"
    assert again["message_attributes"]["RequestId"] == "huge-1"


def test_the_same_key_twice_in_one_batch_is_sent_once_and_neither_is_retried(stack: Stack) -> None:
    stack.send(sms("twice-1"), sms("twice-1"))
    result = stack.runner(batch_size=10).run_once()
    assert len(result.received_ids) == 2
    assert result.failed_ids == []
    assert len(stack.outbound()) == 1
    assert stack.rows()["twice-1"]["Status"] == "SENT"


def test_a_secret_fixed_after_a_missing_key_is_used_at_once(stack: Stack) -> None:
    secrets = stack.world.client("secretsmanager")
    good = secrets.get_secret_value(SecretId=stack.world.secret_name)["SecretString"]
    secrets.put_secret_value(SecretId=stack.world.secret_name, SecretString='{"AccountKey": "DID-sandbox"}')
    stack.send(sms("fixed-secret-1"))
    first = stack.runner().run_once()
    assert first.failed_ids == first.received_ids
    secrets.put_secret_value(SecretId=stack.world.secret_name, SecretString=good)
    stack.drain()  # within the secret cache age (300 s): the bad value was not cached
    assert stack.rows()["fixed-secret-1"]["Status"] == "SENT"
    assert stack.dlq() == []


def test_media_keys_with_dot_segments_are_refused_not_read(stack: Stack) -> None:
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="private.png", Body=b"secret", ContentType="image/png")
    bucket = stack.world.media_bucket
    stack.send(
        sms("dots-1", MmsS3=[{"Bucket": bucket, "Key": "mms/../private.png"}]),
        sms("dots-2", MmsS3=[{"Bucket": bucket, "Key": "mms/%2e%2e/private.png"}]),
        [POINTER_CLASS, {"s3BucketName": bucket, "s3Key": "mms/../private.png"}],
    )
    stack.drain()
    rows = stack.rows()
    assert rows["dots-1"]["ErrorCode"] == rows["dots-2"]["ErrorCode"] == "MEDIA_NOT_ALLOWED"
    assert len(stack.dlq()) == 3
    assert {copy["message_attributes"]["ErrorCode"] for copy in stack.dlq()} == {"MEDIA_NOT_ALLOWED"}
    assert stack.outbound() == []


def test_extended_client_payloads_at_the_bucket_root_need_payload_prefix(stack: Stack) -> None:
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="7d1e-uuid", Body=json.dumps(sms("root-1")))
    pointer = [POINTER_CLASS, {"s3BucketName": stack.world.media_bucket, "s3Key": "7d1e-uuid"}]
    stack.send(pointer)
    stack.drain()
    assert only(stack.dlq())["message_attributes"]["ErrorCode"] == "MEDIA_NOT_ALLOWED"  # default: MEDIA_PREFIX
    stack.world.client("sqs").purge_queue(QueueUrl=stack.world.dlq_url)
    stack.configure(PAYLOAD_PREFIX="")  # the bucket root, where the stock Extended Client writes
    stack.send(pointer)
    stack.drain()
    assert stack.rows()["root-1"]["Status"] == "SENT"


def test_payloads_over_max_payload_bytes_are_refused(stack: Stack) -> None:
    stack.configure(MAX_PAYLOAD_BYTES="200")
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="mms/p/big.json", Body=json.dumps(sms("big-1", Body="y" * 300)))
    [message_id] = stack.send([POINTER_CLASS, {"s3BucketName": stack.world.media_bucket, "s3Key": "mms/p/big.json"}])
    stack.drain()
    assert stack.rows()[message_id]["ErrorCode"] == "MEDIA_TOO_LARGE"
    assert stack.outbound() == []


def test_vendor_texts_echoing_the_body_and_keys_holding_numbers_never_reach_the_logs(
    stack: Stack, logs: LogCapture, capfd: pytest.CaptureFixture[str]
) -> None:
    body = "Your door code is 918273 - do not share it"
    echo = {"StatusCode": 503, "Message": f"Could not queue '{body}' for +18015737111"}
    stack.sandbox.add_fault("outbound", 503, body=echo, retry_after=1)
    stack.sandbox.add_fault("outbound", 400, body={**echo, "StatusCode": 400})
    stack.send(sms("otp-+18015737111", Body=body), sms("door-+18015737111", Body=body))
    stack.drain()
    rows = stack.rows()
    assert {rows["otp-+18015737111"]["Status"], rows["door-+18015737111"]["Status"]} == {"SENT", "REJECTED"}
    out = logs.text() + capfd.readouterr().out
    assert len(logs.lines()) >= 4
    assert "918273" not in out
    assert "Your door code" not in out
    assert "8015737111" not in out
    assert "[body]" in out  # the vendor's text is still there, without the echo
