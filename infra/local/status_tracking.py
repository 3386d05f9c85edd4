"""Delivery status tracking resources of the local world (DESIGN.md section 8), added to a World.

The messages table gains the sparse PollIndex, plus the status queue with its DLQ, the event bus
with a rule that copies every event into a capture queue (so tests and the demo can read what
was published), and the webhook's callback secret.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from infra.local.world import World
from messaging import names as constants

DEFAULT_CALLBACK_SECRET = {"Username": "telegent", "Password": "callback-password"}


@dataclass
class TrackingWorld:
    world: World
    status_queue_url: str
    status_queue_arn: str
    status_dlq_url: str
    event_bus_name: str
    event_capture_url: str
    callback_secret_name: str

    def env(self, **extra: str) -> dict[str, str]:
        """The tracking functions' extra environment (on top of World.lambda_env)."""
        return {
            constants.ENV_STATUS_QUEUE_URL: self.status_queue_url,
            constants.ENV_STATUS_DLQ_URL: self.status_dlq_url,
            constants.ENV_EVENT_BUS_NAME: self.event_bus_name,
            constants.ENV_CALLBACK_SECRET_ID: self.callback_secret_name,
            **extra,
        }

    def set_callback_secret(self, value: dict[str, str]) -> None:
        self.world.client("secretsmanager").put_secret_value(
            SecretId=self.callback_secret_name, SecretString=json.dumps(value)
        )

    def captured_events(self, wait_seconds: float = 0) -> list[dict[str, Any]]:
        """Every event the bus delivered to the capture queue since the last call (deleted once read)."""
        sqs = self.world.client("sqs")
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_seconds
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.event_capture_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.event_capture_url, ReceiptHandle=message["ReceiptHandle"])
            if not messages and (events or time.monotonic() >= deadline):
                return events
            if not messages:
                time.sleep(0.2)

    def status_dlq_messages(self) -> list[dict[str, Any]]:
        sqs = self.world.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.status_dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return out
            for message in messages:
                attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
                out.append({"body": message["Body"], "attributes": attributes})
                sqs.delete_message(QueueUrl=self.status_dlq_url, ReceiptHandle=message["ReceiptHandle"])


def add_poll_index(world: World) -> None:
    dynamodb = world.client("dynamodb")
    indexes = dynamodb.describe_table(TableName=world.messages_table)["Table"].get("GlobalSecondaryIndexes", [])
    if any(index["IndexName"] == constants.MESSAGES_POLL_INDEX for index in indexes):
        return
    dynamodb.update_table(
        TableName=world.messages_table,
        AttributeDefinitions=[
            {"AttributeName": constants.MESSAGES_POLL_SHARD_ATTRIBUTE, "AttributeType": "S"},
            {"AttributeName": constants.MESSAGES_POLL_AT_ATTRIBUTE, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": constants.MESSAGES_POLL_INDEX,
                    "KeySchema": [
                        {"AttributeName": constants.MESSAGES_POLL_SHARD_ATTRIBUTE, "KeyType": "HASH"},
                        {"AttributeName": constants.MESSAGES_POLL_AT_ATTRIBUTE, "KeyType": "RANGE"},
                    ],
                    "Projection": {
                        "ProjectionType": "INCLUDE",
                        "NonKeyAttributes": list(constants.MESSAGES_POLL_INDEX_PROJECTION),
                    },
                }
            }
        ],
    )


def provision_tracking(world: World, *, max_receive_count: int = 3, visibility_timeout: int = 2) -> TrackingWorld:
    sqs = world.client("sqs")
    base = world.prefix
    add_poll_index(world)

    status_dlq_url = sqs.create_queue(QueueName=f"{base}-status-dlq")["QueueUrl"]
    status_dlq_arn = _queue_arn(sqs, status_dlq_url)
    status_queue_url = sqs.create_queue(
        QueueName=f"{base}-status",
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": status_dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]

    events = world.client("events")
    bus = f"{base}-bus"
    try:
        events.create_event_bus(Name=bus)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    capture_url = sqs.create_queue(QueueName=f"{base}-events")["QueueUrl"]
    rule = f"{base}-all"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [constants.EVENT_SOURCE]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "capture", "Arn": _queue_arn(sqs, capture_url)}])

    secrets = world.client("secretsmanager")
    secret_name = f"{base}/callback"
    try:
        secrets.create_secret(Name=secret_name, SecretString=json.dumps(DEFAULT_CALLBACK_SECRET))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
    return TrackingWorld(
        world=world,
        status_queue_url=status_queue_url,
        status_queue_arn=_queue_arn(sqs, status_queue_url),
        status_dlq_url=status_dlq_url,
        event_bus_name=bus,
        event_capture_url=capture_url,
        callback_secret_name=secret_name,
    )


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
