"""Per-record semantics (DESIGN.md section 4) with in-memory collaborators."""

import base64
import json
from dataclasses import replace

import pytest

from messaging.errors import PermanentError, RejectCode, TransientError, TransientKind
from messaging.lifecycle import RANK_FINAL
from messaging.ports import S3Object
from sender.pipeline import handle_record
from tests.unit.fakes import MEDIA_BUCKET, World, make_world, sqs_record

SMS = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Your order has shipped"}
PLENTY_OF_TIME = lambda: 60_000  # noqa: E731


@pytest.fixture
def world() -> World:
    return make_world()


def run(world: World, body: object, message_id: str = "msg-1", receive_count: int = 1) -> None:
    handle_record(sqs_record(body, message_id, receive_count), world.deps, PLENTY_OF_TIME)


def test_sms_is_sent_and_recorded(world: World) -> None:
    run(world, {**SMS, "IdempotencyKey": "order-1", "CampaignId": "JCID-1"})
    assert world.vendor.sent == [{**{k: v for k, v in SMS.items()}, "Owner": "+18018018011", "CampaignId": "JCID-1"}]
    row = world.results.rows["order-1"]
    assert row["Status"] == "SENT"
    assert row["MessageId"] == "TMID-0001"
    assert row["VendorStatus"] == "Queued"
    assert row["To"] == "+18015737111"
    assert row["From"] == "+18018018011"
    assert row["MessageType"] == "sms"
    assert row["CampaignId"] == "JCID-1"
    assert row["Attempts"] == 1
    assert row["UpdatedAt"].endswith("Z")
    assert row["ExpiresAt"] > 1_800_000_000
    assert "Body" not in row
    assert world.dlq.messages == []
    assert world.metrics.counts["MessagesSent"] == 1


def test_without_a_key_the_sqs_message_id_is_the_key(world: World) -> None:
    run(world, SMS, message_id="abc-123")
    assert list(world.results.rows) == ["abc-123"]


def test_same_key_twice_sends_once(world: World) -> None:
    run(world, {**SMS, "IdempotencyKey": "order-1"}, message_id="m1")
    run(world, {**SMS, "IdempotencyKey": "order-1"}, message_id="m2")
    run(world, SMS, message_id="m3")
    run(world, SMS, message_id="m3", receive_count=2)  # redelivery of one SQS message
    assert len(world.vendor.sent) == 2
    assert world.results.rows["order-1"]["SourceMessageId"] == "m1"
    assert world.metrics.counts["DuplicatesSkipped"] == 2


def test_key_reused_with_another_payload_goes_to_the_dlq_and_keeps_the_row(world: World) -> None:
    run(world, {**SMS, "IdempotencyKey": "order-1"}, message_id="m1")
    before = dict(world.results.rows["order-1"])
    run(world, {**SMS, "IdempotencyKey": "order-1", "Body": "changed"}, message_id="m2")
    assert len(world.vendor.sent) == 1
    assert world.results.rows["order-1"] == before
    body, reasons = world.dlq.messages[0]
    assert json.loads(body)["Body"] == "changed"
    assert reasons["ErrorCode"] == RejectCode.IDEMPOTENCY_KEY_REUSED
    assert reasons["SourceMessageId"] == "m2"


def test_bad_input_gets_a_rejected_row_and_a_dlq_copy_with_reasons(world: World) -> None:
    original = {**SMS, "IdempotencyKey": "order-2", "From": "8018018011", "Colour": "red"}
    run(world, original, message_id="m9")
    row = world.results.rows["order-2"]
    assert row["Status"] == "REJECTED"
    assert row["ErrorCode"] == "VALIDATION_ERROR"
    assert "unknown field(s): Colour" in row["ErrorMessage"]
    assert row["To"] == "+18015737111"
    assert "From" not in row  # not a valid number, not kept
    body, reasons = world.dlq.messages[0]
    assert json.loads(body) == original  # the exact original body, ready to redrive after a fix
    assert reasons["Reason"].startswith("VALIDATION_ERROR: ")
    assert reasons["RequestId"] == "order-2"
    assert reasons["SourceQueueArn"].endswith(":telegent-sms-queue")
    assert world.vendor.sent == []


def test_unparseable_body_is_keyed_by_message_id(world: World) -> None:
    run(world, "{oops", message_id="m-bad")
    assert world.results.rows["m-bad"]["ErrorCode"] == "INVALID_JSON"
    assert world.dlq.messages[0][1]["ErrorCode"] == "INVALID_JSON"


def test_bad_input_never_hides_a_sent_row_with_the_same_key(world: World) -> None:
    run(world, {**SMS, "IdempotencyKey": "order-1"}, message_id="m1")
    run(world, {"IdempotencyKey": "order-1", "Body": 5}, message_id="m2")
    assert world.results.rows["order-1"]["Status"] == "SENT"
    assert len(world.dlq.messages) == 1


def test_vendor_refusal_is_rejected_with_the_vendor_code_and_stored(world: World) -> None:
    world.vendor.failures.append(PermanentError("400", "The From number must be provisioned"))
    run(world, {**SMS, "IdempotencyKey": "k"})
    row = world.results.rows["k"]
    assert (row["Status"], row["ErrorCode"], row["ErrorMessage"]) == (
        "REJECTED",
        "400",
        "The From number must be provisioned",
    )
    assert world.dlq.messages[0][1]["ErrorCode"] == "400"
    run(world, {**SMS, "IdempotencyKey": "k"}, message_id="m2")  # same request again: not re-sent
    assert world.vendor.sent == []


def test_transient_failure_is_retried_without_a_row(world: World) -> None:
    world.vendor.failures.append(TransientError(TransientKind.AMBIGUOUS, "HTTP 500"))
    with pytest.raises(TransientError):
        run(world, SMS)
    assert world.results.rows == {}
    assert world.dlq.messages == []
    assert world.metrics.counts["AmbiguousSends"] == 1
    assert world.metrics.counts["TransientFailureAmbiguous"] == 1
    # The retry reconciles first (DESIGN.md 4b): the search shows nothing was sent, so it sends once.
    world.deps.settings = replace(world.deps.settings, ambiguous_search_delay_seconds=0)
    run(world, SMS, receive_count=2)
    assert world.results.rows["msg-1"]["Status"] == "SENT"
    assert len(world.vendor.sent) == 1
    assert world.metrics.counts["AmbiguousResent"] == 1


def test_vendor_throttling_puts_the_message_back_without_burning_a_receive(world: World) -> None:
    world.vendor.failures.append(TransientError(TransientKind.THROTTLED, "HTTP 429", retry_after=17))
    run(world, SMS, message_id="m-429")  # settled: acknowledged, a copy waits on the queue
    ((body, attributes, delay),) = world.queues.requeued
    assert json.loads(body) == SMS
    assert attributes["OriginalMessageId"]["stringValue"] == "m-429"
    assert attributes["TelegentRequeues"]["stringValue"] == "1"
    assert 17 <= delay <= 21  # Retry-After plus jitter
    assert world.results.rows == {}
    assert world.metrics.counts["Requeued"] == 1


def test_a_requeued_copy_keeps_the_original_key(world: World) -> None:
    record = sqs_record(SMS, message_id="m-copy")
    record["messageAttributes"] = {
        "OriginalMessageId": {"stringValue": "m-first", "dataType": "String"},
        "TelegentRequeues": {"stringValue": "3", "dataType": "Number"},
    }
    handle_record(record, world.deps, PLENTY_OF_TIME)
    assert world.results.rows["m-first"]["SourceMessageId"] == "m-copy"
    world.vendor.failures.append(TransientError(TransientKind.RATE_LIMITED, "no slot", retry_after=2000))
    handle_record(sqs_record(SMS, message_id="m-other"), world.deps, PLENTY_OF_TIME)
    assert world.queues.requeued[-1][2] == 900  # SQS's longest delay


def test_unavailable_with_retry_after_delays_that_record(world: World) -> None:
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503", retry_after=17))
    with pytest.raises(TransientError):
        run(world, SMS)
    assert world.queues.delays == [("rh-msg-1-1", 17)]


def test_unavailable_without_retry_after_backs_off(world: World) -> None:
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
    with pytest.raises(TransientError):
        run(world, SMS, receive_count=3)
    ((_, seconds),) = world.queues.delays
    assert 16 <= seconds <= 24  # 5 * 2**2 with jitter


def test_last_receive_moves_the_message_to_the_dlq_with_the_reason(world: World) -> None:
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
    run(world, SMS, receive_count=5)  # settled, not raised
    _body, reasons = world.dlq.messages[0]
    assert reasons["ErrorCode"] == RejectCode.RETRIES_EXHAUSTED
    assert "Unavailable: HTTP 503" in reasons["ErrorMessage"]
    assert world.metrics.counts["RetriesExhausted"] == 1


def test_no_time_left_means_not_attempted(world: World) -> None:
    with pytest.raises(TransientError) as caught:
        handle_record(sqs_record(SMS), world.deps, lambda: 1_000)
    assert caught.value.kind == TransientKind.DEADLINE
    assert world.vendor.sent == []


def test_mms_from_s3_is_sent_as_base64_with_the_content_type(world: World) -> None:
    media = bytes(range(256)) * 10
    world.objects.objects[(MEDIA_BUCKET, "mms/a.mp4")] = S3Object(media, "video/mp4")
    run(world, {**SMS, "MmsS3": [{"Bucket": MEDIA_BUCKET, "Key": "mms/a.mp4"}]})
    (sent,) = world.vendor.sent
    assert base64.b64decode(sent["MmsBase64"][0]["Base64"]) == media
    assert sent["MmsBase64"][0]["BaseType"] == "video/mp4"
    assert "MmsS3" not in sent
    assert world.results.rows["msg-1"]["MessageType"] == "mms"


def test_missing_s3_media_is_rejected(world: World) -> None:
    run(world, {**SMS, "MmsS3": [{"Bucket": MEDIA_BUCKET, "Key": "mms/missing.png"}]})
    assert world.results.rows["msg-1"]["ErrorCode"] == RejectCode.MEDIA_NOT_FOUND
    assert world.vendor.sent == []


def test_disallowed_bucket_is_rejected_before_any_read(world: World) -> None:
    run(world, {**SMS, "MmsS3": [{"Bucket": "someone-elses-bucket", "Key": "mms/a.png"}]})
    assert world.results.rows["msg-1"]["ErrorCode"] == RejectCode.MEDIA_NOT_ALLOWED
    assert world.dlq.messages[0][1]["ErrorCode"] == RejectCode.MEDIA_NOT_ALLOWED


def test_a_late_retry_never_overwrites_a_final_state(world: World) -> None:
    run(world, {**SMS, "IdempotencyKey": "k"})
    world.results.rows["k"].update(Status="DELIVERED", StatusRank=RANK_FINAL)
    run(world, {**SMS, "IdempotencyKey": "k"}, message_id="m2", receive_count=3)
    assert world.results.rows["k"]["Status"] == "DELIVERED"
