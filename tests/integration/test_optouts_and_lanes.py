"""Opt-outs and the priority lane over real HTTP (DESIGN.md sections 10 and 11): moto server, the Telegent
sandbox, the real sender, webhook and tracker handlers.

A handset's STOP goes the vendor's way: the sandbox calls the route's MessageUrl, which is the real webhook
behind a local Function URL; the webhook queues it, the real tracker records the opt-out; the real sender
then skips the number, until its START is recorded the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from infra.local.esm_runner import EventSourceRunner
from infra.local.function_url import FunctionUrlServer
from infra.local.lanes import LanesWorld, provision_lanes
from infra.local.status_tracking import DEFAULT_CALLBACK_SECRET, TrackingWorld, provision_tracking
from sender import handler as sender_handler
from tests.integration.helpers import Stack, sms
from tracker import handler as tracker_handler
from tracker.wiring import reset_dependencies as reset_tracker
from webhook import handler as webhook_handler
from webhook.wiring import reset_dependencies as reset_webhook

pytestmark = pytest.mark.integration

HANDSET = "+18015550142"
OUR_NUMBER = "+18018018011"  # the From of tests.integration.helpers.SMS


@pytest.fixture
def lanes(stack: Stack) -> LanesWorld:
    lanes = provision_lanes(stack.world)
    stack.configure(**lanes.env())  # the sender's OPTOUT_TABLE and PRIORITY_QUEUE_ARN
    return lanes


@pytest.fixture
def tracking(stack: Stack, lanes: LanesWorld) -> Iterator[TrackingWorld]:
    world = provision_tracking(stack.world, max_receive_count=3, visibility_timeout=1)
    for name, value in {**world.env(), **lanes.env()}.items():
        stack.monkeypatch.setenv(name, value)
    reset_tracker()
    reset_webhook()
    yield world
    reset_tracker()
    reset_webhook()


@pytest.fixture
def webhook(stack: Stack, tracking: TrackingWorld) -> Iterator[FunctionUrlServer]:
    with FunctionUrlServer(webhook_handler.handler, function_name="telegent-sms-webhook") as server:
        stack.sandbox.set_route(
            RouteName="telegent-sms",
            MessageUrl=server.url,
            MessageUrlMethod="POST",
            MessageAuthenticationType="Basic",
            MessageUsername=DEFAULT_CALLBACK_SECRET["Username"],
            MessagePasswordToken=DEFAULT_CALLBACK_SECRET["Password"],
        )
        yield server


def text_from_handset(stack: Stack, tracking: TrackingWorld, body: str) -> None:
    """The handset texts us; the tracker handles what the webhook queued."""
    answer = stack.sandbox.receive_inbound(sender=HANDSET, to=OUR_NUMBER, body=body)
    assert answer["delivered"], answer
    runner = EventSourceRunner(
        tracking.world.client("sqs"), tracking.status_queue_url, tracker_handler.handler, wait_time_seconds=0
    )
    summary = runner.run_until_drained(max_seconds=30)
    assert summary.drained, summary
    assert summary.failures == 0, summary


class BatchGetCounter:
    """Counts the BatchGetItem calls of every botocore session created while installed (the sender's)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[dict[str, Any]] = []
        original = botocore.session.Session.__init__
        counter = self

        def init(session: Any, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            session.register("before-parameter-build.dynamodb.BatchGetItem", counter.on_call)

        monkeypatch.setattr(botocore.session.Session, "__init__", init)

    def on_call(self, params: Any = None, **kwargs: Any) -> None:
        self.calls.append(params)


def test_a_number_that_texts_stop_gets_nothing_afterwards_and_start_restores_it(
    stack: Stack, lanes: LanesWorld, tracking: TrackingWorld, webhook: FunctionUrlServer
) -> None:
    text_from_handset(stack, tracking, "  Stop ")
    entry = lanes.opt_outs()[HANDSET]
    assert (entry["Source"], entry["Keyword"]) == ("keyword", "STOP")
    assert entry["OptedOutAt"].endswith("Z")

    stack.send(sms("after-stop", To=[{"Number": HANDSET}]))
    stack.drain()
    row = stack.rows()["after-stop"]
    assert (row["Status"], row["ErrorCode"], row["To"]) == ("REJECTED", "OPTED_OUT", HANDSET)
    assert stack.outbound() == []
    assert stack.dlq() == []

    text_from_handset(stack, tracking, "stop please")  # not a keyword: changes nothing
    assert HANDSET in lanes.opt_outs()
    text_from_handset(stack, tracking, "START")
    assert lanes.opt_outs() == {}

    stack.send(sms("after-start", To=[{"Number": HANDSET}]))
    stack.drain()
    assert stack.rows()["after-start"]["Status"] == "SENT"
    assert [m["request"]["To"] for m in stack.outbound()] == [[{"Number": HANDSET}]]
    inbound = [e for e in tracking.captured_events(wait_seconds=2) if e["detail-type"] == "telegent.sms.inbound"]
    assert sorted(e["detail"]["Body"] for e in inbound) == ["START", "Stop", "stop please"]


def test_a_batch_of_ten_with_three_opted_out_makes_seven_vendor_requests_and_one_opt_out_read(
    stack: Stack, lanes: LanesWorld
) -> None:
    numbers = [f"+1801555{i:04d}" for i in range(10)]
    opted_out = {numbers[1], numbers[4], numbers[9]}
    for number in opted_out:
        lanes.opt_out(number)
    stack.send(*[sms(f"batch-{i}", To=[{"Number": n}], Body=f"batch #{i}") for i, n in enumerate(numbers)])
    counter = BatchGetCounter(stack.monkeypatch)
    stack.configure()  # a new container: its clients are built under the counter

    result = stack.runner(batch_size=10, maximum_batching_window_seconds=2).run_once()
    assert len(result.received_ids) == 10, result
    assert not result.failed_ids, result

    assert len(counter.calls) == 1
    [request] = counter.calls[0]["RequestItems"].values()
    assert sorted(key["Number"]["S"] for key in request["Keys"]) == sorted(numbers)
    sent = [m["request"]["To"][0]["Number"] for m in stack.outbound()]
    assert len(sent) == 7
    assert not (set(sent) & opted_out)
    rows = stack.rows()
    assert {rows[f"batch-{i}"]["Status"] for i, n in enumerate(numbers) if n not in opted_out} == {"SENT"}
    for i, number in enumerate(numbers):
        if number in opted_out:
            assert (rows[f"batch-{i}"]["Status"], rows[f"batch-{i}"]["ErrorCode"]) == ("REJECTED", "OPTED_OUT")
    assert stack.dlq() == []


def test_priority_queue_records_are_served_as_the_priority_lane(stack: Stack, lanes: LanesWorld) -> None:
    limiter = stack.world.client("dynamodb")

    def limiter_item() -> dict[str, Any]:
        item = limiter.get_item(
            TableName=stack.world.rate_limit_table, Key={"pk": {"S": "telegent-account"}}, ConsistentRead=True
        )
        return dict(item.get("Item") or {})

    lanes.send_priority([sms("otp-1", Body="Your code is 123456")])
    summary = lanes.runner(sender_handler.handler, wait_time_seconds=0).run_until_drained(max_seconds=30)
    assert summary.drained, summary
    assert summary.records == 1, summary
    assert stack.rows()["otp-1"]["Status"] == "SENT"
    assert len(stack.outbound()) == 1
    # The priority lane reserved on the account budget alone; the normal lane's pace is untouched.
    item = limiter_item()
    assert "next_slot" in item
    assert "normal_next" not in item

    stack.send(sms("campaign-1"))
    stack.drain()
    assert stack.rows()["campaign-1"]["Status"] == "SENT"
    assert "normal_next" in limiter_item()  # the normal queue's records pace as the normal lane
