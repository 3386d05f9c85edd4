"""The status poller during a send backlog (issue 9): both take slots from the one shared limiter,
the poller never more than STATUS_POLL_MAX_SHARE of the per-minute budget per run, and every send
of the backlog still goes out. Real handlers: the sender through the event-source runner, the
poller in a thread beside it, moto server + the Telegent sandbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.lambda_context import FakeLambdaContext
from infra.local.status_tracking import TrackingWorld, provision_tracking
from status_poller import handler as poller_handler
from status_poller.wiring import reset_dependencies as reset_poller
from tests.integration.helpers import Stack, sms

pytestmark = pytest.mark.integration

RATE = 120  # per minute, the whole account
SHARE = 0.2
CAP = int(RATE * SHARE)  # 24 vendor requests per poller run, its details token included
DUE = 32  # SENT rows whose receipt never came, more than one run may look up
BACKLOG = 16


@pytest.fixture
def tracking(stack: Stack) -> Iterator[TrackingWorld]:
    world = provision_tracking(stack.world)
    for name, value in world.env().items():
        stack.monkeypatch.setenv(name, value)
    reset_poller()
    yield world
    reset_poller()


def details_share(records: list[dict[str, Any]], details_url: str) -> list[dict[str, Any]]:
    """The poller's vendor requests: details lookups and the tokens scoped to the details URL."""
    out = []
    for record in records:
        body = record.get("body")
        scope = body.get("ApiEndpoint") if isinstance(body, dict) else None
        if record["endpoint"] == "details" or (record["endpoint"] == "tokens" and scope == details_url):
            out.append(record)
    return out


def test_poller_stays_within_its_share_while_a_backlog_drains(stack: Stack, tracking: TrackingWorld) -> None:
    # Messages sent earlier (generous budget), due for their first lookup at once; the vendor has them
    # Delivered but their receipts were lost.
    stack.configure(STATUS_POLL_AFTER_MINUTES="0")
    stack.send(*[sms(f"due{n}") for n in range(DUE)])
    stack.drain()
    due_rows = {key: row for key, row in stack.rows().items() if key.startswith("due")}
    assert len(due_rows) == DUE
    assert all(row["PollShard"] == "poll" for row in due_rows.values())
    for row in due_rows.values():
        stack.sandbox.set_message_status(row["MessageId"], "Delivered")

    # Now a modest shared budget, the whole of it for the normal lane (no priority traffic here).
    stack.configure(
        TELEGENT_RATE_LIMIT_PER_MINUTE=str(RATE),
        TELEGENT_RATE_LIMIT_BURST="1",
        PRIORITY_RESERVE="0",
        STATUS_POLL_MAX_SHARE=str(SHARE),
        STATUS_POLL_AFTER_MINUTES="15",  # the backlog's own rows are not due during this test
    )
    reset_poller()
    stack.send(*[sms(f"backlog{n}", Body=f"backlog #{n}") for n in range(BACKLOG)])
    before = len(stack.sandbox.requests())

    result: dict[str, Any] = {}

    def poll() -> None:
        result.update(poller_handler.handler({}, FakeLambdaContext("status-poller", timeout_seconds=60)))

    poller = threading.Thread(target=poll)
    poller.start()
    summary = stack.drain(max_seconds=60)
    poller.join(timeout=60)
    assert not poller.is_alive()

    records = stack.sandbox.requests()[before:]
    polls = details_share(records, f"{stack.sandbox.base_url}/message/details")
    assert 0 < len(polls) <= CAP
    assert result["budgetSpent"] is True  # more rows were due than its share allows
    assert result["polled"] == result["foundFinal"] == len([r for r in polls if r["endpoint"] == "details"])

    # Every send of the backlog went out, once, and its row says so.
    accepted = [r for r in records if r["endpoint"] == "outbound" and r["status"] == 200]
    assert sorted(r["body"]["Body"] for r in accepted) == sorted(f"backlog #{n}" for n in range(BACKLOG))
    assert summary.failures == 0
    rows = stack.rows()
    assert all(rows[f"backlog{n}"]["Status"] == "SENT" for n in range(BACKLOG))
    assert stack.dlq() == []
    # What the poller found is written like a receipt would be; the rest stay due for the next run.
    delivered = [key for key in due_rows if rows[key]["Status"] == "DELIVERED"]
    assert len(delivered) == result["foundFinal"]
    assert all(rows[key]["StatusSource"] == "poll" for key in delivered)
