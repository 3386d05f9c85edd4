"""Opt-outs and the priority lane in the local world (DESIGN.md sections 10 and 11), added to a World.

    lanes = provision_lanes(world)
    os.environ.update(lanes.env())              # OPTOUT_TABLE, PRIORITY_QUEUE_ARN for the sender/tracker
    lanes.opt_out("+18015551234")               # as the CLI's `optout add` writes it
    lanes.send_priority([{"To": [...], ...}])   # on the priority queue
    lanes.runner(handler)                       # the priority queue's event source mapping

The priority queue has its own DLQ, like the stack's. The opt-out table's key is `Number` (S).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infra.local.world import DLQ_RETENTION_SECONDS, World, _create_table, _queue_arn, plain
from messaging import names
from messaging.rows import iso, now_utc


@dataclass
class LanesWorld:
    world: World
    optout_table: str
    priority_queue_url: str
    priority_queue_arn: str
    priority_dlq_url: str

    def env(self) -> dict[str, str]:
        """What the sender and the tracker need on top of World.lambda_env."""
        return {names.ENV_OPTOUT_TABLE: self.optout_table, names.ENV_PRIORITY_QUEUE_ARN: self.priority_queue_arn}

    def opt_out(self, number: str, source: str = names.OPTOUT_SOURCE_OPERATOR) -> None:
        self.world.client("dynamodb").put_item(
            TableName=self.optout_table,
            Item={
                names.OPTOUT_PARTITION_KEY: {"S": number},
                names.OPTOUT_ATTR_OPTED_OUT_AT: {"S": iso(now_utc())},
                names.OPTOUT_ATTR_SOURCE: {"S": source},
            },
        )

    def opt_outs(self) -> dict[str, dict[str, Any]]:
        """Every item of the opt-out table, by number."""
        table = self.world.resource("dynamodb").Table(self.optout_table)
        items = table.scan(ConsistentRead=True).get("Items", [])
        return {item[names.OPTOUT_PARTITION_KEY]: plain(item) for item in items}

    def send_priority(
        self, bodies: Sequence[str | dict[str, Any]], message_attributes: dict[str, Any] | None = None
    ) -> list[str]:
        return self.world.send_bodies(bodies, message_attributes, queue_url=self.priority_queue_url)

    def runner(self, handler: Any, **kwargs: Any) -> Any:
        """An EventSourceRunner on the priority queue (its records carry its eventSourceARN)."""
        from infra.local.esm_runner import EventSourceRunner

        return EventSourceRunner(self.world.client("sqs"), self.priority_queue_url, handler, **kwargs)


def provision_lanes(world: World) -> LanesWorld:
    sqs = world.client("sqs")
    base = world.prefix
    dlq_url = sqs.create_queue(
        QueueName=f"{base}-priority-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
    )["QueueUrl"]
    queue_url = sqs.create_queue(
        QueueName=f"{base}-priority",
        Attributes={
            "VisibilityTimeout": str(world.visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(world.max_receive_count)}
            ),
        },
    )["QueueUrl"]
    optout_table = f"{base}-optouts"
    _create_table(
        world.client("dynamodb"),
        TableName=optout_table,
        AttributeDefinitions=[{"AttributeName": names.OPTOUT_PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": names.OPTOUT_PARTITION_KEY, "KeyType": "HASH"}],
    )
    return LanesWorld(
        world=world,
        optout_table=optout_table,
        priority_queue_url=queue_url,
        priority_queue_arn=_queue_arn(sqs, queue_url),
        priority_dlq_url=dlq_url,
    )
