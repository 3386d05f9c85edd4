"""The send path end to end over real HTTP: moto server, the Telegent sandbox, the real handler.

Each test gets its own queue, DLQ, tables, bucket and secret; the runner plays Lambda's SQS
event source mapping (batches, partial failures, visibility timeout, redrive).
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from infra.local.lambda_context import FakeLambdaContext
from tests.integration.helpers import MAX_RECEIVE_COUNT, LogCapture, Stack, sms

pytestmark = pytest.mark.integration


def only(items: list) -> dict:
    assert len(items) == 1, items
    return items[0]


def test_sms_is_sent_once_and_recorded(stack: Stack) -> None:
    stack.send(sms("order-1", CampaignId="JCID-1"))
    stack.drain()
    sent = only(stack.outbound())
    assert sent["request"] == {
        "To": [{"Number": "+18015737111"}],
        "From": "+18018018011",
        "Owner": "+18018018011",
        "Body": "Your order has shipped",
        "CampaignId": "JCID-1",
    }
    row = stack.rows()["order-1"]
    assert row["Status"] == "SENT"
    assert row["MessageId"] == sent["message_id"]
    assert row["VendorStatus"] == "Queued"
    assert (row["To"], row["From"], row["CampaignId"], row["MessageType"]) == (
        "+18015737111",
        "+18018018011",
        "JCID-1",
        "sms",
    )
    assert row["Cost"] == pytest.approx(0.0045)
    assert row["Attempts"] == 1
    assert row["CreatedAt"] <= row["UpdatedAt"]
    assert row["ExpiresAt"] > time.time() + 80 * 86400
    assert "Body" not in row
    assert stack.dlq() == []
    # Looked up by MessageId through the GSI.
    found = stack.world.client("dynamodb").query(
        TableName=stack.world.messages_table,
        IndexName="MessageIdIndex",
        KeyConditionExpression="MessageId = :m",
        ExpressionAttributeValues={":m": {"S": sent["message_id"]}},
    )["Items"]
    assert [item["RequestId"]["S"] for item in found] == ["order-1"]


def test_same_message_twice_sends_once(stack: Stack) -> None:
    stack.send(sms("order-2"))
    stack.drain()
    stack.send(sms("order-2"))
    stack.drain()
    # And the very same SQS event delivered twice (a redelivery) sends nothing new either.
    stack.send(sms())
    runner = stack.runner()
    messages = runner.receive_batch()
    event = runner.build_event(messages)
    for _ in range(2):
        response = stack_handler()(event, FakeLambdaContext())
        assert response == {"batchItemFailures": []}
    assert len(stack.outbound()) == 2
    assert stack.rows()["order-2"]["Status"] == "SENT"


def stack_handler():  # imported late so the env is in place, as in a cold start
    from sender.handler import handler

    return handler


def test_fifty_messages_use_one_token(stack: Stack) -> None:
    stack.send(*[sms(f"bulk-{i}", To=[{"Number": f"+1801555{i:04d}"}]) for i in range(50)])
    stack.drain(max_seconds=60)
    assert len(stack.outbound()) == 50
    assert len(stack.sandbox.token_requests()) == 1
    assert {row["Status"] for row in stack.rows().values()} == {"SENT"}


def test_token_expiry_triggers_exactly_one_refetch(stack: Stack) -> None:
    stack.sandbox.set_token_ttl(2)
    try:
        stack.send(sms("t-1"))
        stack.drain()
        time.sleep(2.2)
        stack.send(sms("t-2"), sms("t-3"))
        stack.drain()
    finally:
        stack.sandbox.set_token_ttl(300)
    assert len(stack.sandbox.token_requests()) == 2
    assert all(r["status"] == 200 for r in stack.sandbox.requests("outbound"))  # never sent with a dead token


def test_401_then_success_refreshes_the_token_and_sends(stack: Stack) -> None:
    stack.send(sms("auth-1"))
    stack.drain()
    stack.sandbox.expire_tokens()  # the vendor revokes early: our cached token now gets 401
    stack.send(sms("auth-2"))
    stack.drain()
    statuses = [r["status"] for r in stack.sandbox.requests("outbound")]
    assert statuses == [200, 401, 200]
    assert len(stack.sandbox.token_requests()) == 2
    assert stack.rows()["auth-2"]["Status"] == "SENT"


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_twice_is_transient_then_delivered(stack: Stack, status: int) -> None:
    stack.sandbox.add_fault("outbound", status, count=2)
    stack.send(sms("auth-3"))
    summary = stack.drain()
    assert summary.failures == 1
    assert stack.rows()["auth-3"]["Status"] == "SENT"
    assert stack.rows()["auth-3"]["Attempts"] == 2
    assert stack.dlq() == []


def test_429_with_retry_after_is_retried_later_and_delivered(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", 429, retry_after=3)
    [first_id] = stack.send(sms("throttled-1"))
    started = time.monotonic()
    summary = stack.drain()
    # Put back as a new message (no receive burnt), delivered after Retry-After, not DLQ'd.
    assert summary.failures == 0
    assert time.monotonic() - started >= 3
    row = stack.rows()["throttled-1"]
    assert row["Status"] == "SENT"
    assert row["SourceMessageId"] != first_id
    assert [r["status"] for r in stack.sandbox.requests("outbound")] == [429, 200]
    assert len(stack.outbound()) == 1
    assert stack.dlq() == []


def test_429_without_a_key_keeps_the_original_message_id_as_key(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", 429, retry_after=1)
    [first_id] = stack.send(sms())
    stack.drain()
    assert stack.rows()[first_id]["Status"] == "SENT"


@pytest.mark.parametrize("status", [503, 408, 500, 502, 504])
def test_transient_statuses_are_retried_and_delivered(stack: Stack, status: int) -> None:
    stack.sandbox.add_fault("outbound", status, retry_after=1 if status == 503 else None)
    stack.send(sms(f"transient-{status}"))
    summary = stack.drain()
    assert summary.failures == 1
    assert stack.rows()[f"transient-{status}"]["Status"] == "SENT"
    assert stack.dlq() == []


def test_read_timeout_is_ambiguous_and_retried(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", delay_ms=2500)  # beyond the 1.5 s read timeout
    stack.send(sms("slow-1"))
    summary = stack.drain()
    assert summary.failures == 1
    assert stack.rows()["slow-1"]["Status"] == "SENT"


def test_dropped_connection_and_malformed_answer_are_retried(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", drop=True)
    stack.sandbox.add_fault("outbound", 200, malformed=True)
    stack.send(sms("flaky-1"))
    stack.drain()
    assert stack.rows()["flaky-1"]["Status"] == "SENT"


@pytest.mark.parametrize("status", [400, 404, 405, 409, 415, 422])
def test_vendor_refusal_is_rejected_with_its_code_and_dlq_copy(stack: Stack, status: int) -> None:
    stack.sandbox.add_fault("outbound", status)
    stack.send(sms(f"refused-{status}"))
    summary = stack.drain()
    assert summary.failures == 0  # acknowledged, not retried
    row = stack.rows()[f"refused-{status}"]
    assert row["Status"] == "REJECTED"
    assert row["ErrorCode"] == str(status)
    assert row["ErrorMessage"]
    copy = only(stack.dlq())
    assert json.loads(copy["body"])["IdempotencyKey"] == f"refused-{status}"
    assert copy["message_attributes"]["ErrorCode"] == str(status)
    assert copy["message_attributes"]["Reason"].startswith(f"{status}: ")


def test_bad_input_is_rejected_with_a_reason_and_acknowledged(stack: Stack) -> None:
    bad = sms("bad-1", From="8018018011", Urgency="high")
    [message_id] = stack.send(bad)
    summary = stack.drain()
    assert summary.failures == 0
    row = stack.rows()["bad-1"]
    assert row["Status"] == "REJECTED"
    assert row["ErrorCode"] == "VALIDATION_ERROR"
    assert "unknown field(s): Urgency" in row["ErrorMessage"]
    assert "From must be an E.164 number" in row["ErrorMessage"]
    copy = only(stack.dlq())
    assert json.loads(copy["body"]) == bad
    attributes = copy["message_attributes"]
    assert attributes["ErrorCode"] == "VALIDATION_ERROR"
    assert attributes["SourceMessageId"] == message_id
    assert attributes["RequestId"] == "bad-1"
    assert stack.outbound() == []


def test_a_fixed_request_replaces_its_rejected_row_whole(stack: Stack) -> None:
    stack.send(sms("fixed-1", From="not-a-number"))
    stack.drain()
    assert stack.rows()["fixed-1"]["ErrorCode"] == "VALIDATION_ERROR"
    stack.send(sms("fixed-1"))
    stack.drain()
    row = stack.rows()["fixed-1"]
    assert row["Status"] == "SENT"
    assert "ErrorCode" not in row
    assert "ErrorMessage" not in row


def test_key_reused_with_another_payload_is_not_sent_and_keeps_the_row(stack: Stack) -> None:
    stack.send(sms("reuse-1"))
    stack.drain()
    before = stack.rows()["reuse-1"]
    stack.send(sms("reuse-1", Body="Your order was cancelled"))
    stack.drain()
    assert len(stack.outbound()) == 1
    assert stack.rows()["reuse-1"] == before
    copy = only(stack.dlq())
    assert copy["message_attributes"]["ErrorCode"] == "IDEMPOTENCY_KEY_REUSED"


def test_mms_from_s3_arrives_byte_exact(stack: Stack) -> None:
    media = bytes(range(256)) * 4096 + b"tail"  # ~1 MB, every byte value
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="mms/clip.mp4", Body=media, ContentType="video/mp4")
    stack.send(sms("mms-s3", MmsS3=[{"Bucket": stack.world.media_bucket, "Key": "mms/clip.mp4"}]))
    stack.drain()
    sent = only(stack.outbound())["request"]
    assert base64.b64decode(sent["MmsBase64"][0]["Base64"]) == media
    assert sent["MmsBase64"][0]["BaseType"] == "video/mp4"
    assert "MmsS3" not in sent
    assert stack.rows()["mms-s3"]["MessageType"] == "mms"


def test_s3_media_over_the_byte_budget_is_rejected(stack: Stack) -> None:
    stack.configure(MAX_MEDIA_BYTES="1000")
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="mms/big.png", Body=b"x" * 1001, ContentType="image/png")
    stack.send(sms("too-big", MmsS3=[{"Bucket": stack.world.media_bucket, "Key": "mms/big.png"}]))
    stack.drain()
    assert stack.rows()["too-big"]["ErrorCode"] == "MEDIA_TOO_LARGE"
    assert stack.outbound() == []


def test_disallowed_bucket_and_prefix_are_rejected_without_reading(stack: Stack) -> None:
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="private/id-card.png", Body=b"secret")
    stack.send(
        sms("not-allowed-1", MmsS3=[{"Bucket": "another-bucket", "Key": "mms/a.png"}]),
        sms("not-allowed-2", MmsS3=[{"Bucket": stack.world.media_bucket, "Key": "private/id-card.png"}]),
    )
    stack.drain()
    rows = stack.rows()
    assert {rows[k]["ErrorCode"] for k in ("not-allowed-1", "not-allowed-2")} == {"MEDIA_NOT_ALLOWED"}
    assert len(stack.dlq()) == 2
    assert stack.outbound() == []


def test_every_envelope_is_unwrapped(stack: Stack) -> None:
    s3 = stack.world.client("s3")
    s3.put_object(Bucket=stack.world.media_bucket, Key="mms/payloads/p1.json", Body=json.dumps(sms("via-pointer")))
    stack.send(
        {"version": "0", "detail-type": "telegent.sms.send", "source": "orders", "detail": sms("via-eventbridge")},
        {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": json.dumps(sms("via-sns"))},
        [
            "software.amazon.payloadoffloading.PayloadS3Pointer",
            {"s3BucketName": stack.world.media_bucket, "s3Key": "mms/payloads/p1.json"},
        ],
    )
    stack.drain()
    rows = stack.rows()
    assert {k: rows[k]["Status"] for k in ("via-eventbridge", "via-sns", "via-pointer")} == dict.fromkeys(
        ("via-eventbridge", "via-sns", "via-pointer"), "SENT"
    )
    assert len(stack.outbound()) == 3


def test_connection_refused_is_retried_and_never_lost(stack: Stack) -> None:
    stack.configure(TELEGENT_BASE_URL="http://127.0.0.1:9/v1.0")  # nothing listens on the discard port
    [message_id] = stack.send(sms("unreachable-1"))
    stack.drain(max_seconds=40)
    assert "unreachable-1" not in stack.rows()
    copy = only(stack.dlq())  # after maxReceiveCount, with the reason, not silently
    assert copy["message_attributes"]["ErrorCode"] == "RETRIES_EXHAUSTED"
    assert "Connect" in copy["message_attributes"]["ErrorMessage"]
    assert copy["message_attributes"]["SourceMessageId"] == message_id
    assert copy["message_attributes"]["ReceiveCount"] == str(MAX_RECEIVE_COUNT)


def test_missing_secret_is_a_clear_error_and_messages_are_retried(stack: Stack, logs: LogCapture) -> None:
    stack.configure(TELEGENT_SECRET_ID="no-such-secret")
    stack.send(sms("nosecret-1"))
    result = stack.runner().run_once()
    assert result.failed_ids == result.received_ids  # retried, not lost
    assert "cannot read secret no-such-secret" in logs.text()
    stack.configure(TELEGENT_SECRET_ID=stack.world.secret_name)  # fixed: the retry goes through
    stack.drain()
    assert stack.rows()["nosecret-1"]["Status"] == "SENT"


def test_malformed_secret_is_a_clear_error(stack: Stack, logs: LogCapture) -> None:
    secrets = stack.world.client("secretsmanager")
    secrets.put_secret_value(SecretId=stack.world.secret_name, SecretString='{"AccountKey": "DID-sandbox"}')
    stack.send(sms("badsecret-1"))
    result = stack.runner().run_once()
    assert result.failed_ids == result.received_ids
    reasons = [line.get("reason", "") for line in logs.lines()]
    assert any('lacks non-empty "AccountKey" and "AccountSecret"' in reason for reason in reasons), reasons


def test_timeout_guard_returns_unreached_records_without_attempting(stack: Stack) -> None:
    stack.configure(SEND_CONCURRENCY="1")  # one at a time, so the later records meet the guard
    stack.sandbox.set_latency_ms(1200)
    try:
        stack.send(*[sms(f"guard-{i}") for i in range(4)])
        # 5 s function, 2.5 s needed per record (1 s connect + 1.5 s read): after one slow send, no more.
        result = stack.runner(function_timeout_seconds=5, batch_size=4).run_once()
    finally:
        stack.sandbox.set_latency_ms(0)
    assert len(result.received_ids) == 4
    attempted = len(stack.outbound())
    assert 1 <= attempted < 4
    assert len(result.failed_ids) == 4 - attempted
    assert result.error is None  # the function returned in time


def test_logs_never_contain_token_secret_body_or_full_numbers(
    stack: Stack, logs: LogCapture, capfd: pytest.CaptureFixture
) -> None:
    stack.sandbox.add_fault("outbound", 401)
    stack.sandbox.add_fault("outbound", 429, retry_after=1)
    stack.send(sms("logs-1", Body="the-secret-body-text"), sms("logs-2", Body="x", Colour="red"))
    stack.drain()
    out = logs.text() + capfd.readouterr().out  # log lines + metric (EMF) lines
    assert len(logs.lines()) >= 3, logs.text()
    assert "the-secret-body-text" not in out
    assert "sandbox-secret" not in out
    assert "+18015737111" not in out
    assert "+18018018011" not in out
    tokens = stack.sandbox.issued_tokens()
    assert tokens
    for token in tokens:
        assert token not in out
    assert "********7111" in out  # masked numbers are still useful
    assert {line.get("correlation_id") for line in logs.lines()} >= {"logs-1", "logs-2"}
