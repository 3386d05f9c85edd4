"""Context -> Settings: defaults, command-line strings, and refusal of bad values before synth."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App

from infra.config import ConfigError, CpuArchitecture, Settings, Target

pytestmark = pytest.mark.infra


def settings(**context: Any) -> Settings:
    return Settings.from_context(App(context=context).node)


def test_defaults() -> None:
    defaults = settings()
    assert defaults.target is Target.AWS
    assert defaults.architecture is CpuArchitecture.ARM_64
    assert defaults.python_version == "3.13"
    assert defaults.ephemeral is False
    assert (defaults.batch_size, defaults.max_batching_window_seconds, defaults.max_concurrency) == (10, 5, 2)
    assert defaults.max_receive_count == 5
    assert (defaults.rate_limit_per_minute, defaults.rate_limit_burst) == (50, 1)
    assert defaults.media_prefix == "mms/"
    assert defaults.queue_visibility_timeout_seconds == 6 * defaults.timeout_seconds + 5
    assert defaults.schedules == ()
    assert defaults.secret_name is None
    assert defaults.event_bus_name is None
    assert defaults.callback_secret_name is None
    assert (defaults.webhook_reserved_concurrency, defaults.status_max_receive_count) == (5, 5)
    assert (defaults.status_timeout_hours, defaults.status_poll_after_minutes) == (72, 15)
    assert defaults.status_poll_max_share == 0.2
    assert defaults.delivery_rate_alarm_threshold == 0.9


def test_command_line_strings() -> None:
    parsed = settings(
        ephemeral="true",
        memory_mb="512",
        queue_sender_principals="111122223333,arn:aws:iam::444455556666:root",
        schedules='[{"name": "n1", "expression": "rate(1 day)", "payload": {"Body": "x"}}]',
    )
    assert parsed.ephemeral is True
    assert parsed.memory_mb == 512
    assert settings(status_poll_max_share="0.05").status_poll_max_share == 0.05
    assert settings(status_poll_max_share=0).status_poll_max_share == 0.0
    assert parsed.queue_sender_principals == ("111122223333", "arn:aws:iam::444455556666:root")
    (schedule,) = parsed.schedules
    assert (schedule.name, schedule.expression, schedule.timezone) == ("n1", "rate(1 day)", "UTC")


def test_emulator_follows_the_host() -> None:
    emulator = settings(target="emulator")
    assert emulator.architecture is CpuArchitecture.of_this_machine()
    assert emulator.python_version != ""


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"target": "azure"}, "target"),
        ({"timeout_seconds": "901"}, "timeout_seconds"),
        ({"max_concurrency": 1}, "max_concurrency"),
        ({"log_retention_days": 31}, "log_retention_days"),
        ({"batch_size": 100, "max_batching_window_seconds": 0}, "batching_window"),
        ({"rate_limit_burst": 60}, "rate_limit_burst"),
        ({"media_prefix": "mms/*"}, "media_prefix"),
        ({"ephemeral": "maybe"}, "ephemeral"),
        ({"queue_sender_principals": ["12345"]}, "queue_sender_principals"),
        ({"schedules": [{"name": "bad name", "expression": "rate(1 day)", "payload": {"a": 1}}]}, "name"),
        ({"schedules": [{"name": "n", "expression": "every day", "payload": {"a": 1}}]}, "expression"),
        ({"schedules": [{"name": "n", "expression": "rate(1 day)"}]}, "payload"),
        ({"schedules": "[not json"}, "JSON"),
        ({"status_poll_max_share": "1.5"}, "status_poll_max_share"),
        ({"status_poll_max_share": "nan"}, "status_poll_max_share"),
        ({"status_poll_max_share": "a fifth"}, "status_poll_max_share"),
        ({"status_poll_max_share": True}, "status_poll_max_share"),
        ({"delivery_rate_alarm_threshold": -0.1}, "delivery_rate_alarm_threshold"),
        ({"webhook_reserved_concurrency": 0}, "webhook_reserved_concurrency"),
        ({"status_max_receive_count": "0"}, "status_max_receive_count"),
        ({"status_timeout_hours": 1, "status_poll_after_minutes": 60}, "status_poll_after_minutes"),
    ],
)
def test_bad_values_are_refused(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(**context)


def test_ambiguous_send_options() -> None:
    defaults = settings()
    assert (defaults.ambiguous_search_delay_seconds, defaults.ambiguous_reconcile_max_minutes) == (20, 30)
    assert defaults.ambiguous_policy == "resend"
    chosen = settings(ambiguous_search_delay_seconds="45", ambiguous_reconcile_max_minutes="60", ambiguous_policy="dlq")
    assert (chosen.ambiguous_search_delay_seconds, chosen.ambiguous_reconcile_max_minutes) == (45, 60)
    assert chosen.ambiguous_policy == "dlq"
    with pytest.raises(ConfigError, match="ambiguous_policy"):
        settings(ambiguous_policy="maybe")
