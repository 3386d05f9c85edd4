"""Runtime settings, read from the environment once per container (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from messaging import names as c
from messaging.ambiguity import Policy, ReconcileRules
from messaging.lanes import Lane, LaneBudget, default_validity_seconds

T = TypeVar("T")

MIB = 1024 * 1024
# Extended-client payloads: never more than this, and never more than a share of the function's memory
# (the bytes, their JSON and the request built from them are all held at once).
PAYLOAD_BYTES_CEILING = 64 * MIB
PAYLOAD_MEMORY_SHARE = 8  # at most 1/8 of AWS_LAMBDA_FUNCTION_MEMORY_SIZE


class ConfigurationError(RuntimeError):
    """The function is deployed without a setting it needs; every record is retried until fixed."""


@dataclass(frozen=True)
class Limits:
    """What a request may contain. The vendor documents no limits, so these are ours."""

    body_max_chars: int = 1600
    max_recipients: int = 1
    max_media_items: int = 10
    max_media_bytes: int = 5 * 1024 * 1024
    media_bucket: str | None = None
    media_prefix: str = ""
    # Where extended-client payload pointers may point in the media bucket; None: media_prefix.
    # "" (set explicitly) is the bucket root, where the stock SQS Extended Client writes.
    payload_prefix: str | None = None
    max_payload_bytes: int = PAYLOAD_BYTES_CEILING
    # Send-time options (DESIGN.md section 9): the longest Body in segments (of the Body as it would be
    # sent), and whether typographic characters are replaced when the whole Body then fits GSM-7.
    max_segments: int = c.DEFAULT_MAX_SEGMENTS
    smart_encoding: bool = False

    @property
    def payload_location(self) -> str:
        return self.media_prefix if self.payload_prefix is None else self.payload_prefix


@dataclass(frozen=True)
class Settings:
    base_url: str
    secret_id: str
    messages_table: str
    idempotency_table: str
    dlq_url: str
    limits: Limits
    rate_limit_table: str | None = None
    rate_limit_per_minute: int = c.DEFAULT_RATE_LIMIT_PER_MINUTE
    rate_limit_burst: int = 1
    connect_timeout: float = 3.05
    read_timeout: float = 8.0
    token_expiry_margin: float = 60.0
    secret_max_age: int = 300
    result_ttl_days: int = 90
    send_concurrency: int = 10  # a whole default batch at once: the limiter, not the pool, paces it
    timeout_guard_ms: int = 0
    max_message_age_hours: float = c.DEFAULT_MAX_MESSAGE_AGE_HOURS
    status_poll_after_minutes: float = c.DEFAULT_STATUS_POLL_AFTER_MINUTES  # first details lookup of a SENT row
    # Reconciling ambiguous sends (DESIGN.md section 4b).
    ambiguous_search_delay_seconds: float = c.DEFAULT_AMBIGUOUS_SEARCH_DELAY_SECONDS
    ambiguous_reconcile_max_minutes: float = c.DEFAULT_AMBIGUOUS_RECONCILE_MAX_MINUTES
    ambiguous_policy: Policy = Policy.RESEND
    # Opt-outs (DESIGN.md section 10): None, no check.
    optout_table: str | None = None
    # Priority lane (DESIGN.md section 11).
    priority_queue_arn: str | None = None
    priority_reserve: float = c.DEFAULT_PRIORITY_RESERVE
    priority_validity_seconds: int = c.DEFAULT_PRIORITY_VALIDITY_SECONDS
    # Send-time options (DESIGN.md section 9): one-time schedules for a later SendAt (all three needed to
    # schedule), the stack-wide validity of a normal-lane request without one (None: none), and the longest
    # SendAt wait served by a delayed requeue instead of a schedule.
    schedule_group_name: str | None = None
    scheduler_role_arn: str | None = None
    queue_arn: str | None = None
    validity_seconds_default: int | None = None
    sendat_delay_max_seconds: int = c.DEFAULT_SENDAT_DELAY_MAX_SECONDS

    @property
    def lane_budget(self) -> LaneBudget:
        """The vendor budget shared by both lanes (the normal lane at most 1 - PRIORITY_RESERVE of it)."""
        return LaneBudget(self.rate_limit_per_minute, self.rate_limit_burst, self.priority_reserve)

    def default_validity_seconds(self, lane: Lane) -> int | None:
        """Hook for send-time options (DESIGN.md 9, 11): the ValiditySeconds a request of `lane` gets
        when it names no validity of its own: the priority lane's (600 s), else the stack-wide
        DEFAULT_VALIDITY_SECONDS (None when unset: no validity)."""
        return default_validity_seconds(lane, self.priority_validity_seconds) or self.validity_seconds_default

    @property
    def reconcile_rules(self) -> ReconcileRules:
        return ReconcileRules(
            self.ambiguous_search_delay_seconds, self.ambiguous_reconcile_max_minutes, self.ambiguous_policy
        )

    @property
    def deadline_guard_ms(self) -> int:
        """Time a record needs in the worst case; records are not started with less left than this."""
        if self.timeout_guard_ms > 0:
            return self.timeout_guard_ms
        return int((self.connect_timeout + self.read_timeout) * 1000) + 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [
            name
            for name in (c.ENV_TELEGENT_SECRET_ID, c.ENV_MESSAGES_TABLE, c.ENV_IDEMPOTENCY_TABLE, c.ENV_DLQ_URL)
            if not env.get(name)
        ]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")

        def parsed(name: str, default: T, cast: Callable[[str], T], kind: str) -> T:
            raw = env.get(name, "")
            try:
                return cast(raw) if raw.strip() else default
            except ValueError as exc:
                raise ConfigurationError(f"{name} must be {kind}, got {raw!r}") from exc

        def integer(name: str, default: int) -> int:
            return parsed(name, default, int, "an integer")

        def number(name: str, default: float) -> float:
            return parsed(name, default, float, "a number")

        rate = integer(c.ENV_RATE_LIMIT_PER_MINUTE, c.DEFAULT_RATE_LIMIT_PER_MINUTE)
        memory_mb = integer(c.ENV_LAMBDA_MEMORY_MB, 0)
        payload_default = (
            min(PAYLOAD_BYTES_CEILING, memory_mb * MIB // PAYLOAD_MEMORY_SHARE)
            if memory_mb > 0
            else PAYLOAD_BYTES_CEILING
        )
        limits = Limits(
            body_max_chars=integer(c.ENV_BODY_MAX_CHARS, Limits.body_max_chars),
            max_recipients=integer(c.ENV_MAX_RECIPIENTS, Limits.max_recipients),
            max_media_items=integer(c.ENV_MAX_MEDIA_ITEMS, Limits.max_media_items),
            max_media_bytes=integer(c.ENV_MAX_MEDIA_BYTES, Limits.max_media_bytes),
            media_bucket=env.get(c.ENV_MEDIA_BUCKET) or None,
            media_prefix=env.get(c.ENV_MEDIA_PREFIX, ""),
            payload_prefix=env.get(c.ENV_PAYLOAD_PREFIX),
            max_payload_bytes=max(1, integer(c.ENV_MAX_PAYLOAD_BYTES, payload_default)),
            max_segments=max(1, integer(c.ENV_MAX_SEGMENTS, c.DEFAULT_MAX_SEGMENTS)),
            smart_encoding=parsed(c.ENV_SMART_ENCODING, False, _flag, "true or false"),
        )
        validity_default = integer(c.ENV_DEFAULT_VALIDITY_SECONDS, 0)
        return cls(
            base_url=(env.get(c.ENV_TELEGENT_BASE_URL) or c.DEFAULT_TELEGENT_BASE_URL).rstrip("/"),
            secret_id=env[c.ENV_TELEGENT_SECRET_ID],
            messages_table=env[c.ENV_MESSAGES_TABLE],
            idempotency_table=env[c.ENV_IDEMPOTENCY_TABLE],
            dlq_url=env[c.ENV_DLQ_URL],
            limits=limits,
            rate_limit_table=env.get(c.ENV_RATE_LIMIT_TABLE) or None,
            rate_limit_per_minute=rate,
            rate_limit_burst=integer(c.ENV_RATE_LIMIT_BURST, cls.rate_limit_burst),
            connect_timeout=number(c.ENV_CONNECT_TIMEOUT, cls.connect_timeout),
            read_timeout=number(c.ENV_READ_TIMEOUT, cls.read_timeout),
            token_expiry_margin=number(c.ENV_TOKEN_EXPIRY_MARGIN, cls.token_expiry_margin),
            secret_max_age=integer(c.ENV_SECRET_MAX_AGE, cls.secret_max_age),
            result_ttl_days=integer(c.ENV_RESULT_TTL_DAYS, cls.result_ttl_days),
            send_concurrency=max(1, integer(c.ENV_SEND_CONCURRENCY, cls.send_concurrency)),
            timeout_guard_ms=integer(c.ENV_TIMEOUT_GUARD_MS, cls.timeout_guard_ms),
            max_message_age_hours=number(c.ENV_MAX_MESSAGE_AGE_HOURS, cls.max_message_age_hours),
            status_poll_after_minutes=number(c.ENV_STATUS_POLL_AFTER_MINUTES, cls.status_poll_after_minutes),
            ambiguous_search_delay_seconds=max(
                0.0, number(c.ENV_AMBIGUOUS_SEARCH_DELAY_SECONDS, cls.ambiguous_search_delay_seconds)
            ),
            ambiguous_reconcile_max_minutes=max(
                0.0, number(c.ENV_AMBIGUOUS_RECONCILE_MAX_MINUTES, cls.ambiguous_reconcile_max_minutes)
            ),
            ambiguous_policy=parsed(c.ENV_AMBIGUOUS_POLICY, cls.ambiguous_policy, _policy, "resend or dlq"),
            optout_table=env.get(c.ENV_OPTOUT_TABLE) or None,
            priority_queue_arn=env.get(c.ENV_PRIORITY_QUEUE_ARN) or None,
            priority_reserve=parsed(c.ENV_PRIORITY_RESERVE, cls.priority_reserve, _reserve, "from 0 to below 1"),
            priority_validity_seconds=max(1, integer(c.ENV_PRIORITY_VALIDITY_SECONDS, cls.priority_validity_seconds)),
            schedule_group_name=env.get(c.ENV_SCHEDULE_GROUP_NAME) or None,
            scheduler_role_arn=env.get(c.ENV_SCHEDULER_ROLE_ARN) or None,
            queue_arn=env.get(c.ENV_QUEUE_ARN) or None,
            validity_seconds_default=validity_default if validity_default > 0 else None,
            sendat_delay_max_seconds=min(
                c.DEFAULT_SENDAT_DELAY_MAX_SECONDS,
                max(1, integer(c.ENV_SENDAT_DELAY_MAX_SECONDS, cls.sendat_delay_max_seconds)),
            ),
        )


def _policy(text: str) -> Policy:
    return Policy(text.strip().lower())  # ValueError for anything else


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError(text)


def _reserve(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise ValueError(text)
    return value
