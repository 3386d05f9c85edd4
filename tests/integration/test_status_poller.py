"""Status poller and sweep against moto server + the Telegent sandbox's GET /message/details."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.lambda_context import FakeLambdaContext
from infra.local.status_tracking import TrackingWorld, provision_tracking
from messaging.rows import iso
from status_poller import handler as poller_handler
from status_poller.wiring import reset_dependencies as reset_poller
from tests.integration.helpers import Stack, sms


@pytest.fixture
def tracking(stack: Stack) -> Iterator[TrackingWorld]:
    world = provision_tracking(stack.world)
    for name, value in world.env().items():
        stack.monkeypatch.setenv(name, value)
    # Rows are due for their first lookup as soon as they are sent.
    stack.configure(STATUS_POLL_AFTER_MINUTES="0")
    reset_poller()
    yield world
    reset_poller()


def poll() -> dict[str, Any]:
    reset_poller()  # settings may have changed: a new container
    result: dict[str, Any] = poller_handler.handler({}, FakeLambdaContext("status-poller", timeout_seconds=60))
    return result


def details_requests(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.sandbox.requests() if "details" in str(r.get("path", "")).lower()]


def sent(stack: Stack, key: str) -> dict[str, Any]:
    stack.send(sms(key))
    stack.drain()
    row = stack.rows()[key]
    assert row["Status"] == "SENT"
    assert row["PollShard"] == "poll"
    return row


def test_poller_finds_a_final_status_through_details(stack: Stack, tracking: TrackingWorld) -> None:
    row = sent(stack, "p1")
    stack.sandbox.set_message_status(row["MessageId"], "Delivered")
    result = poll()
    assert result["foundFinal"] == 1
    current = stack.rows()["p1"]
    assert (current["Status"], current["StatusSource"], current["VendorStatus"]) == ("DELIVERED", "poll", "Delivered")
    assert "PollAt" not in current
    assert "DeliveredAt" in current
    # The token was scoped to the bare details URL.
    scopes = [t.get("body", {}).get("ApiEndpoint") for t in stack.sandbox.token_requests()]
    assert f"{stack.sandbox.base_url}/message/details" in scopes
    # A second run finds nothing due: the row left the poll index.
    assert poll()["polled"] == 0


def test_no_final_status_backs_off(stack: Stack, tracking: TrackingWorld) -> None:
    sent(stack, "p2")
    before = datetime.now(UTC)
    result = poll()
    assert (result["polled"], result["rescheduled"]) == (1, 1)
    row = stack.rows()["p2"]
    assert row["Status"] == "SENT"
    assert int(row["PollCount"]) == 1
    assert row["PollAt"] >= iso(before + timedelta(minutes=59))
    assert poll()["polled"] == 0  # not due again for an hour


def put_due_row(stack: Stack, key: str, message_id: str, sent_at: datetime) -> None:
    stack.world.client("dynamodb").put_item(
        TableName=stack.world.messages_table,
        Item={
            "RequestId": {"S": key},
            "Status": {"S": "SENT"},
            "StatusRank": {"N": "1"},
            "MessageId": {"S": message_id},
            "UpdatedAt": {"S": iso(sent_at)},
            "CreatedAt": {"S": iso(sent_at)},
            "PollShard": {"S": "poll"},
            "PollAt": {"S": iso(sent_at + timedelta(minutes=15))},
        },
    )


def test_sweep_makes_old_sent_rows_unknown(stack: Stack, tracking: TrackingWorld) -> None:
    put_due_row(stack, "old", "TMID-OLD", datetime.now(UTC) - timedelta(hours=73))
    result = poll()
    assert (result["swept"], result["polled"]) == (1, 0)
    row = stack.rows()["old"]
    assert (row["Status"], row["StatusSource"]) == ("UNKNOWN", "sweep")
    assert "PollShard" not in row
    assert details_requests(stack) == []  # the sweep costs no vendor request


def test_poller_stays_within_its_share_of_the_budget(stack: Stack, tracking: TrackingWorld) -> None:
    # 50 per minute x 0.2 = 10 vendor requests per run, the details token included.
    stack.monkeypatch.setenv("TELEGENT_RATE_LIMIT_PER_MINUTE", "50")
    now = datetime.now(UTC)
    for n in range(15):
        put_due_row(stack, f"b{n}", f"TMID-UNKNOWN-{n}", now - timedelta(hours=1))
    before = len(stack.sandbox.requests())
    result = poll()
    vendor_requests = len(stack.sandbox.requests()) - before
    assert vendor_requests == 10
    assert result["polled"] == 9
    assert result["budgetSpent"] is True
    # Unknown to the vendor (404): looked at again later, not lost.
    rescheduled = [r for r in stack.rows().values() if r.get("PollCount") == 1]
    assert len(rescheduled) == 9
