from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from messaging.settings import ConfigurationError
from messaging.tracking import TrackingSettings, first_poll_at, next_poll_at, polls_per_run, timed_out

SENT = datetime(2025, 1, 1, tzinfo=UTC)
DEFAULTS = TrackingSettings()


def test_defaults_and_env() -> None:
    assert TrackingSettings.from_env({}) == TrackingSettings(72, 15, 0.2)
    env = {"STATUS_TIMEOUT_HOURS": "1", "STATUS_POLL_AFTER_MINUTES": "2", "STATUS_POLL_MAX_SHARE": "0.5"}
    assert TrackingSettings.from_env(env) == TrackingSettings(1, 2, 0.5)
    for bad in ({"STATUS_POLL_MAX_SHARE": "2"}, {"STATUS_TIMEOUT_HOURS": "x"}, {"STATUS_POLL_AFTER_MINUTES": "-1"}):
        with pytest.raises(ConfigurationError):
            TrackingSettings.from_env(bad)


def test_backoff_schedule() -> None:
    first = first_poll_at(SENT, DEFAULTS)
    assert first == SENT + timedelta(minutes=15)
    second = next_poll_at(SENT, 1, first, DEFAULTS)
    third = next_poll_at(SENT, 2, second, DEFAULTS)
    fourth = next_poll_at(SENT, 3, third, DEFAULTS)
    fifth = next_poll_at(SENT, 4, fourth, DEFAULTS)
    assert [second - first, third - second, fourth - third, fifth - fourth] == [
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(hours=24),
        timedelta(hours=24),
    ]
    # Capped at the end of the window, where the sweep takes over.
    sixth = next_poll_at(SENT, 5, fifth, DEFAULTS)
    assert sixth == SENT + timedelta(hours=72)
    assert not timed_out(SENT, sixth - timedelta(seconds=1), DEFAULTS)
    assert timed_out(SENT, sixth, DEFAULTS)


def test_polls_per_run_is_the_share_of_the_minute_budget() -> None:
    assert polls_per_run(50, DEFAULTS) == 10
    assert polls_per_run(4, DEFAULTS) == 0
    assert polls_per_run(6000, TrackingSettings(poll_max_share=0.05)) == 300
