from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from messaging.lifecycle import Status
from messaging.receipts import (
    Inbound,
    Receipt,
    Unrecognised,
    map_vendor_status,
    parse_envelope,
    parse_time,
    receipt_envelope,
)

RECEIVED = datetime(2025, 5, 15, 20, 0, tzinfo=UTC)


def envelope(body: str = "", *, content_type: str = "application/json", method: str = "POST", query: str = "") -> str:
    return receipt_envelope(method, content_type, query, body, RECEIVED, body_base64=False)


def one(text: str) -> Receipt | Inbound | Unrecognised:
    parsed = parse_envelope(text)
    assert len(parsed) == 1
    return parsed[0]


@pytest.mark.parametrize(
    ("vendor", "expected"),
    [
        ("Delivered", Status.DELIVERED),
        ("delivered", Status.DELIVERED),
        (" DELIVERED ", Status.DELIVERED),
        ("Failed", Status.FAILED),
        ("failed", Status.FAILED),
        ("Undelivered", Status.UNDELIVERABLE),
        ("Undeliverable", Status.UNDELIVERABLE),
        ("Rejected", Status.UNDELIVERABLE),
        ("Queued", Status.SENT),
        ("Sent", Status.SENT),
        ("accepted", Status.SENT),
        ("Expired-At-Carrier", None),
        ("Received", None),
        ("", None),
        (None, None),
    ],
)
def test_status_map(vendor: str | None, expected: Status | None) -> None:
    assert map_vendor_status(vendor) == expected


@pytest.mark.parametrize("name", ["MessageId", "MessageID", "Message_ID", "messageId", "message_id", "MESSAGEID"])
def test_every_message_id_spelling(name: str) -> None:
    receipt = one(envelope(json.dumps({name: "TMID-1", "Status": "Delivered"})))
    assert isinstance(receipt, Receipt)
    assert receipt.message_id == "TMID-1"
    assert receipt.status == Status.DELIVERED
    assert receipt.final


@pytest.mark.parametrize("name", ["Status", "DeliveryStatus", "status", "delivery_status"])
def test_every_status_spelling(name: str) -> None:
    receipt = one(envelope(json.dumps({"MessageId": "TMID-1", name: "Failed"})))
    assert isinstance(receipt, Receipt)
    assert receipt.status == Status.FAILED


def test_pascal_case_json_with_time_and_error() -> None:
    body = {"MessageId": "TMID-9", "Status": "Failed", "Timestamp": "2025-05-15T20:15:37.1572345", "ErrorCode": "30003"}
    receipt = one(envelope(json.dumps(body)))
    assert receipt == Receipt(
        message_id="TMID-9",
        vendor_status="Failed",
        status=Status.FAILED,
        occurred_at=datetime(2025, 5, 15, 20, 15, 37, 157234, tzinfo=UTC),
        received_at=RECEIVED,
        error_code="30003",
    )


def test_snake_case_json() -> None:
    receipt = one(envelope(json.dumps({"message_id": "TMID-2", "delivery_status": "delivered"})))
    assert isinstance(receipt, Receipt)
    assert (receipt.message_id, receipt.status) == ("TMID-2", Status.DELIVERED)


def test_form_encoded() -> None:
    text = envelope("Message_ID=TMID-3&Status=Undelivered", content_type="application/x-www-form-urlencoded")
    receipt = one(text)
    assert isinstance(receipt, Receipt)
    assert (receipt.message_id, receipt.status) == ("TMID-3", Status.UNDELIVERABLE)


def test_get_query() -> None:
    receipt = one(envelope(method="GET", content_type="", query="messageId=TMID-4&status=Delivered"))
    assert isinstance(receipt, Receipt)
    assert (receipt.message_id, receipt.status) == ("TMID-4", Status.DELIVERED)


def test_form_body_without_content_type() -> None:
    receipt = one(envelope("MessageId=TMID-5&Status=Sent", content_type=""))
    assert isinstance(receipt, Receipt)
    assert receipt.status == Status.SENT
    assert not receipt.final


def test_base64_body() -> None:
    raw = base64.b64encode(json.dumps({"MessageId": "TMID-6", "Status": "Delivered"}).encode()).decode()
    text = receipt_envelope("POST", "application/json", "", raw, RECEIVED, body_base64=True)
    receipt = one(text)
    assert isinstance(receipt, Receipt)
    assert receipt.message_id == "TMID-6"


def test_wrapped_and_listed_receipts() -> None:
    assert isinstance(one(envelope(json.dumps({"data": {"MessageId": "TMID-7", "Status": "Delivered"}}))), Receipt)
    parsed = parse_envelope(
        envelope(json.dumps([{"MessageId": "TMID-8", "Status": "Delivered"}, {"MessageId": "TMID-9", "Status": "x"}]))
    )
    assert [p.message_id for p in parsed if isinstance(p, Receipt)] == ["TMID-8", "TMID-9"]


def test_unknown_status_is_kept_not_final() -> None:
    receipt = one(envelope(json.dumps({"MessageId": "TMID-1", "Status": "CarrierAck"})))
    assert isinstance(receipt, Receipt)
    assert receipt.status is None
    assert receipt.vendor_status == "CarrierAck"
    assert not receipt.final


def test_receipt_time_defaults_to_the_received_time() -> None:
    receipt = one(envelope(json.dumps({"MessageId": "TMID-1", "Status": "Delivered"})))
    assert isinstance(receipt, Receipt)
    assert receipt.status_at == RECEIVED


def test_inbound_is_not_a_receipt() -> None:
    body = {
        "Message_ID": "TMID-in",
        "Owner": "+18018018011",
        "To": "+18018018011",
        "From": "+18015737111",
        "Message_Body": "STOP",
        "Segment": "1",
    }
    inbound = one(envelope(json.dumps(body)))
    assert isinstance(inbound, Inbound)
    assert (inbound.sender, inbound.body, inbound.segments) == ("+18015737111", "STOP", 1)
    assert inbound.event_detail()["From"] == "+18015737111"
    direction = one(
        envelope(json.dumps({"MessageId": "TMID-x", "Direction": "Inbound", "Body": "hi", "Status": "Received"}))
    )
    assert isinstance(direction, Inbound)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not a webhook envelope"),
        (envelope(""), "empty payload"),
        (envelope(json.dumps({"Status": "Delivered"})), "no message id"),
        (envelope(json.dumps({"MessageId": "TMID-1"})), "no status"),
        (envelope(json.dumps(["x"])), "payload is not an object"),
    ],
)
def test_unrecognised(text: str, problem: str) -> None:
    parsed = one(text)
    assert isinstance(parsed, Unrecognised)
    assert parsed.problem == problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-05-14T22:21:08.2813656+00:00", datetime(2025, 5, 14, 22, 21, 8, 281365, tzinfo=UTC)),
        ("2025-05-14T22:21:08Z", datetime(2025, 5, 14, 22, 21, 8, tzinfo=UTC)),
        (1747261268, datetime(2025, 5, 14, 22, 21, 8, tzinfo=UTC)),
        ("1747261268000", datetime(2025, 5, 14, 22, 21, 8, tzinfo=UTC)),
        ("yesterday", None),
        (True, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected
