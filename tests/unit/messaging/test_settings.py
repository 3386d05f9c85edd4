import pytest
import urllib3

from messaging.ports import Credentials
from messaging.settings import ConfigurationError, Settings
from telegent.client import TelegentClient

REQUIRED = {
    "TELEGENT_SECRET_ID": "telegent/creds",
    "MESSAGES_TABLE": "messages",
    "IDEMPOTENCY_TABLE": "idem",
    "DLQ_URL": "https://sqs/dlq",
}


def test_defaults() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.base_url == "https://api.telegent.com/v1.0"
    # The outbound URL is the vendor client's, derived from the configured base.
    client = TelegentClient(settings.base_url, lambda force: Credentials("k", "s"), urllib3.PoolManager())
    assert client.outbound_url == "https://api.telegent.com/v1.0/message/outbound"
    assert settings.rate_limit_per_minute == 50
    assert settings.limits.body_max_chars == 1600
    assert settings.limits.max_media_bytes == 5 * 1024 * 1024
    assert settings.limits.media_bucket is None
    assert settings.deadline_guard_ms == int((3.05 + 8.0) * 1000) + 1000


def test_overrides_and_trailing_slash() -> None:
    settings = Settings.from_env(
        {**REQUIRED, "TELEGENT_BASE_URL": "http://127.0.0.1:9/v1.0/", "BODY_MAX_CHARS": "160", "MEDIA_BUCKET": "b"}
    )
    assert settings.base_url == "http://127.0.0.1:9/v1.0"
    assert settings.limits.body_max_chars == 160
    assert settings.limits.media_bucket == "b"


def test_missing_required_names_every_variable() -> None:
    with pytest.raises(ConfigurationError, match="MESSAGES_TABLE, IDEMPOTENCY_TABLE"):
        Settings.from_env({"TELEGENT_SECRET_ID": "x", "DLQ_URL": "y"})


def test_bad_number_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="BODY_MAX_CHARS must be an integer"):
        Settings.from_env({**REQUIRED, "BODY_MAX_CHARS": "lots"})
