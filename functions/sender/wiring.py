"""Wiring: clients and adapters created once per container, on first use, then reused."""

from __future__ import annotations

import boto3
from botocore.config import Config

from aws_adapters.attempts import AttemptAwarePersistenceLayer, DynamoAttemptStore
from aws_adapters.idempotency import PowertoolsOnceGate
from aws_adapters.optouts import DynamoOptOutStore
from aws_adapters.queues import SqsDeadLetterSink, SqsQueueControl
from aws_adapters.rate_limiter import SharedRateLimiter
from aws_adapters.result_rows import DynamoResultStore
from aws_adapters.s3_objects import S3ObjectReader, S3PayloadOffload
from aws_adapters.secrets import SecretCredentials
from lambda_runtime import PerContainer
from messaging.media import MediaFetcher
from messaging.optouts import OptOutCheck
from messaging.ports import RequestBudget, Unlimited
from messaging.rows import now_utc
from messaging.settings import Settings
from observability import Telemetry
from sender.pipeline import SenderDeps
from telegent.client import TelegentClient
from telegent.http import new_pool_manager
from telegent.tokens import TokenCache


def _aws_config(settings: Settings) -> Config:
    # Standard retry mode with a small budget: the SQS redelivery is the long-term retry.
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=max(10, settings.send_concurrency * 2),
    )


def build_dependencies(settings: Settings, session: boto3.session.Session | None = None) -> SenderDeps:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    session = session or boto3.session.Session()
    config = _aws_config(settings)
    dynamodb = session.client("dynamodb", config=config)
    sqs = session.client("sqs", config=config)
    s3 = session.client("s3", config=config)
    secrets = SecretsProvider(boto3_client=session.client("secretsmanager", config=config))
    telemetry = Telemetry()
    limiter: RequestBudget = (
        SharedRateLimiter(
            settings.rate_limit_table,
            dynamodb,
            settings.rate_limit_per_minute,
            settings.rate_limit_burst,
            reserve=settings.priority_reserve,  # both lanes share one budget (DESIGN.md 11)
        )
        if settings.rate_limit_table
        else Unlimited()
    )
    results = DynamoResultStore(settings.messages_table, dynamodb, settings.result_ttl_days)

    vendor = TelegentClient(
        settings.base_url,
        SecretCredentials(settings.secret_id, secrets, settings.secret_max_age),
        new_pool_manager(settings.connect_timeout, settings.read_timeout, settings.send_concurrency),
        TokenCache(),
        expiry_margin=settings.token_expiry_margin,
        telemetry=telemetry,
        budget=limiter,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    # Releases the send lock after a failure and tells a send when an earlier one may have gone out (4b).
    persistence = AttemptAwarePersistenceLayer(settings.idempotency_table, dynamodb, results)
    return SenderDeps(
        settings=settings,
        vendor=vendor,
        media=MediaFetcher(S3ObjectReader(s3), settings.limits),
        results=results,
        # A DLQ copy too large for SQS has its body offloaded to the media bucket (DESIGN.md section 4).
        dlq=SqsDeadLetterSink(
            settings.dlq_url,
            sqs,
            offload=S3PayloadOffload(s3, settings.limits.media_bucket) if settings.limits.media_bucket else None,
        ),
        queues=SqsQueueControl(sqs),
        once=PowertoolsOnceGate(persistence),
        telemetry=telemetry,
        clock=now_utc,
        limiter=limiter,
        attempts=DynamoAttemptStore(settings.idempotency_table, dynamodb, persistence, settings.messages_table),
        # Opted-out recipients are skipped; one read per invocation (DESIGN.md 10). No table: no check.
        optouts=OptOutCheck(DynamoOptOutStore(settings.optout_table, dynamodb) if settings.optout_table else None),
    )


_container: PerContainer[SenderDeps] = PerContainer(lambda: build_dependencies(Settings.from_env()))
# The container's dependencies, built on the first invocation (so cold imports stay cheap).
get_dependencies = _container.get
# Forget them (tests that change the environment between invocations: a new container).
reset_dependencies = _container.reset
