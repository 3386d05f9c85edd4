"""Wiring: clients and adapters created once per container, on first use, then reused."""

from __future__ import annotations

import os

import boto3
from botocore.config import Config

from aws_adapters.rate_limiter import SharedRateLimiter
from aws_adapters.secrets import SecretCredentials
from aws_adapters.status_rows import DynamoStatusStore
from lambda_runtime import PerContainer
from messaging import names
from messaging.ports import RequestBudget, Unlimited
from messaging.rows import now_utc
from messaging.settings import ConfigurationError
from messaging.tracking import TrackingSettings, polls_per_run
from observability import Telemetry
from status_poller.pipeline import CappedBudget, PollerDeps
from telegent.client import TelegentClient
from telegent.http import new_pool_manager
from telegent.tokens import TokenCache


def _integer(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def _priority_reserve() -> float:
    """PRIORITY_RESERVE as the sender reads it: polls pace with the normal lane (DESIGN.md 11)."""
    raw = os.environ.get(names.ENV_PRIORITY_RESERVE, "").strip()
    try:
        value = float(raw) if raw else names.DEFAULT_PRIORITY_RESERVE
    except ValueError as exc:
        raise ConfigurationError(f"{names.ENV_PRIORITY_RESERVE} must be a number, got {raw!r}") from exc
    if not 0.0 <= value < 1.0:
        raise ConfigurationError(f"{names.ENV_PRIORITY_RESERVE} must be from 0 to below 1, got {raw!r}")
    return value


def build_dependencies(session: boto3.session.Session | None = None) -> PollerDeps:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    missing = [n for n in (names.ENV_MESSAGES_TABLE, names.ENV_TELEGENT_SECRET_ID) if not os.environ.get(n)]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
    settings = TrackingSettings.from_env()
    per_minute = _integer(names.ENV_RATE_LIMIT_PER_MINUTE, names.DEFAULT_RATE_LIMIT_PER_MINUTE)
    session = session or boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
    dynamodb = session.client("dynamodb", config=config)
    rate_table = os.environ.get(names.ENV_RATE_LIMIT_TABLE)
    shared: RequestBudget = (
        SharedRateLimiter(
            rate_table, dynamodb, per_minute, _integer(names.ENV_RATE_LIMIT_BURST, 1), reserve=_priority_reserve()
        )
        if rate_table
        else Unlimited()
    )
    budget = CappedBudget(shared, polls_per_run(per_minute, settings))
    telemetry = Telemetry()
    secrets = SecretsProvider(boto3_client=session.client("secretsmanager", config=config))
    client = TelegentClient(
        (os.environ.get(names.ENV_TELEGENT_BASE_URL) or names.DEFAULT_TELEGENT_BASE_URL).rstrip("/"),
        SecretCredentials(os.environ[names.ENV_TELEGENT_SECRET_ID], secrets, 300),
        new_pool_manager(3.05, 8.0, 2),
        TokenCache(),
        telemetry=telemetry,
        budget=budget,
    )
    return PollerDeps(
        store=DynamoStatusStore(os.environ[names.ENV_MESSAGES_TABLE], dynamodb),
        lookup=client,
        budget=budget,
        settings=settings,
        telemetry=telemetry,
        clock=now_utc,
    )


_container: PerContainer[PollerDeps] = PerContainer(build_dependencies)
# The container's dependencies, built on the first invocation (so cold imports stay cheap).
get_dependencies = _container.get
# Forget them (tests that change the environment between invocations: a new container).
reset_dependencies = _container.reset
