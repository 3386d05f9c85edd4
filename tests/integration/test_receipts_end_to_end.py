"""Receipts end to end, every hop real: the sender sends through the Telegent sandbox, the sandbox
calls the route's CallbackMessageUrl, which is the real webhook handler behind a local Function URL
(infra.local.function_url), the webhook queues the receipt on the status queue (moto), and the real
tracker (via the event-source runner) writes the row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.esm_runner import DrainSummary, EventSourceRunner
from infra.local.function_url import FunctionUrlServer
from infra.local.sandbox_routes import MAGIC_FAILED, MAGIC_NO_RECEIPT, MAGIC_UNDELIVERED
from infra.local.status_tracking import DEFAULT_CALLBACK_SECRET, TrackingWorld, provision_tracking
from tests.integration.helpers import Stack, sms
from tracker import handler as tracker_handler
from tracker.wiring import reset_dependencies as reset_tracker
from webhook import handler as webhook_handler
from webhook.wiring import reset_dependencies as reset_webhook

pytestmark = pytest.mark.integration


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


@pytest.fixture
def webhook(tracking: TrackingWorld) -> Iterator[FunctionUrlServer]:
    with FunctionUrlServer(webhook_handler.handler, function_name="telegent-sms-webhook") as server:
        yield server


def route_to(stack: Stack, webhook: FunctionUrlServer, **overrides: Any) -> dict[str, Any]:
    """The Telegent route as an operator registers it: our webhook URL and the callback secret's credential."""
    stack.sandbox.configure_receipts(delay=0.1, retry_seconds=0.1)
    fields = {
        "RouteName": "telegent-sms",
        "MessageUrl": webhook.url,
        "MessageUrlMethod": "POST",
        "MessageAuthenticationType": "Basic",
        "MessageUsername": DEFAULT_CALLBACK_SECRET["Username"],
        "MessagePasswordToken": DEFAULT_CALLBACK_SECRET["Password"],
        "CallbackMessageUrl": webhook.url,
        "CallbackMessageUrlMethod": "POST",
        "CallbackMessageAuthenticationType": "Basic",
        "CallbackMessageUsername": DEFAULT_CALLBACK_SECRET["Username"],
        "CallbackMessagePasswordToken": DEFAULT_CALLBACK_SECRET["Password"],
    }
    return stack.sandbox.set_route(**{**fields, **overrides})


def receipts_answered(stack: Stack, count: int) -> list[dict[str, Any]]:
    """Wait until the sandbox has `count` receipt calls answered (any status) or decided against."""
    done = ("delivered", "refused", "given_up", "skipped")
    entries = stack.sandbox.wait_for_callbacks(lambda found: len([e for e in found if e["outcome"] in done]) >= count)
    return [e for e in entries if e["outcome"] in done]


def track(tracking: TrackingWorld, max_seconds: float = 30) -> DrainSummary:
    runner = EventSourceRunner(
        tracking.world.client("sqs"), tracking.status_queue_url, tracker_handler.handler, wait_time_seconds=0
    )
    summary = runner.run_until_drained(max_seconds=max_seconds)
    assert summary.drained, summary
    return summary


def send_and_settle(stack: Stack, key: str, to: str = "+18015737111") -> dict[str, Any]:
    stack.send(sms(key, To=[{"Number": to}]))
    stack.drain()
    row = stack.rows()[key]
    assert (row["Status"], row["StatusSource"]) == ("SENT", "sender")
    return row


def test_sandbox_receipt_through_the_real_webhook_makes_the_row_delivered(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    route_to(stack, webhook)
    sent = send_and_settle(stack, "e2e-delivered")
    [call] = receipts_answered(stack, 1)
    assert (call["outcome"], call["http_status"], call["message_id"]) == ("delivered", 200, sent["MessageId"])
    assert tracking.world.queue_depth(tracking.status_queue_url)["visible"] == 1

    summary = track(tracking)
    assert summary.failures == 0
    row = stack.rows()["e2e-delivered"]
    assert (row["Status"], row["VendorStatus"], row["StatusSource"]) == ("DELIVERED", "Delivered", "callback")
    assert row["DeliveredAt"] == row["StatusAt"]
    assert "PollAt" not in row  # the poller has nothing left to ask
    assert tracking.status_dlq_messages() == []


@pytest.mark.parametrize(
    ("number", "status", "vendor_status"),
    [(MAGIC_FAILED, "FAILED", "Failed"), (MAGIC_UNDELIVERED, "UNDELIVERABLE", "Undelivered")],
)
def test_magic_numbers_end_as_failed_rows(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer, number: str, status: str, vendor_status: str
) -> None:
    route_to(stack, webhook)
    send_and_settle(stack, "e2e-failed", to=number)
    receipts_answered(stack, 1)
    track(tracking)
    row = stack.rows()["e2e-failed"]
    assert (row["Status"], row["VendorStatus"], row["StatusSource"]) == (status, vendor_status, "callback")
    assert "DeliveredAt" not in row


def test_no_receipt_leaves_the_row_sent_for_the_poller(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    route_to(stack, webhook)
    send_and_settle(stack, "e2e-lost", to=MAGIC_NO_RECEIPT)
    [entry] = receipts_answered(stack, 1)
    assert entry["outcome"] == "skipped"
    assert sum(tracking.world.queue_depth(tracking.status_queue_url).values()) == 0
    row = stack.rows()["e2e-lost"]
    assert (row["Status"], row["PollShard"]) == ("SENT", "poll")


def test_duplicated_and_reordered_receipts_change_nothing(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    route_to(stack, webhook)
    stack.sandbox.configure_receipts(delay=0.2, duplicates=2, reorder=True)
    send_and_settle(stack, "e2e-dup")
    calls = receipts_answered(stack, 4)
    assert [c["status"] for c in calls] == ["Delivered", "Delivered", "Delivered", "Sent"]
    assert {c["http_status"] for c in calls} == {200}
    final_at = json.loads(calls[0]["body"])["Timestamp"]
    stale_at = json.loads(calls[3]["body"])["Timestamp"]
    assert stale_at[:23] < final_at[:23]

    summary = track(tracking)
    assert (summary.failures, summary.invocations >= 1) == (0, True)
    row = stack.rows()["e2e-dup"]
    assert (row["Status"], row["VendorStatus"], row["StatusSource"]) == ("DELIVERED", "Delivered", "callback")
    assert row["StatusAt"][:23] == final_at[:23]  # the stale Sent (an earlier time) did not move it
    assert tracking.status_dlq_messages() == []


@pytest.mark.parametrize("shape", ["snake_json", "form", "query", "wrapped_json", "json_list"])
def test_every_receipt_shape_reaches_the_row(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer, shape: str
) -> None:
    route_to(stack, webhook)
    stack.sandbox.configure_receipts(shape=shape)
    send_and_settle(stack, f"e2e-{shape}")
    [call] = receipts_answered(stack, 1)
    assert call["http_status"] == 200
    track(tracking)
    assert stack.rows()[f"e2e-{shape}"]["Status"] == "DELIVERED"


def test_unrecognised_receipt_lands_in_the_status_dlq(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    route_to(stack, webhook)
    stack.sandbox.configure_receipts(shape="unrecognised")
    send_and_settle(stack, "e2e-opaque")
    receipts_answered(stack, 1)
    track(tracking)
    assert [d["attributes"]["Reason"] for d in tracking.status_dlq_messages()] == ["UNRECOGNISED_PAYLOAD"]
    assert stack.rows()["e2e-opaque"]["Status"] == "SENT"


def test_bearer_credential_from_the_secret(stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer) -> None:
    tracking.set_callback_secret({"Token": "route-bearer-token"})
    reset_webhook()
    route_to(
        stack,
        webhook,
        CallbackMessageAuthenticationType="Bearer",
        CallbackMessageUsername=None,
        CallbackMessagePasswordToken="route-bearer-token",
    )
    send_and_settle(stack, "e2e-bearer")
    [call] = receipts_answered(stack, 1)
    assert (call["auth_scheme"], call["http_status"]) == ("Bearer", 200)
    track(tracking)
    assert stack.rows()["e2e-bearer"]["Status"] == "DELIVERED"


def test_a_route_with_the_wrong_credential_is_refused_and_nothing_is_queued(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    route_to(stack, webhook, CallbackMessagePasswordToken="stale-password")
    send_and_settle(stack, "e2e-refused")
    [call] = receipts_answered(stack, 1)
    assert (call["outcome"], call["http_status"], call["attempt"]) == ("refused", 401, 1)  # a 401 is not retried
    assert sum(tracking.world.queue_depth(tracking.status_queue_url).values()) == 0
    assert stack.rows()["e2e-refused"]["Status"] == "SENT"


def test_inbound_message_through_the_webhook_becomes_an_event(
    stack: Stack, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    route_to(stack, webhook)
    result = stack.sandbox.receive_inbound("+18015737111", "+18018018011", "STOP")
    assert result["delivered"] is True
    track(tracking)
    events = tracking.captured_events(wait_seconds=5)
    assert [e["detail-type"] for e in events] == ["telegent.sms.inbound"]
    detail = events[0]["detail"]
    assert (detail["MessageId"], detail["From"], detail["Body"]) == (result["Message_ID"], "+18015737111", "STOP")
    assert stack.rows() == {}
