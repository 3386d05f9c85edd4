from __future__ import annotations

from decimal import Decimal

from messaging.status_events import status_event_detail

SENT = {
    "RequestId": "r1",
    "Status": "SENT",
    "MessageId": "TMID-1",
    "To": "+18015737111",
    "From": "+18018018011",
    "Body": "secret text",
    "Cost": Decimal("0.0045"),
    "Segments": Decimal(1),
    "CampaignId": "JCID-1",
    "VendorStatus": "Queued",
}


def test_status_change_detail_has_no_body_and_no_numbers() -> None:
    delivered = {**SENT, "Status": "DELIVERED", "VendorStatus": "Delivered", "StatusAt": "2025-01-01T00:00:00.000Z"}
    detail = status_event_detail(SENT, delivered)
    assert detail == {
        "RequestId": "r1",
        "MessageId": "TMID-1",
        "Status": "DELIVERED",
        "PreviousStatus": "SENT",
        "VendorStatus": "Delivered",
        "ErrorCode": None,
        "CampaignId": "JCID-1",
        "StatusAt": "2025-01-01T00:00:00.000Z",
        "Segments": 1,
        "Cost": 0.0045,
    }
    text = repr(detail)
    assert "+1801" not in text
    assert "secret text" not in text


def test_new_row_is_a_change_from_nothing() -> None:
    detail = status_event_detail(None, SENT)
    assert detail is not None
    assert detail["PreviousStatus"] is None


def test_no_event_without_a_status_change() -> None:
    assert status_event_detail(SENT, {**SENT, "VendorStatus": "Sent"}) is None
    assert status_event_detail(SENT, None) is None  # removed row (TTL)
