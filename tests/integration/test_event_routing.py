"""The stack's two send-request rules, as EventBridge evaluates them (moto server): a `Priority: "high"`
request goes to the priority queue, every other request to the request queue, none to both."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from infra.constructs.priority_lane import NORMAL_DETAIL, PRIORITY_DETAIL
from tests.integration.helpers import Stack

pytestmark = pytest.mark.integration

DETAIL_TYPE = "telegent.sms.send"


def arrived(sqs: Any, queue_url: str, expected: int) -> list[str]:
    """The IdempotencyKeys of the events that reached the queue (waits for `expected`, then a moment more)."""
    keys: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            keys.append(json.loads(message["Body"])["detail"]["IdempotencyKey"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and len(keys) >= expected:
            break
        time.sleep(0.1)
    return sorted(keys)


def test_every_request_reaches_exactly_one_lane(stack: Stack) -> None:
    world = stack.world
    sqs, events = world.client("sqs"), world.client("events")
    bus = f"{world.prefix}-ingress"
    events.create_event_bus(Name=bus)
    queues = {}
    for lane, detail in (("normal", NORMAL_DETAIL), ("priority", PRIORITY_DETAIL)):
        url = sqs.create_queue(QueueName=f"{world.prefix}-route-{lane}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"detail-type": [DETAIL_TYPE], "detail": detail}
        events.put_rule(Name=f"{world.prefix}-{lane}", EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"{world.prefix}-{lane}", EventBusName=bus, Targets=[{"Id": lane, "Arn": arn}])
        queues[lane] = url

    requests = {
        "high": {"Priority": "high"},
        "normal": {"Priority": "normal"},
        "absent": {},
        "upper": {"Priority": "HIGH"},  # not the documented value: sent normally, never lost
    }
    entries = [
        {
            "Source": "auth.service",
            "DetailType": DETAIL_TYPE,
            "EventBusName": bus,
            "Detail": json.dumps({"IdempotencyKey": key, "To": [{"Number": "+18015737111"}], "Body": "x", **extra}),
        }
        for key, extra in requests.items()
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    assert arrived(sqs, queues["priority"], 1) == ["high"]
    assert arrived(sqs, queues["normal"], 3) == ["absent", "normal", "upper"]
