"""Wiring: clients and adapters created once per container, on first use, then reused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import boto3
from botocore.config import Config

from aws_adapters.attempts import AttemptAwarePersistenceLayer, DynamoAttemptStore
from aws_adapters.idempotency import PowertoolsOnceGate
from aws_adapters.optouts import DynamoOptOutStore
from aws_adapters.queues import SqsDeadLetterSink, SqsQueueControl
from aws_adapters.rate_limiter import SharedRateLimiter
from aws_adapters.result_rows import DynamoResultStore
from aws_adapters.s3_objects import S3ObjectReader, S3PayloadOffload
from aws_adapters.schedules import SchedulerSendSchedules
from aws_adapters.secrets import SecretCredentials
from lambda_runtime import PerContainer
from messaging.media import MediaFetcher
from messaging.optouts import OptOutCheck
from messaging.ports import RequestBudget, SendSchedules, Unlimited
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


class LazySchedules:
    """The scheduler adapter, with its boto3 client created on the first schedule (most containers never
    schedule anything, and a client costs a cold start tens of milliseconds)."""

    def __init__(self, build: Callable[[], SendSchedules]) -> None:
        self._build = build
        self._schedules: SendSchedules | None = None
        self._lock = threading.Lock()

    def _get(self) -> SendSchedules:
        with self._lock:
            if self._schedules is None:
                self._schedules = self._build()
            return self._schedules

    def schedule(self, name: str, at: datetime, body: str, target_arn: str | None = None) -> bool:
        return self._get().schedule(name, at, body, target_arn)

    def cancel(self, name: str) -> bool:
        return self._get().cancel(name)


def _schedules(settings: Settings, session: boto3.session.Session, config: Config) -> SendSchedules | None:
    """One-time schedules for a later SendAt (DESIGN.md 9), when the stack gave the sender a group, a role
    and the queue to target; None otherwise (such a request is then retried until it is configured)."""
    group, role, queue = settings.schedule_group_name, settings.scheduler_role_arn, settings.queue_arn
    if not (group and role and queue):
        return None
    return LazySchedules(lambda: SchedulerSendSchedules(session.client("scheduler", config=config), group, role, queue))


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
        schedules=_schedules(settings, session, config),
    )


_container: PerContainer[SenderDeps] = PerContainer(lambda: build_dependencies(Settings.from_env()))
# The container's dependencies, built on the first invocation (so cold imports stay cheap).
get_dependencies = _container.get
# Forget them (tests that change the environment between invocations: a new container).
reset_dependencies = _container.reset
