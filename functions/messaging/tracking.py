"""Status tracking settings and the poll schedule (DESIGN.md section 8). Pure: standard library only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from messaging import names as c
from messaging.settings import ConfigurationError

# After the first lookup (STATUS_POLL_AFTER_MINUTES after the send), the next ones wait this long.
POLL_BACKOFF = (timedelta(hours=1), timedelta(hours=6), timedelta(hours=24))


@dataclass(frozen=True)
class TrackingSettings:
    timeout_hours: float = c.DEFAULT_STATUS_TIMEOUT_HOURS
    poll_after_minutes: float = c.DEFAULT_STATUS_POLL_AFTER_MINUTES
    poll_max_share: float = c.DEFAULT_STATUS_POLL_MAX_SHARE

    @property
    def timeout(self) -> timedelta:
        return timedelta(hours=self.timeout_hours)

    @property
    def poll_after(self) -> timedelta:
        return timedelta(minutes=self.poll_after_minutes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TrackingSettings:
        env = os.environ if env is None else env

        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            try:
                value = float(raw) if raw else default
            except ValueError as exc:
                raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
            if value < 0:
                raise ConfigurationError(f"{name} must not be negative, got {raw!r}")
            return value

        share = number(c.ENV_STATUS_POLL_MAX_SHARE, cls.poll_max_share)
        if share > 1:
            raise ConfigurationError(f"{c.ENV_STATUS_POLL_MAX_SHARE} must be between 0 and 1, got {share}")
        return cls(
            timeout_hours=number(c.ENV_STATUS_TIMEOUT_HOURS, cls.timeout_hours),
            poll_after_minutes=number(c.ENV_STATUS_POLL_AFTER_MINUTES, cls.poll_after_minutes),
            poll_max_share=share,
        )


def first_poll_at(sent_at: datetime, settings: TrackingSettings) -> datetime:
    return sent_at + settings.poll_after


def next_poll_at(sent_at: datetime, polls_done: int, now: datetime, settings: TrackingSettings) -> datetime:
    """When to look again after `polls_done` lookups found no final status: 1 h, 6 h, then every 24 h,
    never later than the end of the tracking window (where the sweep takes over)."""
    step = POLL_BACKOFF[min(max(polls_done, 1), len(POLL_BACKOFF)) - 1]
    return min(now + step, sent_at + settings.timeout)


def timed_out(sent_at: datetime, now: datetime, settings: TrackingSettings) -> bool:
    return now - sent_at >= settings.timeout


def polls_per_run(per_minute: int, settings: TrackingSettings) -> int:
    """The most vendor requests (token requests included) one poller run may make."""
    return int(per_minute * settings.poll_max_share)
