"""Deployment settings read from CDK context into one typed, validated object.

Every key has a default, so `cdk synth` works with an empty context. Values come either from
cdk.json / cdk.context.json (typed JSON) or from `cdk synth -c key=value` (always strings), so
every reader below accepts both forms.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Any

from constructs import Node

from messaging import names as constants

# Lambda's own limits: one function may run at most 15 minutes; SQS keeps messages 14 days at most.
_MAX_FUNCTION_TIMEOUT_SECONDS = 900
_MAX_BATCHING_WINDOW_SECONDS = 300
_SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# The only retention periods CloudWatch Logs accepts.
# fmt: off
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
# fmt: on


class ConfigError(ValueError):
    """A context value is missing its shape; synth stops before anything is built."""


class Target(Enum):
    """Where the stack is deployed: real AWS, or the Docker-free local emulator (ministack)."""

    AWS = "aws"
    EMULATOR = "emulator"


class CpuArchitecture(Enum):
    ARM_64 = "arm64"
    X86_64 = "x86_64"

    @classmethod
    def of_this_machine(cls) -> CpuArchitecture:
        machine = platform.machine().lower()
        return cls.ARM_64 if machine in {"aarch64", "arm64"} else cls.X86_64


@dataclass(frozen=True)
class ScheduleSpec:
    """A recurring send: EventBridge Scheduler puts `payload` on the queue at `expression`."""

    name: str
    expression: str  # "cron(...)" or "rate(...)" as EventBridge Scheduler writes them
    timezone: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Settings:
    target: Target
    ephemeral: bool
    stack_name: str
    service_name: str

    # Sender function
    architecture: CpuArchitecture
    python_version: str  # "3.13": selects the Lambda runtime and the layer wheels
    memory_mb: int
    timeout_seconds: int
    log_level: str
    log_retention_days: int
    metrics_namespace: str
    telegent_base_url: str
    rate_limit_per_minute: int
    rate_limit_burst: int
    media_prefix: str
    powertools_layer_arn: str | None  # None: resolve the public layer from its SSM parameter
    # Ambiguous sends (DESIGN.md 4b): wait before searching, longest wait for an answer, then resend or dlq.
    ambiguous_search_delay_seconds: int
    ambiguous_reconcile_max_minutes: int
    ambiguous_policy: str
    # Send-time options (DESIGN.md 9): the stack-wide validity of a normal-lane request without one (None:
    # none), the longest Body in segments, smart encoding, and the longest SendAt wait served by a delayed
    # requeue instead of an EventBridge Scheduler schedule (900 s, SQS's maximum; the demo lowers it).
    default_validity_seconds: int | None
    max_segments: int
    smart_encoding: bool
    sendat_delay_max_seconds: int

    # Event source mapping and queues
    batch_size: int
    max_batching_window_seconds: int
    max_concurrency: int
    max_receive_count: int
    queue_sender_principals: tuple[str, ...]

    # Storage and credentials
    media_expiry_days: int
    media_versioning: bool
    access_log_expiry_days: int
    secret_name: str | None  # None: create a placeholder secret

    # Ingress besides direct SendMessage
    schedules: tuple[ScheduleSpec, ...]
    event_bus_name: str | None  # None: the account's default bus
    event_detail_type: str

    # Monitoring
    alarm_email: str | None
    oldest_message_alarm_seconds: int
    transient_failures_alarm_threshold: int
    rejected_alarm_threshold: int

    # Delivery status tracking (DESIGN.md section 8)
    callback_secret_name: str | None  # None: create the webhook credential with a generated password
    webhook_reserved_concurrency: int
    status_max_receive_count: int
    status_timeout_hours: int
    status_poll_after_minutes: int
    status_poll_max_share: float
    delivery_rate_alarm_threshold: float  # alarm when Delivered / all final outcomes falls below

    # Priority lane (DESIGN.md section 11): its own queue, DLQ and event source mapping.
    priority_reserve: float  # share of the vendor budget the normal lane leaves to the priority lane
    priority_max_concurrency: int  # MaximumConcurrency of the priority queue's mapping
    priority_batch_size: int
    priority_oldest_message_alarm_seconds: int

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        # AWS guidance for SQS event sources: at least six times the function timeout plus the
        # batching window, so a batch retried by Lambda is not redelivered while still in flight.
        return 6 * self.timeout_seconds + self.max_batching_window_seconds

    @property
    def is_emulator(self) -> bool:
        return self.target is Target.EMULATOR

    @classmethod
    def from_context(cls, node: Node) -> Settings:
        ctx = _ContextReader(node)
        target = Target(ctx.choice("target", [t.value for t in Target], Target.AWS.value))
        emulator = target is Target.EMULATOR
        # The emulator runs the function as a local process (ministack: with its own venv's Python,
        # built from this machine's), so the runtime and the layer's wheels must match this machine
        # rather than Lambda's arm64 fleet.
        default_arch = CpuArchitecture.of_this_machine() if emulator else CpuArchitecture.ARM_64
        default_python = f"{sys.version_info.major}.{sys.version_info.minor}" if emulator else "3.13"

        settings = cls(
            target=target,
            ephemeral=ctx.boolean("ephemeral", default=False),
            stack_name=ctx.string("stack_name", "TelegentSms"),
            service_name=ctx.string("service_name", "telegent-sms"),
            architecture=CpuArchitecture(
                ctx.choice("architecture", [a.value for a in CpuArchitecture], default_arch.value)
            ),
            python_version=ctx.string("python_version", default_python),
            memory_mb=ctx.integer("memory_mb", 256, minimum=128, maximum=10240),
            timeout_seconds=ctx.integer("timeout_seconds", 60, minimum=1, maximum=_MAX_FUNCTION_TIMEOUT_SECONDS),
            log_level=ctx.choice("log_level", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO"),
            log_retention_days=ctx.integer("log_retention_days", 30, minimum=1),
            metrics_namespace=ctx.string("metrics_namespace", "TelegentSms"),
            telegent_base_url=ctx.string("telegent_base_url", constants.DEFAULT_TELEGENT_BASE_URL),
            rate_limit_per_minute=ctx.integer(
                "rate_limit_per_minute", constants.DEFAULT_RATE_LIMIT_PER_MINUTE, minimum=1
            ),
            rate_limit_burst=ctx.integer("rate_limit_burst", 1, minimum=1),
            media_prefix=ctx.string("media_prefix", "mms/"),
            powertools_layer_arn=ctx.optional_string("powertools_layer_arn"),
            ambiguous_search_delay_seconds=ctx.integer(
                "ambiguous_search_delay_seconds", constants.DEFAULT_AMBIGUOUS_SEARCH_DELAY_SECONDS, minimum=0
            ),
            ambiguous_reconcile_max_minutes=ctx.integer(
                "ambiguous_reconcile_max_minutes", constants.DEFAULT_AMBIGUOUS_RECONCILE_MAX_MINUTES, minimum=1
            ),
            ambiguous_policy=ctx.choice("ambiguous_policy", ["resend", "dlq"], constants.DEFAULT_AMBIGUOUS_POLICY),
            default_validity_seconds=ctx.integer("default_validity_seconds", 0, minimum=0, maximum=365 * 86_400)
            or None,
            max_segments=ctx.integer("max_segments", constants.DEFAULT_MAX_SEGMENTS, minimum=1, maximum=255),
            smart_encoding=ctx.boolean("smart_encoding", default=False),
            sendat_delay_max_seconds=ctx.integer(
                "sendat_delay_max_seconds",
                constants.DEFAULT_SENDAT_DELAY_MAX_SECONDS,
                minimum=1,
                maximum=constants.DEFAULT_SENDAT_DELAY_MAX_SECONDS,
            ),
            batch_size=ctx.integer("batch_size", 10, minimum=1, maximum=10000),
            max_batching_window_seconds=ctx.integer(
                "max_batching_window_seconds", 5, minimum=0, maximum=_MAX_BATCHING_WINDOW_SECONDS
            ),
            max_concurrency=ctx.integer("max_concurrency", 2, minimum=2, maximum=1000),
            max_receive_count=ctx.integer("max_receive_count", 5, minimum=1, maximum=1000),
            queue_sender_principals=tuple(ctx.string_list("queue_sender_principals")),
            media_expiry_days=ctx.integer("media_expiry_days", 30, minimum=1),
            media_versioning=ctx.boolean("media_versioning", default=False),
            access_log_expiry_days=ctx.integer("access_log_expiry_days", 90, minimum=1),
            secret_name=ctx.optional_string("secret_name"),
            schedules=tuple(_schedule(item) for item in ctx.json_list("schedules")),
            event_bus_name=ctx.optional_string("event_bus_name"),
            event_detail_type=ctx.string("event_detail_type", "telegent.sms.send"),
            alarm_email=ctx.optional_string("alarm_email"),
            oldest_message_alarm_seconds=ctx.integer("oldest_message_alarm_seconds", 900, minimum=60),
            transient_failures_alarm_threshold=ctx.integer("transient_failures_alarm_threshold", 10, minimum=1),
            rejected_alarm_threshold=ctx.integer("rejected_alarm_threshold", 1, minimum=1),
            callback_secret_name=ctx.optional_string("callback_secret_name"),
            webhook_reserved_concurrency=ctx.integer("webhook_reserved_concurrency", 5, minimum=1, maximum=1000),
            status_max_receive_count=ctx.integer("status_max_receive_count", 5, minimum=1, maximum=1000),
            status_timeout_hours=ctx.integer("status_timeout_hours", constants.DEFAULT_STATUS_TIMEOUT_HOURS, minimum=1),
            status_poll_after_minutes=ctx.integer(
                "status_poll_after_minutes", constants.DEFAULT_STATUS_POLL_AFTER_MINUTES, minimum=1
            ),
            status_poll_max_share=ctx.number(
                "status_poll_max_share", constants.DEFAULT_STATUS_POLL_MAX_SHARE, minimum=0.0, maximum=1.0
            ),
            delivery_rate_alarm_threshold=ctx.number("delivery_rate_alarm_threshold", 0.9, minimum=0.0, maximum=1.0),
            priority_reserve=ctx.number(
                "priority_reserve", constants.DEFAULT_PRIORITY_RESERVE, minimum=0.0, maximum=0.95
            ),
            priority_max_concurrency=ctx.integer("priority_max_concurrency", 2, minimum=2, maximum=1000),
            priority_batch_size=ctx.integer("priority_batch_size", 10, minimum=1, maximum=10),
            priority_oldest_message_alarm_seconds=ctx.integer("priority_oldest_message_alarm_seconds", 60, minimum=60),
        )
        settings._validate()
        return settings

    def _validate(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.python_version):
            raise ConfigError(f"python_version must look like '3.13', got {self.python_version!r}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(f"log_retention_days must be one of {LOG_RETENTION_DAYS}, got {self.log_retention_days}")
        if self.batch_size > 10 and self.max_batching_window_seconds < 1:
            raise ConfigError("batch_size above 10 needs max_batching_window_seconds >= 1 (a Lambda rule)")
        if self.media_prefix.startswith("/") or "*" in self.media_prefix:
            raise ConfigError(f"media_prefix must be a plain key prefix such as 'mms/', got {self.media_prefix!r}")
        if self.rate_limit_burst > self.rate_limit_per_minute:
            raise ConfigError("rate_limit_burst cannot exceed rate_limit_per_minute")
        for principal in self.queue_sender_principals:
            if not (_ACCOUNT_ID.fullmatch(principal) or principal.startswith("arn:")):
                raise ConfigError(f"queue_sender_principals: {principal!r} is neither an account id nor an ARN")
        if self.status_poll_after_minutes >= self.status_timeout_hours * 60:
            raise ConfigError("status_poll_after_minutes must be shorter than status_timeout_hours")
        names = [schedule.name for schedule in self.schedules]
        if len(names) != len(set(names)):
            raise ConfigError(f"schedules: names must be unique, got {names}")


class _ContextReader:
    def __init__(self, node: Node) -> None:
        self._node = node

    def _raw(self, key: str) -> Any:
        return self._node.try_get_context(key)

    def optional_string(self, key: str) -> str | None:
        value = self._raw(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(f"context {key!r} must be a string, got {value!r}")
        return value

    def string(self, key: str, default: str) -> str:
        value = self.optional_string(key)
        return default if value is None else value

    def choice(self, key: str, allowed: list[str], default: str) -> str:
        value = self.string(key, default)
        if value not in allowed:
            raise ConfigError(f"context {key!r} must be one of {allowed}, got {value!r}")
        return value

    def integer(self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self._raw(key)
        if value is None or value == "":
            result = default
        elif isinstance(value, bool):
            raise ConfigError(f"context {key!r} must be an integer, got {value!r}")
        elif isinstance(value, int):
            result = value
        else:
            try:
                result = int(str(value).strip())
            except ValueError as exc:
                raise ConfigError(f"context {key!r} must be an integer, got {value!r}") from exc
        if minimum is not None and result < minimum:
            raise ConfigError(f"context {key!r} must be >= {minimum}, got {result}")
        if maximum is not None and result > maximum:
            raise ConfigError(f"context {key!r} must be <= {maximum}, got {result}")
        return result

    def number(self, key: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self._raw(key)
        if value is None or value == "":
            result = default
        elif isinstance(value, bool):
            raise ConfigError(f"context {key!r} must be a number, got {value!r}")
        elif isinstance(value, int | float):
            result = float(value)
        else:
            try:
                result = float(str(value).strip())
            except ValueError as exc:
                raise ConfigError(f"context {key!r} must be a number, got {value!r}") from exc
        if not minimum <= result <= maximum:
            raise ConfigError(f"context {key!r} must be between {minimum} and {maximum}, got {result}")
        return result

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ConfigError(f"context {key!r} must be true or false, got {value!r}")

    def json_list(self, key: str) -> list[Any]:
        value = self._raw(key)
        if value is None or value == "":
            return []
        if isinstance(value, str):  # `-c key='[...]'` on the command line
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"context {key!r} is not valid JSON: {exc}") from exc
        if not isinstance(value, list):
            raise ConfigError(f"context {key!r} must be a list, got {value!r}")
        return value

    def string_list(self, key: str) -> list[str]:
        value = self._raw(key)
        if isinstance(value, str) and not value.strip().startswith("["):
            # `-c key=a,b` is friendlier than JSON on a command line
            return [item.strip() for item in value.split(",") if item.strip()]
        items = self.json_list(key)
        if not all(isinstance(item, str) for item in items):
            raise ConfigError(f"context {key!r} must be a list of strings, got {items!r}")
        return items


def _schedule(item: Any) -> ScheduleSpec:
    if not isinstance(item, dict):
        raise ConfigError(f"schedules: each entry must be an object, got {item!r}")
    name = item.get("name")
    expression = item.get("expression")
    timezone = item.get("timezone", "UTC")
    payload = item.get("payload")
    if not isinstance(name, str) or not _SCHEDULE_NAME.fullmatch(name):
        raise ConfigError(f"schedules: name must match {_SCHEDULE_NAME.pattern}, got {name!r}")
    if not isinstance(expression, str) or not re.fullmatch(r"(cron|rate)\(.+\)", expression.strip()):
        raise ConfigError(f"schedules[{name}]: expression must be 'cron(...)' or 'rate(...)', got {expression!r}")
    if not isinstance(timezone, str) or not timezone:
        raise ConfigError(f"schedules[{name}]: timezone must be an IANA name such as 'UTC', got {timezone!r}")
    if not isinstance(payload, dict) or not payload:
        raise ConfigError(f"schedules[{name}]: payload must be the send request object, got {payload!r}")
    return ScheduleSpec(name=name, expression=expression.strip(), timezone=timezone, payload=payload)
