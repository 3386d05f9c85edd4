"""Wiring: clients and adapters created once per container, on first use, then reused."""

from __future__ import annotations

import os

import boto3
from botocore.config import Config

from aws_adapters.events import EventBridgePublisher
from aws_adapters.optouts import DynamoOptOutStore
from aws_adapters.queues import SqsDeadLetterSink, SqsQueueControl
from aws_adapters.status_rows import DynamoStatusStore
from lambda_runtime import PerContainer
from messaging import names
from messaging.optouts import KeywordRules
from messaging.rows import now_utc
from messaging.settings import ConfigurationError
from observability import Telemetry
from tracker.pipeline import TrackerDeps

REQUIRED = (names.ENV_MESSAGES_TABLE, names.ENV_EVENT_BUS_NAME, names.ENV_STATUS_DLQ_URL)


def build_dependencies(session: boto3.session.Session | None = None) -> TrackerDeps:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
    session = session or boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
    sqs = session.client("sqs", config=config)
    dynamodb = session.client("dynamodb", config=config)
    # Inbound STOP/START keywords (DESIGN.md 10); without OPTOUT_TABLE they change nothing.
    optout_table = os.environ.get(names.ENV_OPTOUT_TABLE)
    return TrackerDeps(
        store=DynamoStatusStore(os.environ[names.ENV_MESSAGES_TABLE], dynamodb),
        events=EventBridgePublisher(os.environ[names.ENV_EVENT_BUS_NAME], session.client("events", config=config)),
        dlq=SqsDeadLetterSink(os.environ[names.ENV_STATUS_DLQ_URL], sqs),
        queues=SqsQueueControl(sqs),
        telemetry=Telemetry(),
        clock=now_utc,
        optouts=DynamoOptOutStore(optout_table, dynamodb) if optout_table else None,
        keywords=KeywordRules.from_env(),
    )


_container: PerContainer[TrackerDeps] = PerContainer(build_dependencies)
# The container's dependencies, built on the first invocation (so cold imports stay cheap).
get_dependencies = _container.get
# Forget them (tests that change the environment between invocations: a new container).
reset_dependencies = _container.reset
