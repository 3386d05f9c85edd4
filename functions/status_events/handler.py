"""DynamoDB stream of the messages table -> telegent.sms.status events, ten per PutEvents call.

Partial batch failures: a record whose event was not published is reported (by its sequence
number) and Lambda retries the stream from the earliest of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from aws_adapters.events import EventBridgePublisher
from messaging import names
from messaging.status_events import status_event_detail
from observability import logger, metrics

_deserializer = TypeDeserializer()
_lock = threading.Lock()
_publisher: EventBridgePublisher | None = None


def _get_publisher() -> EventBridgePublisher:
    global _publisher  # noqa: PLW0603 - per-container cache, by design
    if _publisher is None:
        with _lock:
            if _publisher is None:
                config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
                client = boto3.session.Session().client("events", config=config)
                _publisher = EventBridgePublisher(os.environ[names.ENV_EVENT_BUS_NAME], client)
    return _publisher


def reset_publisher() -> None:
    global _publisher  # noqa: PLW0603
    with _lock:
        _publisher = None


def _image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    image = (record.get("dynamodb") or {}).get(name)
    if not image:
        return None
    return {key: _deserializer.deserialize(value) for key, value in image.items()}


def events_of(records: list[Mapping[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(record index, detail) for every record that changed a row's Status."""
    events = []
    for index, record in enumerate(records):
        detail = status_event_detail(_image(record, "OldImage"), _image(record, "NewImage"))
        if detail is not None:
            events.append((index, detail))
    return events


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    records: list[Mapping[str, Any]] = event.get("Records") or []
    changes = events_of(records)
    if not changes:
        return {"batchItemFailures": []}
    failed = _get_publisher().publish([(names.EVENT_DETAIL_TYPE_STATUS, detail) for _, detail in changes])
    failed_records = sorted({changes[i][0] for i in failed})
    if failed_records:
        logger.warning("status events not published; the stream will retry", extra={"failed": len(failed_records)})
    logger.info("status events published", extra={"events": len(changes) - len(failed)})
    return {
        "batchItemFailures": [
            {"itemIdentifier": (records[i].get("dynamodb") or {}).get("SequenceNumber")} for i in failed_records
        ]
    }
