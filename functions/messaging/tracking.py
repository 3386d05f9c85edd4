"""Status tracking settings and the poll schedule (DESIGN.md section 8). Pure: standard library only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from messaging import names as c
from messaging.lifecycle import Status
from messaging.rows import parse_iso
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


# ---------------------------------------------------------------- values crossing the status store


@dataclass(frozen=True)
class StatusUpdate:
    """A new Status for a row (from a receipt, a details lookup or the sweep)."""

    status: Status
    source: str  # StatusSource: callback, poll, sweep
    status_at: datetime  # the vendor's time when known, else when we learnt it
    written_at: datetime  # UpdatedAt
    vendor_status: str | None = None
    error_code: str | None = None

    @property
    def delivered_at(self) -> datetime | None:
        return self.status_at if self.status == Status.DELIVERED else None


@dataclass(frozen=True)
class StatusChange:
    """What an applied update replaced."""

    request_id: str
    previous: Status | None
    sent_at: datetime | None  # when the vendor accepted the message (the SENT row's UpdatedAt)


@dataclass(frozen=True)
class PollCandidate:
    """A row of the poll index."""

    request_id: str
    message_id: str | None
    status: Status | None
    sent_at: datetime | None
    poll_at: datetime | None
    poll_count: int


def sent_at_of(row: Mapping[str, Any]) -> datetime | None:
    """When a row's message was sent: the SENT row's UpdatedAt (CreatedAt for other states)."""
    text = row.get("UpdatedAt") if row.get("Status") == Status.SENT.value else row.get("CreatedAt")
    try:
        return parse_iso(text) if isinstance(text, str) else None
    except ValueError:
        return None
