"""Delivery status tracking against moto server + the Telegent sandbox: real handlers, real queues."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.esm_runner import DrainSummary, EventSourceRunner
from infra.local.status_tracking import TrackingWorld, provision_tracking
from messaging.receipts import receipt_envelope
from messaging.rows import iso
from tests.integration.helpers import Stack, sms
from tracker import handler as tracker_handler
from tracker.wiring import reset_dependencies as reset_tracker
from webhook import handler as webhook_handler
from webhook.wiring import reset_dependencies as reset_webhook


@pytest.fixture
def tracking(stack: Stack) -> Iterator[TrackingWorld]:
    world = provision_tracking(stack.world, max_receive_count=3, visibility_timeout=1)
    for name, value in world.env().items():
        stack.monkeypatch.setenv(name, value)
    reset_tracker()
    reset_webhook()
    yield world
    reset_tracker()
    reset_webhook()


def receipt(
    payload: dict[str, Any] | str, *, content_type: str = "application/json", method: str = "POST", query: str = ""
) -> str:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return receipt_envelope(method, content_type, query, body, datetime.now(UTC), body_base64=False)


def enqueue(tracking: TrackingWorld, *bodies: str) -> None:
    sqs = tracking.world.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=tracking.status_queue_url, MessageBody=body)


def track(tracking: TrackingWorld, max_seconds: float = 20) -> DrainSummary:
    runner = EventSourceRunner(
        tracking.world.client("sqs"), tracking.status_queue_url, tracker_handler.handler, wait_time_seconds=0
    )
    summary = runner.run_until_drained(max_seconds=max_seconds)
    assert summary.drained, summary
    return summary


def row(stack: Stack, request_id: str) -> dict[str, Any]:
    return stack.rows()[request_id]


def put_sent_row(stack: Stack, request_id: str, message_id: str, sent_at: datetime | None = None) -> None:
    sent = iso(sent_at or datetime.now(UTC))
    stack.world.client("dynamodb").put_item(
        TableName=stack.world.messages_table,
        Item={
            "RequestId": {"S": request_id},
            "Status": {"S": "SENT"},
            "StatusRank": {"N": "1"},
            "MessageId": {"S": message_id},
            "VendorStatus": {"S": "Queued"},
            "UpdatedAt": {"S": sent},
            "CreatedAt": {"S": sent},
            "To": {"S": "+18015737111"},
            "PollShard": {"S": "poll"},
            "PollAt": {"S": iso(datetime.now(UTC) + timedelta(minutes=15))},
        },
    )


def test_send_then_receipt_makes_the_row_delivered(stack: Stack, tracking: TrackingWorld) -> None:
    stack.send(sms("order-1"))
    stack.drain()
    sent = row(stack, "order-1")
    assert sent["Status"] == "SENT"
    enqueue(tracking, receipt({"MessageId": sent["MessageId"], "Status": "Delivered"}))
    summary = track(tracking)
    assert summary.failures == 0
    delivered = row(stack, "order-1")
    assert delivered["Status"] == "DELIVERED"
    assert delivered["VendorStatus"] == "Delivered"
    assert delivered["StatusSource"] == "callback"
    assert delivered["DeliveredAt"] == delivered["StatusAt"]
    assert delivered["StatusAt"] >= sent["UpdatedAt"]
    assert "PollAt" not in delivered
    assert "PollShard" not in delivered


@pytest.mark.parametrize(
    ("payload", "content_type", "query", "expected"),
    [
        ({"Message_ID": "TMID-A", "Status": "Failed"}, "application/json", "", "FAILED"),
        ("MessageID=TMID-A&DeliveryStatus=Undelivered", "application/x-www-form-urlencoded", "", "UNDELIVERABLE"),
        ("", "", "messageId=TMID-A&status=delivered", "DELIVERED"),
    ],
)
def test_every_payload_shape_reaches_the_row(
    stack: Stack, tracking: TrackingWorld, payload: Any, content_type: str, query: str, expected: str
) -> None:
    put_sent_row(stack, "r1", "TMID-A")
    method = "GET" if query else "POST"
    enqueue(tracking, receipt(payload, content_type=content_type, query=query, method=method))
    track(tracking)
    assert row(stack, "r1")["Status"] == expected


def test_duplicate_and_out_of_order_receipts_change_nothing(stack: Stack, tracking: TrackingWorld) -> None:
    put_sent_row(stack, "r1", "TMID-B")
    enqueue(tracking, receipt({"MessageId": "TMID-B", "Status": "Delivered", "Timestamp": "2025-05-15T20:15:37Z"}))
    track(tracking)
    first = row(stack, "r1")
    assert first["Status"] == "DELIVERED"
    assert first["StatusAt"] == "2025-05-15T20:15:37.000Z"
    enqueue(
        tracking,
        receipt({"MessageId": "TMID-B", "Status": "Delivered", "Timestamp": "2025-05-15T20:16:00Z"}),
        receipt({"MessageId": "TMID-B", "Status": "Failed"}),
        receipt({"MessageId": "TMID-B", "Status": "Sent"}),
        receipt({"MessageId": "TMID-B", "Status": "Queued"}),
    )
    summary = track(tracking)
    assert summary.failures == 0
    assert row(stack, "r1") == first


def test_non_final_receipt_refreshes_vendor_status_only(stack: Stack, tracking: TrackingWorld) -> None:
    put_sent_row(stack, "r1", "TMID-C")
    enqueue(tracking, receipt({"MessageId": "TMID-C", "Status": "CarrierAck"}))
    track(tracking)
    current = row(stack, "r1")
    assert (current["Status"], current["VendorStatus"]) == ("SENT", "CarrierAck")
    assert current["PollShard"] == "poll"  # still polled: no final word yet


def test_late_final_replaces_unknown(stack: Stack, tracking: TrackingWorld) -> None:
    put_sent_row(stack, "r1", "TMID-D")
    stack.world.client("dynamodb").update_item(
        TableName=stack.world.messages_table,
        Key={"RequestId": {"S": "r1"}},
        UpdateExpression="SET #s = :u, StatusRank = :r, StatusSource = :sw REMOVE PollShard, PollAt",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":u": {"S": "UNKNOWN"}, ":r": {"N": "2"}, ":sw": {"S": "sweep"}},
    )
    enqueue(tracking, receipt({"MessageId": "TMID-D", "Status": "Delivered"}))
    track(tracking)
    current = row(stack, "r1")
    assert (current["Status"], current["StatusSource"]) == ("DELIVERED", "callback")


def test_receipt_before_its_row_is_retried_then_applied(stack: Stack, tracking: TrackingWorld) -> None:
    enqueue(tracking, receipt({"MessageId": "TMID-E", "Status": "Delivered"}))
    runner = EventSourceRunner(
        tracking.world.client("sqs"), tracking.status_queue_url, tracker_handler.handler, wait_time_seconds=0
    )
    first = runner.run_once()
    assert len(first.failed_ids) == 1  # no row yet: retried, not dropped
    put_sent_row(stack, "r1", "TMID-E")
    track(tracking)
    assert row(stack, "r1")["Status"] == "DELIVERED"
    assert tracking.status_dlq_messages() == []


def test_unknown_message_id_ends_in_the_status_dlq_with_the_reason(stack: Stack, tracking: TrackingWorld) -> None:
    body = receipt({"MessageId": "TMID-NOBODY", "Status": "Delivered"})
    enqueue(tracking, body)
    track(tracking, max_seconds=30)
    dead = tracking.status_dlq_messages()
    assert len(dead) == 1
    assert dead[0]["body"] == body
    assert dead[0]["attributes"]["Reason"] == "UNKNOWN_MESSAGE_ID"
    assert dead[0]["attributes"]["ReceiveCount"] == "3"


def test_inbound_message_becomes_an_event_not_a_row(stack: Stack, tracking: TrackingWorld) -> None:
    inbound = {
        "Message_ID": "TMID-IN",
        "Owner": "+18018018011",
        "To": "+18018018011",
        "From": "+18015737111",
        "Message_Body": "STOP",
        "Segment": "1",
    }
    enqueue(tracking, receipt(inbound))
    track(tracking)
    events = tracking.captured_events(wait_seconds=5)
    assert [e["detail-type"] for e in events] == ["telegent.sms.inbound"]
    assert events[0]["source"] == "telegent-sms"
    assert events[0]["detail"]["From"] == "+18015737111"
    assert events[0]["detail"]["Body"] == "STOP"
    assert stack.rows() == {}


def test_unrecognised_payload_is_kept_in_the_status_dlq(stack: Stack, tracking: TrackingWorld) -> None:
    enqueue(tracking, receipt({"Hello": "world"}))
    track(tracking)
    dead = tracking.status_dlq_messages()
    assert [d["attributes"]["Reason"] for d in dead] == ["UNRECOGNISED_PAYLOAD"]


def function_url_event(body: str, authorization: str | None, content_type: str = "application/json") -> dict[str, Any]:
    headers = {"content-type": content_type}
    if authorization:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": body,
        "isBase64Encoded": False,
    }


def basic_auth(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_webhook_to_queue_to_tracker_to_delivered(stack: Stack, tracking: TrackingWorld) -> None:
    from infra.local.lambda_context import FakeLambdaContext as FakeContext

    put_sent_row(stack, "r1", "TMID-W")
    body = json.dumps({"MessageId": "TMID-W", "Status": "Delivered"})
    refused = webhook_handler.handler(function_url_event(body, basic_auth("telegent", "nope")), FakeContext())
    assert refused["statusCode"] == 401
    missing = webhook_handler.handler(function_url_event(body, None), FakeContext())
    assert missing["statusCode"] == 401
    depth = tracking.world.queue_depth(tracking.status_queue_url)
    assert sum(depth.values()) == 0  # nothing queued by refused calls

    accepted = webhook_handler.handler(
        function_url_event(body, basic_auth("telegent", "callback-password")), FakeContext()
    )
    assert accepted["statusCode"] == 200
    track(tracking)
    assert row(stack, "r1")["Status"] == "DELIVERED"


def stream_record(sequence: int, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    image: dict[str, Any] = {"Keys": {"RequestId": {"S": (new or old or {})["RequestId"]}}}
    if old is not None:
        image["OldImage"] = {k: serializer.serialize(v) for k, v in old.items()}
    if new is not None:
        image["NewImage"] = {k: serializer.serialize(v) for k, v in new.items()}
    image.update(SequenceNumber=str(sequence), StreamViewType="NEW_AND_OLD_IMAGES", SizeBytes=100)
    return {
        "eventID": str(sequence),
        "eventName": "MODIFY" if old and new else ("INSERT" if new else "REMOVE"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": image,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/messages/stream/2025-01-01T00:00:00.000",
    }


def test_stream_records_become_status_events(stack: Stack, tracking: TrackingWorld) -> None:
    from decimal import Decimal

    from infra.local.lambda_context import FakeLambdaContext
    from status_events import handler as events_handler

    events_handler.reset_publisher()
    sent = {
        "RequestId": "r0",
        "Status": "SENT",
        "MessageId": "TMID-0",
        "To": "+18015737111",
        "From": "+18018018011",
        "Cost": Decimal("0.0045"),
        "Segments": Decimal(1),
    }
    records = [stream_record(1, None, sent)]  # the send: SENT from nothing
    for n in range(2, 13):  # eleven deliveries: two PutEvents calls
        old = {**sent, "RequestId": f"r{n}", "MessageId": f"TMID-{n}"}
        records.append(stream_record(n, old, {**old, "Status": "DELIVERED", "VendorStatus": "Delivered"}))
    records.append(stream_record(13, sent, {**sent, "VendorStatus": "Sent"}))  # no status change: no event
    response = events_handler.handler({"Records": records}, FakeLambdaContext("status-events"))
    assert response == {"batchItemFailures": []}
    events = []
    for _ in range(20):
        events += tracking.captured_events(wait_seconds=1)
        if len(events) >= 12:
            break
    assert len(events) == 12
    assert {e["detail-type"] for e in events} == {"telegent.sms.status"}
    assert {e["source"] for e in events} == {"telegent-sms"}
    by_request = {e["detail"]["RequestId"]: e["detail"] for e in events}
    assert by_request["r0"]["PreviousStatus"] is None
    assert by_request["r5"]["Status"] == "DELIVERED"
    assert by_request["r5"]["PreviousStatus"] == "SENT"
    assert by_request["r5"]["Cost"] == 0.0045
    assert "+1801" not in json.dumps(events)
    events_handler.reset_publisher()
